"""The store's purge on a real file: only covered, old rows go; their ids stay; counts add up."""

from __future__ import annotations

import io
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from domain.events import parse_event
from domain.patients import Patient
from storage.backup import export_jsonl, import_jsonl
from storage.batch import Batch
from storage.store import SqliteStore

NOW = datetime(2026, 11, 21, 12, tzinfo=UTC)


def checkin(event_id: str, days_ago: float, offset: str = "+01:00") -> dict[str, object]:
    at = (NOW - timedelta(days=days_ago)).astimezone(UTC).replace(tzinfo=None).isoformat()
    return {
        "id": event_id,
        "kind": "mood_checkin",
        "patient_id": "p1",
        # The same instant written with another offset: the purge must compare in UTC.
        "at": _with_offset(at, offset),
        "score": 6,
    }


def _with_offset(naive_utc: str, offset: str) -> str:
    instant = datetime.fromisoformat(naive_utc).replace(tzinfo=UTC)
    sign = 1 if offset[0] == "+" else -1
    hours, minutes = (int(part) for part in offset[1:].split(":"))
    shift = timedelta(hours=hours, minutes=minutes) * sign
    return (instant + shift).replace(tzinfo=None).isoformat() + offset


async def seeded(path: Path) -> SqliteStore:
    store = SqliteStore(path)
    await store.open()
    await store.put_patient(Patient.register("p1", "t1", "Europe/Berlin", NOW), NOW)
    # seq 1-6: ages 40, 35, 31, 29, 5 days, and a late one 50 days old at seq 6.
    ages = [("a", 40.0, "+01:00"), ("b", 35.0, "-05:00"), ("c", 31.0, "+09:30")]
    ages += [("d", 29.0, "+01:00"), ("e", 5.0, "+01:00"), ("late", 50.0, "+01:00")]
    for event_id, days, offset in ages:
        await store.append_events(Batch([parse_event(checkin(event_id, days, offset))], NOW))
    return store


def stored_ids(path: Path) -> list[str]:
    with sqlite3.connect(path) as connection:
        return [row[0] for row in connection.execute("SELECT id FROM events ORDER BY seq")]


async def test_a_chunk_purges_only_covered_events_older_than_the_horizon(tmp_path: Path) -> None:
    path = tmp_path / "hub.db"
    store = await seeded(path)
    try:
        retention = store.retention
        assert retention is not None
        horizon = NOW - timedelta(days=30)
        # Covered through seq 5: the late event (seq 6) is old but not covered yet.
        assert await retention.purge_chunk(0, 2, horizon, NOW) == 2
        assert await retention.purge_chunk(2, 5, horizon, NOW) == 1
        assert stored_ids(path) == ["d", "e", "late"]
        status = await retention.status()
        assert (status.purged_events, status.purged_through_seq) == (3, 5)
        assert status.last_purge_at == NOW
        assert await retention.first_seq() == 4
        # Once a snapshot covers seq 6, the late event goes too.
        assert await retention.purge_chunk(5, 6, horizon, NOW) == 1
        assert stored_ids(path) == ["d", "e"]
        # Nothing old is left: a purge that finds nothing changes no count.
        assert await retention.purge_chunk(0, 6, horizon, NOW) == 0
        assert (await retention.status()).purged_through_seq == 6
        # Every id ever stored is still known, so a republish is a duplicate.
        state = await store.load_state()
        assert state.event_ids == {"a", "b", "c", "d", "e", "late"}
        assert await store.purged_events() == 4
    finally:
        await store.close()


async def test_importing_an_old_backup_after_a_purge_skips_the_purged_ids(
    tmp_path: Path,
) -> None:
    store = await seeded(tmp_path / "hub.db")
    try:
        backup = io.StringIO()
        await export_jsonl(store, backup)
        retention = store.retention
        assert retention is not None
        await retention.purge_chunk(0, 6, NOW - timedelta(days=30), NOW)
        report = await import_jsonl(store, backup.getvalue().splitlines())
        assert (report.events, report.duplicates, report.errors) == (0, 6, [])
        after = io.StringIO()
        await export_jsonl(store, after)
    finally:
        await store.close()
    assert stored_ids(tmp_path / "hub.db") == ["d", "e"]
    # An export after a purge holds the retained events only.
    assert '"id":"a"' not in after.getvalue() and '"id":"e"' in after.getvalue()
