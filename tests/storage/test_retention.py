"""Retention end to end on real files: old events go, figures stay, a partial log is refused."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from realtime.auth import Principal, Role
from realtime.metrics import HubMetrics
from realtime.runtime import Runtime
from storage.errors import LogIncomplete
from storage.store import SqliteStore
from tests.storage.spoilers import flip_last_byte, from_another_format
from tests.support import SECRET, session_events, settings_for

NOW = datetime(2026, 11, 21, 12, tzinfo=UTC)
SERVICE = Principal(Role.SERVICE, "platform")
PATIENTS = ("p1", "p2", "p3")
RETENTION_DAYS = 30


def runtime(db: Path, retention_days: float | None = RETENTION_DAYS) -> Runtime:
    settings = settings_for(
        db,
        tick_interval_s=0,
        snapshot_interval_s=0,
        purge_interval_s=0,
        retention_days=retention_days,
    )
    return Runtime(settings, SqliteStore(db), lambda: NOW, HubMetrics())


def sessions(first: int, count: int, *, oldest_days: int = 80) -> list[dict[str, Any]]:
    """``count`` sessions spread over the last ``oldest_days`` days, across the patients."""
    events: list[dict[str, Any]] = []
    for number in range(first, first + count):
        day = (NOW - timedelta(days=number % oldest_days + 1)).date().isoformat()
        events += session_events(PATIENTS[number % len(PATIENTS)], f"s{number}", day)
    return events


def figures(hub: Runtime) -> dict[str, dict[str, Any]]:
    return {p: hub.service.readable_patient(SERVICE, p).snapshot(NOW) for p in PATIENTS}


def stored_events(db: Path) -> int:
    with sqlite3.connect(db) as connection:
        return int(connection.execute("SELECT count(*) FROM events").fetchone()[0])


async def started(db: Path, retention_days: float | None = RETENTION_DAYS) -> Runtime:
    hub = runtime(db, retention_days)
    await hub.start()
    return hub


async def stop_without_snapshot(hub: Runtime) -> None:
    hub.snapshots.events_at_last_snapshot = hub.service.events_accepted
    await hub.stop()


async def seeded_and_purged(db: Path) -> tuple[dict[str, dict[str, Any]], int]:
    """A hub with 120 sessions over 80 days, snapshotted and purged; its figures, purged count."""
    hub = await started(db)
    for patient in PATIENTS:
        await hub.service.register(SERVICE, patient, "t1", "Europe/Berlin")
    await hub.service.publish(SERVICE, sessions(0, 120))
    assert await hub.snapshots.take() is not None
    before = figures(hub)
    purged = await hub.purge()
    assert figures(hub) == before  # the running hub never looked back at raw events
    assert hub.metrics.registry.get_sample_value("progress_hub_events_purged_total") == purged
    await stop_without_snapshot(hub)
    return before, purged


async def test_a_hub_restarted_after_a_purge_has_exactly_the_figures_it_had(
    tmp_path: Path,
) -> None:
    db = tmp_path / "hub.db"
    before, purged = await seeded_and_purged(db)
    # Sessions dated 30 or more days back (at 10:00, so more than 30 days before noon).
    assert purged == 2 * sum(1 for n in range(120) if n % 80 + 1 >= RETENTION_DAYS)
    assert stored_events(db) == 240 - purged

    hub = await started(db)
    try:
        assert figures(hub) == before
        # A purged event republished is a duplicate, never counted again.
        ack = await hub.service.publish(SERVICE, sessions(0, 1))
        assert (ack.accepted, sorted(ack.duplicates)) == ([], ["s0-end", "s0-start"])
        assert figures(hub) == before
    finally:
        await stop_without_snapshot(hub)
    assert stored_events(db) == 240 - purged


async def test_nothing_is_purged_before_a_snapshot_covers_it(tmp_path: Path) -> None:
    db = tmp_path / "hub.db"
    hub = await started(db)
    try:
        for patient in PATIENTS:
            await hub.service.register(SERVICE, patient, "t1", "UTC")
        await hub.service.publish(SERVICE, sessions(0, 60))
        assert await hub.purge() == 0  # no snapshot yet
        assert stored_events(db) == 120
        await hub.snapshots.take()
        # A late event, dated long before the horizon, arrives after the snapshot: it counts,
        # and its row stays until a snapshot covers it.
        late = session_events("p1", "late", (NOW - timedelta(days=200)).date().isoformat())
        assert (await hub.service.publish(SERVICE, late)).accepted == ["late-start", "late-end"]
        first = await hub.purge()
        assert first > 0
        with_late = figures(hub)
        with sqlite3.connect(db) as connection:
            kept = {row[0] for row in connection.execute("SELECT id FROM events")}
        assert {"late-start", "late-end"} <= kept
        await hub.snapshots.take()
        assert await hub.purge() == 2  # now covered: only the late pair goes
        assert figures(hub) == with_late
    finally:
        await stop_without_snapshot(hub)
    again = await started(db)
    try:
        assert figures(again) == with_late
    finally:
        await stop_without_snapshot(again)


async def test_without_retention_nothing_is_ever_purged(tmp_path: Path) -> None:
    db = tmp_path / "hub.db"
    hub = await started(db, retention_days=None)
    try:
        for patient in PATIENTS:
            await hub.service.register(SERVICE, patient, "t1", "UTC")
        await hub.service.publish(SERVICE, sessions(0, 30))
        await hub.snapshots.take()
        assert await hub.purge() == 0
    finally:
        await stop_without_snapshot(hub)
    assert stored_events(db) == 60


def spoil_signature(connection: sqlite3.Connection) -> None:
    (body,) = connection.execute("SELECT body FROM snapshot_parts LIMIT 1").fetchone()
    connection.execute("UPDATE snapshot_parts SET body = ?", (flip_last_byte(body),))


def snapshot_gone(connection: sqlite3.Connection) -> None:
    connection.execute("DELETE FROM snapshot_parts")
    connection.execute("DELETE FROM snapshots")


@pytest.mark.parametrize("spoil", [spoil_signature, from_another_format, snapshot_gone])
async def test_a_purged_log_without_a_usable_snapshot_refuses_to_start(
    tmp_path: Path, spoil: Callable[[sqlite3.Connection], None]
) -> None:
    db = tmp_path / "hub.db"
    _, purged = await seeded_and_purged(db)
    with sqlite3.connect(db) as connection:
        spoil(connection)
    hub = runtime(db)
    with pytest.raises(LogIncomplete, match=f"{purged} events up to seq .* were purged"):
        await hub.start()
    # The refusal left the file as it was and released it: a fixed snapshot would still work.
    assert stored_events(db) == 240 - purged
    reopened = SqliteStore(db)
    await reopened.open()
    await reopened.close()


async def test_the_cli_refuses_a_purged_log_in_one_clear_line(tmp_path: Path) -> None:
    db = tmp_path / "hub.db"
    await seeded_and_purged(db)
    with sqlite3.connect(db) as connection:
        from_another_format(connection)
    env = {**os.environ, "PROGRESS_HUB_SECRET": SECRET}
    result = subprocess.run(
        [sys.executable, "-m", "realtime.cli", "serve", "--db", str(db), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if "progress-hub: error:" in line]
    assert len(errors) == 1, result.stderr
    assert "were purged under retention" in errors[0] and "state format" in errors[0]


async def test_export_after_a_purge_holds_the_retained_events_and_says_so(
    tmp_path: Path,
) -> None:
    db = tmp_path / "hub.db"
    _, purged = await seeded_and_purged(db)
    out = tmp_path / "backup.jsonl"
    env = {**os.environ, "PROGRESS_HUB_SECRET": SECRET}
    result = subprocess.run(
        [sys.executable, "-m", "realtime.cli", "export", "--db", str(db), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert f"{purged} older events were purged" in result.stderr
    lines = out.read_text().splitlines()
    assert sum('"record":"event"' in line for line in lines) == 240 - purged
