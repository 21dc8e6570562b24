"""Channels over real sockets: recovery, celebrations, coalescing, alerts, slow consumers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from clients.hub_client import HubClient
from tests.realtime.helpers import checkin, drain, next_of_kind, register
from tests.support import (
    LiveServer,
    StalledClient,
    session_events,
    settings_for,
    start_server,
    token,
)


@contextmanager
def hub_with_p1(
    db_path: Path, clock: Callable[[], datetime] | None = None, **settings: Any
) -> Iterator[LiveServer]:
    """A hub on a real socket with these settings and patient p1 of therapist t1."""
    live = start_server(settings_for(db_path, **settings), clock=clock)
    try:
        register(live, "p1", "t1")
        yield live
    finally:
        live.stop()


def position(subscribed: dict[str, Any]) -> dict[str, Any]:
    """Where a subscribe reply left the channel, as ``since`` takes it."""
    return {"epoch": subscribed["epoch"], "offset": subscribed["offset"]}


@pytest.fixture
def live(live_p1: LiveServer) -> LiveServer:
    return live_p1


async def test_resubscribing_with_since_recovers_the_missed_messages_in_order(
    live: LiveServer,
) -> None:
    patient_token = token("patient", "p1")
    async with await HubClient.connect(live.ws_url, token("therapist", "t1")) as watcher:
        first = await watcher.subscribe("patient:p1")
    async with await HubClient.connect(live.ws_url, patient_token) as patient:
        for day in ("2026-11-18", "2026-11-19", "2026-11-20"):
            await patient.publish([checkin(f"m-{day}", "p1", day)])
    async with await HubClient.connect(live.ws_url, token("therapist", "t1")) as watcher:
        since = position(first)
        again = await watcher.subscribe("patient:p1", since=since)
        missed = await drain(watcher)
    assert again["recovered"] is True
    assert again["epoch"] == first["epoch"]
    offsets = [frame["offset"] for frame in missed]
    assert offsets == list(range(first["offset"] + 1, again["offset"] + 1))
    assert missed[-1]["data"]["kind"] == "state"
    assert missed[-1]["data"]["streak"]["last_active_day"] == "2026-11-20"


async def test_a_channel_nobody_ever_subscribed_to_keeps_no_state_history_yet_loses_nothing(
    live: LiveServer,
) -> None:
    async with await HubClient.connect(live.ws_url, token("patient", "p1")) as patient:
        for day in ("2026-11-18", "2026-11-19"):
            await patient.publish([checkin(f"quiet-{day}", "p1", day)])
        async with await HubClient.connect(live.ws_url, token("therapist", "t1")) as watcher:
            # Nobody could know this epoch, so there was nothing to keep: the snapshot stands
            # in for it, with the latest figures, and a guessed position is not recovered.
            first = await watcher.subscribe("patient:p1", since={"epoch": "guessed", "offset": 0})
            assert first["recovered"] is False and first["offset"] == 0
            assert first["snapshot"]["streak"]["last_active_day"] == "2026-11-19"
            await patient.publish([checkin("heard-2026-11-20", "p1", "2026-11-20")])
            live_state = await next_of_kind(watcher, "state")
        assert live_state["offset"] > first["offset"]
        assert live_state["data"]["streak"]["last_active_day"] == "2026-11-20"
        # Once it has had a subscriber, the channel keeps its history for those who leave.
        await patient.publish([checkin("missed-2026-11-21", "p1", "2026-11-21")])
    async with await HubClient.connect(live.ws_url, token("therapist", "t1")) as watcher:
        since = {"epoch": first["epoch"], "offset": live_state["offset"]}
        again = await watcher.subscribe("patient:p1", since=since)
        missed = await drain(watcher)
    assert again["recovered"] is True
    assert [frame["offset"] for frame in missed] == list(
        range(live_state["offset"] + 1, again["offset"] + 1)
    )
    assert missed[-1]["data"]["kind"] == "state"
    assert missed[-1]["data"]["streak"]["last_active_day"] == "2026-11-21"


async def test_a_gap_past_the_history_or_another_epoch_is_not_recovered(db_path: Path) -> None:
    with hub_with_p1(db_path, coalesce_s=0.0, history_size=3) as live:
        async with await HubClient.connect(live.ws_url, token("patient", "p1")) as patient:
            first = await patient.subscribe("patient:p1")
            for number in range(4):
                await patient.publish([checkin(f"m{number}", "p1", f"2026-11-1{number}")])
            await drain(patient)
            late = await patient.subscribe("patient:p1", since=position(first))
            stranger = await patient.subscribe(
                "patient:p1", since={"epoch": "not-this-one", "offset": late["offset"]}
            )
    for reply in (late, stranger):
        assert reply["recovered"] is False
        assert reply["snapshot"]["patient_id"] == "p1"


async def test_celebrations_are_redelivered_until_acknowledged_then_never(
    db_path: Path,
) -> None:
    with hub_with_p1(db_path, coalesce_s=0.0) as live:
        async with await HubClient.connect(live.ws_url, token("patient", "p1")) as patient:
            await patient.subscribe("patient:p1")
            await patient.publish(session_events("p1", "s1", "2026-11-20"))
            celebration = await next_of_kind(patient, "celebration")
        milestone = celebration["data"]["milestone"]
        assert milestone["rule"] == "first_session" and milestone["title"] == "First Session"

        async with await HubClient.connect(live.ws_url, token("patient", "p1")) as patient:
            await patient.subscribe("patient:p1")
            again = await next_of_kind(patient, "celebration")
            assert again["data"]["milestone"]["id"] == milestone["id"]
            ok = await patient.celebrated([milestone["id"], "no-such-milestone"])
            assert ok["type"] == "ok" and ok["milestone_ids"] == [milestone["id"]]

    # Acknowledged before a restart: never delivered again, not even by the new process.
    live = start_server(settings_for(db_path, coalesce_s=0.0))
    try:
        async with await HubClient.connect(live.ws_url, token("patient", "p1")) as patient:
            await patient.subscribe("patient:p1")
            frames = await drain(patient, quiet_s=0.5)
            await patient.publish(session_events("p1", "s1", "2026-11-20"))
            frames += await drain(patient, quiet_s=0.5)
    finally:
        live.stop()
    assert not [f for f in frames if f.get("data", {}).get("kind") == "celebration"]


async def test_only_the_patient_acknowledges_its_celebrations(live: LiveServer) -> None:
    async with await HubClient.connect(live.ws_url, token("therapist", "t1")) as therapist:
        with pytest.raises(Exception, match="forbidden"):
            await therapist.celebrated(["anything"])


async def test_a_burst_is_coalesced_into_few_state_messages_with_the_latest_values(
    db_path: Path,
) -> None:
    with hub_with_p1(db_path, coalesce_s=0.2) as live:
        async with (
            await HubClient.connect(live.ws_url, token("therapist", "t1")) as therapist,
            await HubClient.connect(live.ws_url, token("patient", "p1")) as patient,
        ):
            await therapist.subscribe("patient:p1")
            started = asyncio.get_running_loop().time()
            await asyncio.gather(
                *(
                    patient.publish(session_events("p1", f"s{n}", f"2026-10-{n + 1:02d}"))
                    for n in range(30)
                )
            )
            elapsed = asyncio.get_running_loop().time() - started
            frames = await drain(therapist, quiet_s=0.6)
    states = [f["data"] for f in frames if f["data"]["kind"] == "state"]
    # One at the leading edge, then at most one per window while the burst lasted, plus the last.
    windows = int(elapsed / 0.2)
    assert states, "no state message at all"
    assert len(states) <= windows + 3, (len(states), windows)
    assert len(states) < 30  # fewer messages than events: the burst was coalesced
    assert states[-1]["total_sessions"] == 30


async def test_mood_crisis_alerts_reach_the_therapist_channel_at_once(live: LiveServer) -> None:
    async with (
        await HubClient.connect(live.ws_url, token("therapist", "t1")) as therapist,
        await HubClient.connect(live.ws_url, token("patient", "p1")) as patient,
    ):
        subscribed = await therapist.subscribe("therapist:t1")
        assert subscribed["snapshot"]["therapist_id"] == "t1"
        await patient.publish([checkin("low", "p1", "2026-11-20", score=1)])
        alert = await next_of_kind(therapist, "alert")
    assert alert["channel"] == "therapist:t1"
    assert alert["data"]["code"] == "mood_crisis"
    assert alert["data"]["patient_id"] == "p1"
    assert alert["data"]["severity"]


async def test_a_slow_consumer_is_cut_off_while_a_fast_one_keeps_receiving(
    db_path: Path,
) -> None:
    with hub_with_p1(db_path, send_queue_frames=600) as live:
        runtime = live.runtime
        slow = StalledClient(live.settings.port, token("therapist", "t1"))
        assert json.loads(await asyncio.to_thread(slow.read_one))["type"] == "welcome"
        slow.send_text('{"type": "subscribe", "channel": "therapist:t1"}')
        assert json.loads(await asyncio.to_thread(slow.read_one))["type"] == "subscribed"
        fast = await HubClient.connect(live.ws_url, token("therapist", "t1"))
        service = await HubClient.connect(live.ws_url, token("service", "platform"))
        await fast.subscribe("therapist:t1")
        received = sent = 0
        for batch in range(200):
            crises = [checkin(f"c{batch}-{n}", "p1", "2026-11-20", score=1) for n in range(500)]
            await service.publish(crises)
            sent += len(crises)
            received += len(await drain(fast, quiet_s=0.01))
            if runtime.metrics.slow_consumer_closes._value.get() >= 1:
                break
        else:
            pytest.fail("the stalled client was never cut off")
        received += len(await drain(fast, quiet_s=0.3))
        # The hub kept serving everyone else: the fast client got every alert, and still works.
        assert received == sent
        assert (await fast.ping())["type"] == "pong"
        # Once the stalled client reads again, it learns why it was cut off.
        assert await asyncio.to_thread(slow.read_until_closed) == 4000
        assert len(slow.received) < sent
        await fast.close()
        await service.close()
        slow.close()


async def test_time_passing_alone_moves_the_streak(db_path: Path) -> None:
    now = [datetime(2026, 11, 20, 12, tzinfo=UTC)]
    with hub_with_p1(db_path, coalesce_s=0.0, tick_interval_s=0.05, clock=lambda: now[0]) as live:
        async with await HubClient.connect(live.ws_url, token("therapist", "t1")) as therapist:
            async with await HubClient.connect(live.ws_url, token("patient", "p1")) as patient:
                await patient.publish([checkin("today", "p1", "2026-11-20")])
            await therapist.subscribe("patient:p1")
            now[0] += timedelta(days=3)  # two whole local days without activity
            state = await next_of_kind(therapist, "state", timeout=5)
    assert state["data"]["streak"]["current"] == 0
    assert state["data"]["streak"]["longest"] == 1


async def test_history_is_bounded_by_bytes_too(db_path: Path) -> None:
    with hub_with_p1(db_path, coalesce_s=0.0, history_max_bytes=6_000) as live:
        async with await HubClient.connect(live.ws_url, token("patient", "p1")) as patient:
            first = await patient.subscribe("patient:p1")
            assert patient.welcome["limits"]["history_max_bytes"] == 6_000
            await patient.publish([checkin("one", "p1", "2026-11-19")])
            await drain(patient)
            near = await patient.subscribe("patient:p1", since=position(first))
            for number in range(6):  # each state message is a few KiB: the oldest fall out
                await patient.publish([checkin(f"m{number}", "p1", f"2026-11-1{number}")])
            await drain(patient)
            far = await patient.subscribe("patient:p1", since=position(first))
    assert near["recovered"] is True
    assert far["recovered"] is False
