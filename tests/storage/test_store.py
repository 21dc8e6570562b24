"""The SQLite store on real files: durability, idempotency, locking, schema guard."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from domain.events import parse_event
from domain.patients import Patient
from storage.batch import Batch
from storage.errors import DatabaseInUse, SchemaTooNew, StorageError
from storage.schema import MIGRATIONS, SCHEMA_VERSION
from storage.store import SqliteStore

NOW = datetime(2026, 11, 21, 12, tzinfo=UTC)


def checkin(event_id: str, patient_id: str = "p1", score: int = 5):
    return parse_event(
        {
            "id": event_id,
            "kind": "mood_checkin",
            "patient_id": patient_id,
            "at": "2026-11-20T09:00:00+01:00",
            "score": score,
        }
    )


async def test_events_patients_and_marks_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "hub.db"
    store = SqliteStore(path)
    await store.open()
    patient = Patient.register("p1", "t1", "Europe/Berlin", NOW)
    await store.put_patient(patient, NOW)
    await store.append_events(Batch([checkin("a"), checkin("b")], NOW))
    await store.put_marks("p1", {"celebrated": ["m1"]}, NOW)
    await store.close()

    reopened = SqliteStore(path)
    await reopened.open()
    try:
        state = await reopened.load_state()
        events = [event async for event in reopened.events()]
    finally:
        await reopened.close()
    assert state.patients == [patient]
    assert state.marks == {"p1": {"celebrated": ["m1"]}}
    assert state.event_ids == {"a", "b"}
    assert [event.id for event in events] == ["a", "b"]
    assert events[0] == checkin("a")


async def test_an_event_id_is_stored_once(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "hub.db")
    await store.open()
    await store.append_events(Batch([checkin("a")], NOW))
    await store.append_events(Batch([checkin("a", score=9)], NOW))
    await store.close()
    with sqlite3.connect(tmp_path / "hub.db") as connection:
        rows = connection.execute("SELECT id, body FROM events").fetchall()
    assert len(rows) == 1 and '"score":5' in rows[0][1]


async def test_concurrent_writers_share_commits(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "hub.db")
    await store.open()
    try:
        await asyncio.gather(
            *(store.append_events(Batch([checkin(f"e{n}")], NOW)) for n in range(200))
        )
        writer = store.writer
        assert writer.rows_committed == 200
        # Group commit: far fewer transactions than writers.
        assert writer.batches_committed < 50
    finally:
        await store.close()


async def test_wal_and_full_synchronous_are_in_force(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "hub.db")
    await store.open()
    await store.close()
    with sqlite3.connect(tmp_path / "hub.db") as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


async def test_a_second_hub_on_the_same_file_is_refused(tmp_path: Path) -> None:
    first = SqliteStore(tmp_path / "hub.db")
    await first.open()
    try:
        with pytest.raises(DatabaseInUse, match="in use by another progress-hub"):
            await SqliteStore(tmp_path / "hub.db").open()
    finally:
        await first.close()
    again = SqliteStore(tmp_path / "hub.db")
    await again.open()
    await again.close()


async def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "hub.db"
    with sqlite3.connect(path) as connection:
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(SchemaTooNew, match="newer than this progress-hub"):
        await SqliteStore(path).open()


async def test_a_file_that_is_not_a_database_gets_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "hub.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StorageError, match="cannot use database"):
        await SqliteStore(path).open()


async def test_an_older_file_is_migrated_forward_and_keeps_its_events(tmp_path: Path) -> None:
    path = tmp_path / "hub.db"
    with sqlite3.connect(path) as connection:
        for number, migration in enumerate(MIGRATIONS[:3]):
            connection.executescript(f"{migration} PRAGMA user_version = {number + 1};")
        connection.execute(
            "INSERT INTO events (id, patient_id, kind, at, received_at, body) "
            "VALUES ('old', 'p1', 'mood_checkin', ?, ?, ?)",
            ("2026-11-20T09:00:00+01:00", NOW.isoformat(), checkin("old").model_dump_json()),
        )
    store = SqliteStore(path)
    await store.open()
    try:
        await store.append_events(Batch([checkin("new")], NOW))
        assert [event.id async for event in store.events()] == ["old", "new"]
    finally:
        await store.close()
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        indexes = {row[1] for row in connection.execute("PRAGMA index_list(events)")}
        at = connection.execute("SELECT at FROM events WHERE id = 'new'").fetchone()[0]
    assert "events_by_patient" not in indexes
    assert datetime.fromisoformat(at) == checkin("new").at
