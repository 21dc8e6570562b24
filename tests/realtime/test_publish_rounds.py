"""Publishes share group commits: pipelined, concurrent and duplicated publishes on real sockets.

Every ``ack`` must still mean durable (its events are in the database file when it arrives),
each publisher gets its own answer under its own ``ref``, and a publisher that leaves before
its answer loses nothing.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from clients.hub_client import HubClient
from tests.realtime.helpers import checkin, register
from tests.support import LiveServer, settings_for, start_server, token, wait_until

PUBLISHERS = 6
PUBLISHES_EACH = 15


@pytest.fixture
def live(db_path: Path) -> Iterator[LiveServer]:
    server = start_server(settings_for(db_path, coalesce_s=0.0, max_inflight_publishes=4))
    for number in range(PUBLISHERS):
        register(server, f"p{number}", "t1")
    try:
        yield server
    finally:
        server.stop()


def stored_ids(db_path: Path) -> set[str]:
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as connection:
        return {row[0] for row in connection.execute("SELECT id FROM events")}


def day(number: int) -> str:
    return f"2026-11-{1 + number % 20:02d}"


async def test_pipelined_publishes_from_many_connections_are_each_acked_once_durable(
    live: LiveServer, db_path: Path
) -> None:
    async def publisher(number: int) -> list[dict]:
        patient = f"p{number}"
        async with await HubClient.connect(live.ws_url, token("patient", patient)) as client:

            async def one(serial: int) -> dict:
                ids = [f"{patient}-{serial}-{k}" for k in range(3)]
                ack = await client.publish([checkin(i, patient, day(serial)) for i in ids])
                # Read the file the moment the ack arrives: the commit must already be there.
                assert set(ack["accepted"]) <= stored_ids(db_path)
                assert ack["accepted"] == ids and not ack["rejected"]
                return ack

            # More in flight than max_inflight_publishes: reading pauses, nothing is lost.
            return await asyncio.gather(*(one(serial) for serial in range(PUBLISHES_EACH)))

    acks = await asyncio.gather(*(publisher(number) for number in range(PUBLISHERS)))
    accepted = [i for batch in acks for ack in batch for i in ack["accepted"]]
    assert len(accepted) == len(set(accepted)) == PUBLISHERS * PUBLISHES_EACH * 3
    assert stored_ids(db_path) == set(accepted)
    assert live.runtime.service.events_accepted == len(accepted)


async def test_the_same_event_from_two_connections_is_accepted_once_and_durable_for_both(
    live: LiveServer, db_path: Path
) -> None:
    event = checkin("shared", "p0", "2026-11-20")
    async with (
        await HubClient.connect(live.ws_url, token("patient", "p0")) as first,
        await HubClient.connect(live.ws_url, token("service", "platform")) as second,
    ):

        async def publish(client: HubClient) -> dict:
            ack = await client.publish([event])
            assert "shared" in stored_ids(db_path)  # "duplicate" also means "already durable"
            return ack

        acks = await asyncio.gather(*(publish(client) for client in (first, second) * 3))
    outcomes = sorted((tuple(ack["accepted"]), tuple(ack["duplicates"])) for ack in acks)
    assert outcomes == [((), ("shared",))] * 5 + [(("shared",), ())]


async def test_a_mixed_batch_on_the_json_codec_rejects_each_bad_event_alone(
    live: LiveServer,
) -> None:
    good = [checkin(f"good-{n}", "p1", "2026-11-20") for n in range(3)]
    bad = {**checkin("bad", "p1", "2026-11-20"), "score": 11, "at": "2026-11-20T12:00:00"}
    async with await HubClient.connect(live.ws_url, token("patient", "p1")) as client:
        ack = await client.publish([good[0], bad, good[1], {"kind": "mood_checkin"}, good[2]])
        again = await client.publish(good)
    assert ack["accepted"] == ["good-0", "good-1", "good-2"]
    reasons = {rejected["id"]: rejected["detail"] for rejected in ack["rejected"]}
    assert set(reasons) == {"bad", ""}
    assert "score:" in reasons["bad"] and "at:" in reasons["bad"]
    assert "id:" in reasons[""] and "patient_id:" in reasons[""]
    assert again["duplicates"] == ["good-0", "good-1", "good-2"]


async def test_events_of_a_publisher_that_leaves_before_its_ack_are_kept(
    live: LiveServer, db_path: Path
) -> None:
    client = await HubClient.connect(live.ws_url, token("patient", "p2"))
    ids = [f"gone-{n}" for n in range(50)]
    await client.send_raw(
        '{"type":"publish","events":['
        + ",".join(
            f'{{"id":"{i}","kind":"mood_checkin","patient_id":"p2",'
            f'"at":"2026-11-20T12:00:00Z","score":5}}'
            for i in ids
        )
        + "]}"
    )
    await client.close()
    wait_until(lambda: set(ids) <= stored_ids(db_path), what="events committed")
    wait_until(lambda: live.runtime.service.events_accepted == len(ids), what="events applied")
    async with await HubClient.connect(live.ws_url, token("patient", "p2")) as again:
        ack = await again.publish([checkin(ids[0], "p2", "2026-11-20")])
    assert ack["duplicates"] == [ids[0]]
