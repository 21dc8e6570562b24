"""Limits announced in welcome and enforced on real sockets: size, bad frames, rate, batch."""

from __future__ import annotations

import asyncio
from pathlib import Path

import msgpack
import pytest

from clients.hub_client import HubClient, HubClientError, HubClosed
from tests.realtime.helpers import checkin, register
from tests.support import settings_for, start_server, token


async def test_welcome_announces_the_limits_in_force(db_path: Path) -> None:
    live = start_server(settings_for(db_path, max_events_per_publish=7, send_queue_frames=99))
    try:
        async with await HubClient.connect(live.ws_url, token("admin", "ops")) as admin:
            limits = admin.welcome["limits"]
    finally:
        live.stop()
    assert limits["max_events_per_publish"] == 7
    assert limits["send_queue_frames"] == 99
    assert limits["max_frame_bytes"] == 256 * 1024
    assert admin.welcome["role"] == "admin" and admin.welcome["sub"] == "ops"


@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
async def test_a_frame_over_the_size_limit_closes_with_1009(db_path: Path, binary: bool) -> None:
    live = start_server(settings_for(db_path, max_frame_bytes=4096))
    try:
        client = await HubClient.connect(live.ws_url, token("admin", "ops"), msgpack=binary)
        payload = {"type": "ping", "pad": "x" * 5000}
        await client.send_raw(msgpack.packb(payload) if binary else str(payload))
        with pytest.raises(HubClosed):
            await client.next_message(timeout=5)
        await client.close()
    finally:
        live.stop()
    assert client.close_code == 1009


async def test_more_than_twenty_bad_frames_in_a_minute_close_with_4008(db_path: Path) -> None:
    live = start_server(settings_for(db_path))
    try:
        client = await HubClient.connect(live.ws_url, token("admin", "ops"))
        errors = 0
        with pytest.raises(HubClosed):
            for _ in range(30):
                await client.send_raw("{broken")
                frame = await client.next_message(timeout=5)
                assert frame["code"] == "bad_frame"
                errors += 1
        await client.close()
    finally:
        live.stop()
    assert errors == 21  # the 21st is answered, then the connection closes
    assert client.close_code == 4008


async def test_frames_beyond_the_rate_are_refused_not_processed(db_path: Path) -> None:
    live = start_server(settings_for(db_path, rate_limit_frames_per_s=1.0, rate_limit_burst=5.0))
    try:
        async with await HubClient.connect(live.ws_url, token("admin", "ops")) as client:
            for _ in range(8):
                await client.send_raw('{"type": "ping"}')
            frames = [await client.next_message(timeout=5) for _ in range(8)]
    finally:
        live.stop()
    kinds = [frame["type"] if frame["type"] != "error" else frame["code"] for frame in frames]
    assert kinds.count("pong") == 5
    assert kinds.count("rate_limited") == 3


async def test_a_publish_over_the_batch_limit_is_too_large(db_path: Path) -> None:
    live = start_server(settings_for(db_path, max_events_per_publish=3))
    try:
        register(live, "p1", "t1")
        async with await HubClient.connect(live.ws_url, token("patient", "p1")) as patient:
            with pytest.raises(HubClientError) as refused:
                await patient.publish([checkin(f"e{n}", "p1", "2026-11-20") for n in range(4)])
            ack = await patient.publish([checkin(f"e{n}", "p1", "2026-11-20") for n in range(3)])
    finally:
        live.stop()
    assert refused.value.code == "too_large"
    assert len(ack["accepted"]) == 3


async def test_shutdown_answers_publishes_already_read_then_closes_with_1001(
    db_path: Path,
) -> None:
    live = start_server(settings_for(db_path))
    register(live, "p1", "t1")
    patient = await HubClient.connect(live.ws_url, token("patient", "p1"))
    pending = asyncio.ensure_future(
        patient.publish([checkin(f"e{n}", "p1", "2026-11-20") for n in range(200)])
    )
    await asyncio.sleep(0.05)
    await asyncio.to_thread(live.stop)
    ack = await pending
    with pytest.raises(HubClosed):
        await patient.next_message(timeout=5)
    await patient.close()
    assert len(ack["accepted"]) == 200
    assert patient.close_code == 1001
