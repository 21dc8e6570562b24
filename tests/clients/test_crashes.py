"""Every event is applied exactly once whatever crashes: the hub (SIGKILL, then a restart) or
the app (SIGKILL, then a new client on the same outbox file). Totals are read over REST."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from clients.dashboard import DashboardClient
from clients.messages import StateChanged, Subscribed
from clients.session import SessionClient
from tests.clients.processes import (
    SERVICE_TOKEN,
    HubProcess,
    exercises,
    exercises_completed,
)
from tests.support import eventually, token, wait_until

pytestmark = pytest.mark.slow


def outbox_rows(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[HubProcess]:
    process = HubProcess(tmp_path / "hub.db")
    process.start()
    process.register("p1")
    try:
        yield process
    finally:
        process.stop()


@pytest.mark.parametrize("msgpack", [False, True], ids=["json", "msgpack"])
async def test_a_hub_killed_mid_stream_loses_and_doubles_nothing(
    hub: HubProcess, tmp_path: Path, msgpack: bool
) -> None:
    count = 2_000
    async with SessionClient(
        hub.ws_url,
        SERVICE_TOKEN,
        outbox=tmp_path / "outbox.db",
        msgpack=msgpack,
        max_batch_events=20,
        backoff_initial_s=0.05,
        backoff_max_s=0.5,
    ) as client:
        await client.publish_many(exercises("p1", count))
        await eventually(lambda: client.totals.accepted >= 300, 30.0, "a few acks")
        hub.kill()
        assert await client.pending() > 0, "the hub died after the stream ended: no test"
        hub.start()
        await client.flush(timeout=60)
        assert await client.pending() == 0
        assert client.connections >= 2
    assert exercises_completed(hub, "p1") == count


def test_an_app_killed_mid_stream_resumes_from_its_outbox(hub: HubProcess, tmp_path: Path) -> None:
    count, outbox = 3_000, tmp_path / "app-outbox.db"
    app = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.clients.publisher",
            hub.ws_url,
            SERVICE_TOKEN,
            str(outbox),
            str(count),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert app.stdout is not None
        assert app.stdout.readline().strip() == "queued"
        wait_until(lambda: exercises_completed(hub, "p1") >= 200, 30, "the app to send some")
        app.send_signal(signal.SIGKILL)
        app.wait(timeout=10)
    finally:
        if app.poll() is None:
            app.kill()
            app.wait(timeout=10)
        if app.stdout is not None:
            app.stdout.close()
    left = outbox_rows(outbox)
    assert 0 < left < count, "the kill did not land mid-stream"

    async def resume() -> None:
        async with SessionClient(hub.ws_url, SERVICE_TOKEN, outbox=outbox) as client:
            await client.flush(timeout=60)
            # The killed app may have been acked for events it never removed: now duplicates.
            assert client.totals.accepted + client.totals.duplicates == left

    asyncio.run(resume())
    assert outbox_rows(outbox) == 0
    assert exercises_completed(hub, "p1") == count


async def test_after_a_hub_restart_the_dashboard_starts_afresh_from_rest(
    hub: HubProcess,
) -> None:
    async with SessionClient(hub.ws_url, SERVICE_TOKEN) as client:
        await client.publish_many(exercises("p1", 3))
        await client.flush(timeout=10)
    async with DashboardClient(
        hub.ws_url, token("therapist", "t1"), ["patient:p1"], backoff_initial_s=0.05
    ) as dashboard:
        first = await dashboard.next(timeout=10)
        assert isinstance(first, Subscribed) and not first.recovered
        hub.kill()
        hub.start()
        async with SessionClient(hub.ws_url, SERVICE_TOKEN) as client:
            await client.publish_many(exercises("p1", 5, prefix="after"))
            await client.flush(timeout=10)
        # The dashboard may resubscribe before or after those five land: either its snapshot
        # holds them, or state messages bring them after it. Both end at the hub's figures.
        item = await dashboard.next(timeout=30)
        assert isinstance(item, Subscribed), "a new epoch starts with a fresh subscription"
        assert not item.recovered and item.epoch != first.epoch
        assert item.series is not None and item.series["meta"]["patient_id"] == "p1"
        assert len(item.series["time_buckets"]) == len(item.series["series"]["activity_count"])
        shown = item.snapshot["engagement"]["exercises_completed"]
        while shown < 8:
            update = await dashboard.next(timeout=30)
            if isinstance(update, StateChanged):
                shown = update.data["engagement"]["exercises_completed"]
        assert shown == 8 == exercises_completed(hub, "p1")
