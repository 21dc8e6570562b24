"""The event-log seam on a real SQLite file: append gives a durable position to read from."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from domain.events import Event, parse_event
from realtime.service.eventlog import SqliteEventLog
from storage.batch import Batch
from storage.store import SqliteStore

NOW = datetime(2026, 11, 21, 12, tzinfo=UTC)


def checkin(event_id: str) -> Event:
    return parse_event(
        {
            "id": event_id,
            "kind": "mood_checkin",
            "patient_id": "p1",
            "at": "2026-11-20T09:00:00+01:00",
            "score": 5,
        }
    )


async def ids_after(log: SqliteEventLog, position: int) -> list[str]:
    return [event.id async for event in log.read(position)]


async def test_append_returns_the_position_to_read_on_from(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "hub.db")
    await store.open()
    log = SqliteEventLog(store)
    try:
        first = await log.append(Batch([checkin("a"), checkin("b")], NOW))
        second = await log.append(Batch([checkin("c")], NOW))
        assert 0 < first < second == await log.position()
        assert await ids_after(log, 0) == ["a", "b", "c"]
        assert await ids_after(log, first) == ["c"]
        assert await ids_after(log, second) == []
        assert await log.known_ids(["a", "c", "z"]) == {"a", "c"}
    finally:
        await store.close()


async def test_each_concurrent_append_is_covered_by_its_position(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "hub.db")
    await store.open()
    log = SqliteEventLog(store)
    try:
        positions = await asyncio.gather(
            *(log.append(Batch([checkin(f"e{n}")], NOW)) for n in range(50))
        )
        order = await ids_after(log, 0)
        for n, position in enumerate(positions):
            # Committed in groups: the event lies at or before the position its append got.
            assert order.index(f"e{n}") < position
    finally:
        await store.close()
