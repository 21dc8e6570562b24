"""Thousands of random and mutated frames at one live connection.

After every frame the test sends a ``ping`` and reads up to its ``pong``; a ``publish`` is
answered only once its commit is done, after later pings, so the test tags it with its own
``ref`` and also waits for that reply. Every frame in between must be a well-formed reply of a
known type, the connection must stay open, and whenever nothing was accepted the patient's
snapshot must be exactly what it was.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import msgpack
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.sync.client import ClientConnection, connect

from realtime.protocol import ERROR_CODES
from tests.realtime.helpers import register
from tests.support import session_events, settings_for, start_server, token

REPLY_TYPES = {"ack", "subscribed", "unsubscribed", "ok", "pong", "error", "message"}
FUZZ_EXAMPLES = 1500

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)  # what msgpack can carry
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
VALID_EVENT = session_events("p1", "base", "2026-11-20")[1]
field_names = st.sampled_from([*VALID_EVENT.keys(), "score", "marker", "exercise", "goal_id"])


@st.composite
def mutated_events(draw: st.DrawFn) -> Any:
    event = dict(VALID_EVENT, id=draw(st.text(min_size=0, max_size=70)))
    for _ in range(draw(st.integers(1, 3))):
        action = draw(st.sampled_from(["drop", "replace", "add"]))
        name = draw(field_names)
        if action == "drop":
            event.pop(name, None)
        else:
            event[name] = draw(json_values)
    return event


frames = st.one_of(
    json_values,
    st.builds(
        lambda events: {"type": "publish", "events": events}, st.lists(mutated_events(), max_size=4)
    ),
    st.builds(lambda e: {"type": "publish", "events": e}, json_values),
    st.builds(
        lambda channel, since: {"type": "subscribe", "channel": channel, "since": since},
        st.one_of(
            st.text(max_size=30), st.sampled_from(["patient:p1", "patient:p2", "therapist:t1"])
        ),
        json_values,
    ),
    st.builds(lambda ids: {"type": "celebrated", "milestone_ids": ids}, json_values),
    st.builds(lambda kind, ref: {"type": kind, "ref": ref}, st.text(max_size=12), json_values),
)
raw_payloads = st.one_of(
    frames.map(lambda frame: ("text", json.dumps(frame))),
    frames.map(lambda frame: ("binary", msgpack.packb(frame))),
    st.binary(max_size=64).map(lambda data: ("binary", data)),
    st.text(max_size=64).map(lambda data: ("text", data)),
)


@pytest.fixture(scope="module")
def fuzzed(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[httpx.Client, ClientConnection]]:
    db = Path(tmp_path_factory.mktemp("fuzz")) / "hub.db"
    live = start_server(
        settings_for(
            db,
            bad_frame_limit=10**9,
            rate_limit_frames_per_s=10**6,
            rate_limit_burst=10**6,
            rest_rate_per_s=10**6,
            rest_rate_burst=10**6,
            coalesce_s=0.0,
        )
    )
    register(live, "p1", "t1")
    register(live, "p2", "t2")
    headers = {"Authorization": f"Bearer {token('patient', 'p1')}"}
    service = {"Authorization": f"Bearer {token('service', 'platform')}"}
    try:
        with (
            connect(live.ws_url, additional_headers=headers) as websocket,
            httpx.Client(base_url=live.http_url, headers=service) as http,
        ):
            assert json.loads(websocket.recv(timeout=5))["type"] == "welcome"
            yield http, websocket
    finally:
        live.stop()


def snapshot(http: httpx.Client) -> dict[str, Any]:
    response = http.get("/api/v1/patients/p1/progress")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def tag_publish(kind: str, data: str | bytes) -> tuple[str | bytes, bool]:
    """Give a publish frame the hub can decode the ref ``fuzz``, so its reply can be awaited.

    The connection speaks ``progress.v1.json``, so the hub reads binary frames as JSON too.
    """
    try:
        frame = json.loads(data)
    except Exception:
        return data, False
    if not isinstance(frame, dict) or frame.get("type") != "publish":
        return data, False
    frame["ref"] = "fuzz"
    tagged = json.dumps(frame)
    return (tagged if kind == "text" else tagged.encode()), True


def check_reply(frame: dict[str, Any]) -> None:
    assert frame.get("type") in REPLY_TYPES, frame
    if frame["type"] == "error":
        assert frame["code"] in ERROR_CODES and isinstance(frame["detail"], str)
    if frame["type"] == "ack":
        for rejected in frame["rejected"]:
            assert rejected["code"] in ERROR_CODES and rejected["detail"]


@settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(payload=raw_payloads)
def test_random_frames_never_break_the_connection_or_leak_into_state(
    fuzzed: tuple[httpx.Client, ClientConnection], payload: tuple[str, str | bytes]
) -> None:
    http, websocket = fuzzed
    before = snapshot(http)
    kind, data = payload
    data, awaiting_publish = tag_publish(kind, data)
    if kind == "text":
        websocket.send(data if isinstance(data, str) else data.decode("utf-8", "replace"))
    else:
        websocket.send(data if isinstance(data, bytes) else data.encode())
    websocket.send(json.dumps({"type": "ping", "ref": "sync"}))
    accepted, awaiting_pong = False, True
    while awaiting_pong or awaiting_publish:
        frame = json.loads(websocket.recv(timeout=10))
        check_reply(frame)
        if frame["type"] == "pong" and frame.get("ref") == "sync":
            awaiting_pong = False
        if frame.get("ref") == "fuzz":
            awaiting_publish = False
        if frame["type"] == "ack" and frame["accepted"]:
            accepted = True
    if not accepted:
        after = snapshot(http)
        assert after == before
