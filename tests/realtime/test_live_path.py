"""The foundation's live path, end to end over real sockets served by uvicorn (sansio)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from clients.hub_client import HubClient, HubClientError, HubClosed
from tests.support import LiveServer, session_events, settings_for, start_server, token

SERVICE = {"Authorization": f"Bearer {token('service', 'platform')}"}


@pytest.fixture
def live(db_path: Path) -> Iterator[LiveServer]:
    server = start_server(settings_for(db_path))
    try:
        yield server
    finally:
        server.stop()


def register(
    live: LiveServer, patient_id: str, therapist_id: str, tz: str = "Europe/Berlin"
) -> None:
    response = httpx.put(
        f"{live.http_url}/api/v1/patients/{patient_id}",
        json={"therapist_id": therapist_id, "timezone": tz},
        headers=SERVICE,
    )
    assert response.status_code in (200, 201), response.text


def progress(live: LiveServer, patient_id: str) -> dict:
    response = httpx.get(
        f"{live.http_url}/api/v1/patients/{patient_id}/progress",
        headers={"Authorization": f"Bearer {token('therapist', 't1')}"},
    )
    assert response.status_code == 200, response.text
    return response.json()


async def next_of_kind(client: HubClient, kind: str) -> dict:
    """The next ``message`` whose data is of ``kind``, skipping others (celebrations, series)."""
    while True:
        frame = await client.next_message()
        if frame.get("type") == "message" and frame["data"]["kind"] == kind:
            return frame


def stored_ids(db_path: Path) -> set[str]:
    with sqlite3.connect(db_path) as connection:
        return {row[0] for row in connection.execute("SELECT id FROM events")}


@pytest.mark.parametrize("msgpack", [False, True], ids=["json", "msgpack"])
async def test_published_session_reaches_subscribed_therapist_and_rest(
    live: LiveServer, db_path: Path, msgpack: bool
) -> None:
    register(live, "p1", "t1")
    therapist = await HubClient.connect(live.ws_url, token("therapist", "t1"), msgpack=msgpack)
    patient = await HubClient.connect(live.ws_url, token("patient", "p1"), msgpack=msgpack)
    try:
        subscribed = await therapist.subscribe("patient:p1")
        assert subscribed["snapshot"]["total_sessions"] == 0
        assert subscribed["recovered"] is False

        events = session_events("p1", "s1", "2026-11-20", duration_s=2700)
        ack = await patient.publish(events)
        assert ack["accepted"] == ["s1-start", "s1-end"]
        assert ack["duplicates"] == [] and ack["rejected"] == []
        # The ack promises durability: the rows are already in the file.
        assert {"s1-start", "s1-end"} <= stored_ids(db_path)

        message = await next_of_kind(therapist, "state")
        assert message["type"] == "message" and message["channel"] == "patient:p1"
        assert message["offset"] > subscribed["offset"]
        state = message["data"]
        assert state["kind"] == "state"
        assert state["total_sessions"] == 1
        assert state["engagement"]["total_minutes"] == 45.0
        assert state["streak"]["last_active_day"] == "2026-11-20"

        rest = progress(live, "p1")
        assert rest["total_sessions"] == 1
        assert rest["engagement"]["total_minutes"] == 45.0
        assert rest["streak"] == state["streak"]
    finally:
        await patient.close()
        await therapist.close()


async def test_republishing_is_acknowledged_as_duplicate_and_changes_nothing(
    live: LiveServer,
) -> None:
    register(live, "p1", "t1")
    async with await HubClient.connect(live.ws_url, token("patient", "p1")) as patient:
        events = session_events("p1", "s1", "2026-11-20")
        await patient.publish(events)
        again = await patient.publish(events)
    assert again["accepted"] == [] and again["duplicates"] == ["s1-start", "s1-end"]
    assert progress(live, "p1")["total_sessions"] == 1


@pytest.mark.parametrize(
    "bad_token",
    [
        "",
        "not-a-jwt",
        token("patient", "p1", ttl_s=-10),
        token("patient", "p1", secret="another-secret-of-sufficient-length-0123"),
    ],
    ids=["missing", "garbage", "expired", "wrong-signature"],
)
async def test_bad_token_is_closed_with_4001_before_any_frame(
    live: LiveServer, bad_token: str
) -> None:
    with pytest.raises(HubClosed) as closed:
        await HubClient.connect(live.ws_url, bad_token)
    assert closed.value.code == 4001


async def test_token_in_query_string_is_accepted(live: LiveServer) -> None:
    from websockets.asyncio.client import connect

    async with connect(f"{live.ws_url}?token={token('admin', 'ops')}") as websocket:
        welcome = await asyncio.wait_for(websocket.recv(), 5)
    assert '"type":"welcome"' in str(welcome) and '"role":"admin"' in str(welcome)


async def test_malformed_frames_get_an_error_and_the_connection_stays_open(
    live: LiveServer,
) -> None:
    async with await HubClient.connect(live.ws_url, token("patient", "p1")) as patient:
        for bad in ("{not json", "[1, 2]", '{"type": "teleport", "ref": "x"}', '{"ref": "y"}'):
            await patient.send_raw(bad)
            error = await patient.next_message()
            assert error["type"] == "error" and error["code"] == "bad_frame", error
        assert error["ref"] == "y"
        assert (await patient.ping())["type"] == "pong"


async def test_events_for_another_patient_are_forbidden(live: LiveServer) -> None:
    register(live, "p1", "t1")
    register(live, "p2", "t1")
    async with await HubClient.connect(live.ws_url, token("patient", "p1")) as patient:
        ack = await patient.publish(
            session_events("p2", "s9", "2026-11-20") + session_events("p1", "s1", "2026-11-20")
        )
        with pytest.raises(HubClientError) as refused:
            await patient.subscribe("patient:p2")
    assert ack["accepted"] == ["s1-start", "s1-end"]
    assert [(r["id"], r["code"]) for r in ack["rejected"]] == [
        ("s9-start", "forbidden"),
        ("s9-end", "forbidden"),
    ]
    assert refused.value.code == "forbidden"
    assert progress(live, "p2")["total_sessions"] == 0


async def test_therapist_cannot_subscribe_to_a_patient_of_another_therapist(
    live: LiveServer,
) -> None:
    register(live, "p3", "t2")
    async with await HubClient.connect(live.ws_url, token("therapist", "t1")) as therapist:
        for channel in ("patient:p3", "patient:nobody", "therapist:t2"):
            with pytest.raises(HubClientError) as refused:
                await therapist.subscribe(channel)
            assert refused.value.code == "forbidden"


async def test_invalid_and_unknown_patient_events_are_rejected_alone(live: LiveServer) -> None:
    register(live, "p1", "t1")
    async with await HubClient.connect(live.ws_url, token("service", "platform")) as service:
        ack = await service.publish(
            [
                {"id": "bad", "kind": "mood_checkin", "patient_id": "p1", "at": "yesterday"},
                {
                    "id": "ghost",
                    "kind": "mood_checkin",
                    "patient_id": "nobody",
                    "at": "2026-11-20T10:00:00Z",
                    "score": 5,
                },
                {
                    "id": "good",
                    "kind": "mood_checkin",
                    "patient_id": "p1",
                    "at": "2026-11-20T10:00:00Z",
                    "score": 5,
                },
            ]
        )
    assert ack["accepted"] == ["good"]
    codes = {r["id"]: r["code"] for r in ack["rejected"]}
    assert codes == {"bad": "invalid_event", "ghost": "unknown_patient"}
    detail = next(r["detail"] for r in ack["rejected"] if r["id"] == "bad")
    assert "at:" in detail and "score:" in detail


async def test_restart_on_the_same_file_gives_the_same_figures(db_path: Path) -> None:
    first = start_server(settings_for(db_path))
    try:
        register(first, "p1", "t1")
        async with await HubClient.connect(first.ws_url, token("patient", "p1")) as patient:
            for number, day in enumerate(("2026-11-18", "2026-11-19", "2026-11-20")):
                await patient.publish(session_events("p1", f"s{number}", day))
        before = progress(first, "p1")
    finally:
        first.stop()
    assert before["total_sessions"] == 3

    second = start_server(settings_for(db_path))
    try:
        after = progress(second, "p1")
        async with await HubClient.connect(second.ws_url, token("patient", "p1")) as patient:
            again = await patient.publish(session_events("p1", "s0", "2026-11-18"))
    finally:
        second.stop()
    assert after == before
    assert again["duplicates"] == ["s0-start", "s0-end"]
