"""Alert rows on a real SQLite file: exactly once per (event, code), migration of old alerts."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from domain.events import parse_event
from domain.patients import Patient
from storage.alerts import Alert, AlertRows, event_alert_id
from storage.batch import Batch
from storage.schema import MIGRATIONS, SCHEMA_VERSION
from storage.store import SqliteStore
from tests.storage.dumps import exported, imported_twice

NOW = datetime(2026, 11, 21, 8, 30, 1, tzinfo=UTC)


def crisis(event_id: str) -> Alert:
    return Alert(
        event_alert_id(event_id, "mood_crisis"),
        "p1",
        "t1",
        "mood_crisis",
        "critical",
        "mood check-in 1 (at or below 2)",
        event_id,
        datetime(2026, 11, 21, 8, 30, tzinfo=UTC),
        NOW,
    )


async def test_an_alert_stored_twice_for_one_event_is_kept_once(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "hub.db")
    await store.open()
    try:
        event = parse_event(
            {"id": "e1", "kind": "mood_checkin", "patient_id": "p1", "at": "2026-11-21T08:30:00Z",
             "score": 1}
        )  # fmt: skip
        await store.append_events(Batch([event], NOW, AlertRows.raise_steps([crisis("e1")])))
        await store.append_events(Batch([event], NOW, AlertRows.raise_steps([crisis("e1")])))
        rows = store.alerts
        assert rows is not None
        (alert,) = await rows.unresolved()
        assert alert == crisis("e1")
        assert alert.to_wire()["event_at"] == "2026-11-21T08:30:00Z"
        assert alert.to_wire()["raised_at"] == "2026-11-21T08:30:01Z"
    finally:
        await store.close()


async def test_alerts_from_before_the_inbox_are_kept_open_with_ids(tmp_path: Path) -> None:
    db = tmp_path / "hub.db"
    with sqlite3.connect(db) as connection:
        for number, migration in enumerate(MIGRATIONS[:5], start=1):
            connection.executescript(f"BEGIN; {migration} PRAGMA user_version = {number}; COMMIT;")
        connection.execute(
            "INSERT INTO alerts (patient_id, therapist_id, code, severity, detail, raised_at) "
            "VALUES ('p1', 't1', 'mood_crisis', 'critical', 'mood 1', ?)",
            (NOW.isoformat(),),
        )
    store = SqliteStore(db)
    await store.open()
    try:
        rows = store.alerts
        assert rows is not None
        (alert,) = await rows.unresolved()
    finally:
        await store.close()
    assert (alert.alert_id, alert.state, alert.event_id) == ("al_1", "open", None)
    with sqlite3.connect(db) as connection:
        assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


async def test_alerts_travel_through_export_and_import_as_they_are(tmp_path: Path) -> None:
    source = SqliteStore(tmp_path / "a.db")
    await source.open()
    event = parse_event(
        {"id": "e1", "kind": "mood_checkin", "patient_id": "p1", "at": "2026-11-21T08:30:00Z",
         "score": 1}
    )  # fmt: skip
    acknowledged = crisis("e1").acknowledged("t1", NOW, "called")
    await source.put_patient(Patient.register("p1", "t1", "UTC", NOW), NOW)
    await source.append_events(Batch([event], NOW, AlertRows.raise_steps([acknowledged])))
    _, lines = await exported(source)
    await source.close()
    async with imported_twice(tmp_path / "b.db", lines) as (target, report, again):
        rows = target.alerts
        assert rows is not None
        copied = await rows.every()
    assert (report.alerts, report.errors, again.alerts) == (1, [], 1)
    assert copied == [acknowledged]
