"""What a failed commit does on the alert path, and the end of the 24-hour reward hold."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from clients.hub_client import HubClient
from realtime.auth import Principal, Role
from realtime.metrics import HubMetrics
from realtime.runtime import Runtime
from storage.batch import Batch
from storage.store import SqliteStore
from tests.realtime.helpers import checkin, drain, next_of_kind, register
from tests.support import settings_for, start_server, token

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
SERVICE = Principal(Role.SERVICE, "platform")


class FailingDisk(SqliteStore):
    """A real SQLite store whose next event commits fail, as a full disk would."""

    failing = False

    async def append_events(self, batch: Batch) -> int:
        if self.failing:
            raise sqlite3.OperationalError("database or disk is full")
        return await super().append_events(batch)


async def test_a_failed_commit_pushes_nothing_acks_nothing_durable_and_halts(
    tmp_path: Path,
) -> None:
    halted: list[str] = []
    store = FailingDisk(tmp_path / "hub.db")
    runtime = Runtime(
        settings_for(tmp_path / "hub.db", tick_interval_s=0, snapshot_interval_s=0),
        store,
        lambda: NOW,
        HubMetrics(),
        halt=halted.append,
    )
    await runtime.start()
    try:
        await runtime.service.register(SERVICE, "p1", "t1", "UTC")
        published_before = runtime.bus.messages_published
        store.failing = True
        result = await runtime.service.publish(SERVICE, [checkin("e1", "p1", "2026-11-21", 1)])
        assert result.accepted == [] and [r["code"] for r in result.rejected] == ["internal"]
        assert len(halted) == 1
        assert runtime.bus.messages_published == published_before
        assert runtime.alerts.open_alerts("t1") == []
    finally:
        store.failing = False
        await runtime.stop()
    with sqlite3.connect(tmp_path / "hub.db") as connection:
        assert connection.execute("SELECT count(*) FROM events").fetchone()[0] == 0
        assert connection.execute("SELECT count(*) FROM alerts").fetchone()[0] == 0


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


async def test_celebrations_held_by_a_crisis_are_delivered_after_24_hours(db_path: Path) -> None:
    clock = Clock(NOW)
    server = start_server(
        settings_for(db_path, coalesce_s=0.0, alert_escalate_after_s=0.5), clock=clock
    )
    try:
        register(server, "p1", "t1")
        async with await HubClient.connect(server.ws_url, token("patient", "p1")) as patient:
            await patient.subscribe("patient:p1")
            for day in ("2026-11-19", "2026-11-20", "2026-11-21"):
                await patient.publish([checkin(f"m-{day}", "p1", day, score=1)])
            held = [f["data"]["kind"] for f in await drain(patient, 0.5)]
            assert "celebration" not in held
            clock.now += timedelta(hours=24, seconds=1)
            celebration = (await next_of_kind(patient, "celebration"))["data"]
        assert celebration["milestone"]["rule"] == "streak_3"
        admin = {"Authorization": f"Bearer {token('admin', 'ops')}"}
        states = httpx.get(f"{server.http_url}/api/v1/alerts", headers=admin).json()["alerts"]
        assert {alert["state"] for alert in states} == {"open"}  # still for the therapist
    finally:
        server.stop()
