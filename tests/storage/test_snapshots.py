"""Start-up snapshots on real files: a restart replays only the tail, with identical figures."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import pickle
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from domain.progress import PatientProgress
from realtime.auth import Principal, Role
from realtime.jobs.snapshots import load_builtins
from realtime.metrics import HubMetrics
from realtime.runtime import Runtime
from tests.storage.spoilers import flip_last_byte, from_another_format
from tests.support import SECRET, session_events, settings_for

NOW = datetime(2026, 11, 21, 12, tzinfo=UTC)
SERVICE = Principal(Role.SERVICE, "platform")
PATIENTS = ("p1", "p2", "p3")


def runtime(db: Path) -> Runtime:
    settings = settings_for(db, tick_interval_s=0, snapshot_interval_s=0)
    from storage.store import SqliteStore

    return Runtime(settings, SqliteStore(db), lambda: NOW, HubMetrics())


def day(offset: int) -> str:
    return (NOW - timedelta(days=offset)).date().isoformat()


def batch(start: int, count: int) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for number in range(start, start + count):
        patient = PATIENTS[number % len(PATIENTS)]
        events += session_events(patient, f"s{number}", day(number % 40))
    return events


async def figures(hub: Runtime) -> dict[str, dict[str, Any]]:
    return {p: hub.service.readable_patient(SERVICE, p).snapshot(NOW) for p in PATIENTS}


async def seed(db: Path) -> dict[str, dict[str, Any]]:
    hub = runtime(db)
    await hub.start()
    for patient in PATIENTS:
        await hub.service.register(SERVICE, patient, "t1", "Europe/Berlin")
    await hub.service.publish(SERVICE, batch(0, 60))
    assert await hub.snapshots.take() is not None
    await hub.service.publish(SERVICE, batch(60, 15))  # the tail a restart must replay
    before = await figures(hub)
    hub.snapshots.events_at_last_snapshot = hub.service.events_accepted  # no snapshot at stop
    await hub.stop()
    return before


async def restart(db: Path) -> tuple[Runtime, int]:
    hub = runtime(db)
    await hub.store.open()
    try:
        state = await hub.store.load_state(event_ids=False)
        restored = await hub.snapshots.restore({p.patient_id: p for p in state.patients})
        replayed = await hub.service.load(state, restored)
    except BaseException:
        await hub.store.close()
        raise
    return hub, replayed


async def test_a_restart_replays_only_the_events_after_the_snapshot(tmp_path: Path) -> None:
    before = await seed(tmp_path / "hub.db")
    hub, replayed = await restart(tmp_path / "hub.db")
    try:
        assert replayed == 30  # 15 sessions of two events each
        assert await figures(hub) == before
    finally:
        await hub.store.close()


def flip_a_byte(connection: sqlite3.Connection) -> None:
    (body,) = connection.execute(
        "SELECT body FROM snapshot_parts WHERE patient_id = 'p2'"
    ).fetchone()
    connection.execute(
        "UPDATE snapshot_parts SET body = ? WHERE patient_id = 'p2'", (flip_last_byte(body),)
    )


def unreadable(connection: sqlite3.Connection) -> None:
    connection.execute("UPDATE snapshot_parts SET body = 'not a blob' WHERE patient_id = 'p1'")


@pytest.mark.parametrize("spoil", [flip_a_byte, from_another_format, unreadable])
async def test_an_unusable_snapshot_is_ignored_and_the_log_replayed(
    tmp_path: Path, spoil: Callable[[sqlite3.Connection], None]
) -> None:
    before = await seed(tmp_path / "hub.db")
    with sqlite3.connect(tmp_path / "hub.db") as connection:
        spoil(connection)
    hub, replayed = await restart(tmp_path / "hub.db")
    try:
        assert replayed == 150  # the whole log
        assert await figures(hub) == before
    finally:
        await hub.store.close()


async def test_a_snapshot_taken_during_ingest_loses_nothing(tmp_path: Path) -> None:
    db = tmp_path / "hub.db"
    hub = runtime(db)
    await hub.start()
    for patient in PATIENTS:
        await hub.service.register(SERVICE, patient, "t1", "UTC")

    async def ingest() -> None:
        for start in range(0, 200, 10):
            await hub.service.publish(SERVICE, batch(start, 10))
            await asyncio.sleep(0)

    await asyncio.gather(ingest(), hub.snapshots.take(), ingest())
    before = await figures(hub)
    hub.snapshots.events_at_last_snapshot = hub.service.events_accepted
    await hub.stop()

    again, _ = await restart(db)
    try:
        assert await figures(again) == before
    finally:
        await again.store.close()


@pytest.mark.parametrize("due", [True, False])
async def test_a_graceful_stop_takes_a_snapshot_only_when_something_changed(
    tmp_path: Path, due: bool
) -> None:
    hub = runtime(tmp_path / "hub.db")
    await hub.start()
    await hub.service.register(SERVICE, "p1", "t1", "UTC")
    if due:
        await hub.service.publish(SERVICE, batch(0, 3))
    await hub.stop()
    with sqlite3.connect(tmp_path / "hub.db") as connection:
        count = connection.execute("SELECT count(*) FROM snapshots WHERE complete = 1").fetchone()
    assert count[0] == (1 if due else 0)


class _Boom:
    def __reduce__(self) -> tuple[Any, ...]:
        return (print, ("a snapshot ran code",))


def test_snapshot_parts_are_read_as_builtins_only() -> None:
    state = {"seen": {"e1"}, "keys": [(1.5, "e1")], "low": float("-inf"), "none": None}
    assert load_builtins(pickle.dumps(state, 5)) == state
    for evil in (_Boom(), datetime(2026, 1, 1), PatientProgress):
        with pytest.raises(pickle.UnpicklingError, match="builtins only"):
            load_builtins(pickle.dumps(evil, 5))


async def test_a_signed_part_that_names_a_class_is_refused_and_the_log_replayed(
    tmp_path: Path,
) -> None:
    db = tmp_path / "hub.db"
    before = await seed(db)
    # Signed with the right key, so only the unpickler stands between it and running code.
    key = hashlib.sha256(b"progress-hub snapshot\0" + SECRET.encode()).digest()
    data = pickle.dumps(_Boom(), 5)
    body = hmac.new(key, data, hashlib.sha256).digest() + data
    with sqlite3.connect(db) as connection:
        connection.execute("UPDATE snapshot_parts SET body = ? WHERE patient_id = 'p1'", (body,))
    hub, replayed = await restart(db)
    try:
        assert replayed == 150
        assert await figures(hub) == before
        assert hub.snapshots.skip_reason is not None
        assert "builtins only" in hub.snapshots.skip_reason
    finally:
        await hub.store.close()
