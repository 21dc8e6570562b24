"""SessionClient against a real hub on a loopback socket: ids, rejections, celebrations."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest

from clients.ids import EventIds
from clients.session import SessionClient, SessionClientStopped
from tests.support import LiveServer, session_events, token


def test_generated_ids_are_uuid7_in_creation_order() -> None:
    ids = EventIds()
    made = [ids.new() for _ in range(5_000)]
    assert made == sorted(made)
    assert len(set(made)) == len(made)
    assert {uuid.UUID(item).version for item in made} == {7}


async def test_events_without_an_id_get_one_and_are_applied(live_p1: LiveServer) -> None:
    async with SessionClient(live_p1.ws_url, token("patient", "p1")) as client:
        event_id = await client.publish(
            {"kind": "mood_checkin", "patient_id": "p1", "at": "2026-11-21T09:00:00Z", "score": 7}
        )
        await client.flush(timeout=10)
    assert uuid.UUID(event_id).version == 7
    assert client.totals.accepted == 1


async def test_a_rejected_event_reaches_the_app_and_blocks_nothing(live_p1: LiveServer) -> None:
    bad = {"id": "bad", "kind": "mood_checkin", "patient_id": "p1", "at": "yesterday"}
    async with SessionClient(live_p1.ws_url, token("service", "platform")) as client:
        await client.publish_many([bad, *session_events("p1", "s1", "2026-11-20")])
        await client.flush(timeout=10)
        rejection = await client.rejected().get(timeout=5)
        assert await client.pending() == 0
    assert rejection.event == bad
    assert rejection.code == "invalid_event" and "at:" in rejection.detail
    assert (client.totals.accepted, client.totals.rejected) == (2, 1)


async def test_publishing_twice_is_a_duplicate_that_changes_nothing(live_p1: LiveServer) -> None:
    events = session_events("p1", "s1", "2026-11-20")
    for expected_duplicates in (0, 2):
        async with SessionClient(live_p1.ws_url, token("patient", "p1"), msgpack=True) as client:
            await client.publish_many(events)
            await client.flush(timeout=10)
        assert client.totals.duplicates == expected_duplicates
    progress = httpx.get(
        f"{live_p1.http_url}/api/v1/patients/p1/progress",
        headers={"Authorization": f"Bearer {token('patient', 'p1')}"},
    ).json()
    assert progress["total_sessions"] == 1


async def test_a_celebration_comes_once_and_not_again_after_celebrated(
    live_p1: LiveServer,
) -> None:
    patient = token("patient", "p1")
    async with SessionClient(live_p1.ws_url, patient) as client:
        await client.publish_many(session_events("p1", "s1", "2026-11-20"))
        celebration = await client.celebrations().get(timeout=10)
        assert (celebration.rule, celebration.title) == ("first_session", "First Session")
    # Not acknowledged: a new client gets it again.
    async with SessionClient(live_p1.ws_url, patient) as client:
        again = await client.celebrations().get(timeout=10)
        assert again == celebration
        assert await client.celebrated([celebration.milestone_id]) == [celebration.milestone_id]
    async with SessionClient(live_p1.ws_url, patient) as client:
        await client.publish_many(session_events("p1", "s2", "2026-11-21"))
        await client.flush(timeout=10)
        with pytest.raises(TimeoutError):
            await client.celebrations().get(timeout=0.5)


async def test_a_refused_token_stops_the_client_instead_of_retrying(live_p1: LiveServer) -> None:
    async with SessionClient(live_p1.ws_url, "not-a-token") as client:
        await client.publish(
            {"kind": "mood_checkin", "patient_id": "p1", "at": "2026-11-21T09:00:00Z", "score": 7}
        )
        with pytest.raises(SessionClientStopped, match="4001"):
            await client.flush(timeout=10)
        assert client.state == "stopped"


async def test_flush_times_out_while_the_hub_is_unreachable(tmp_path) -> None:
    url = "ws://127.0.0.1:9/ws"  # the discard port: nothing listens
    client = SessionClient(url, "t", outbox=tmp_path / "o.db", backoff_initial_s=0.05)
    await client.start()
    await client.publish({"kind": "mood_checkin", "patient_id": "p1", "at": "x", "score": 1})
    with pytest.raises(TimeoutError):
        await client.flush(timeout=0.5)
    assert client.state in ("connecting", "reconnecting")
    await client.close(flush_timeout=0)
    reopened = SessionClient(url, "t", outbox=tmp_path / "o.db")
    await reopened.start()
    assert await reopened.pending() == 1
    await reopened.close(flush_timeout=0)


def test_an_id_the_hub_could_not_acknowledge_is_refused_at_once() -> None:
    async def publish() -> None:
        async with SessionClient("ws://127.0.0.1:9/ws", "t") as client:
            await client.publish({"id": "x" * 65, "kind": "mood_checkin"})

    with pytest.raises(ValueError, match="id:"):
        asyncio.run(publish())
