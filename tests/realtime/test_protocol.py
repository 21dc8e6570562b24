"""The pure wire format: codecs and client frame parsing."""

from __future__ import annotations

import msgpack
import pytest

from realtime.protocol import (
    SUBPROTOCOL_JSON,
    SUBPROTOCOL_MSGPACK,
    Celebrated,
    ChannelName,
    Codec,
    FrameError,
    Ping,
    Publish,
    Subscribe,
    choose_subprotocol,
    parse_client_frame,
)


@pytest.mark.parametrize("subprotocol", [SUBPROTOCOL_JSON, SUBPROTOCOL_MSGPACK])
def test_codecs_round_trip(subprotocol: str) -> None:
    codec = Codec(subprotocol)
    frame = {"type": "ack", "accepted": ["a"], "duplicates": [], "rejected": [], "ref": "é"}
    encoded = codec.encode(frame)
    assert isinstance(encoded, bytes if codec.binary else str)
    assert codec.decode(encoded) == frame


@pytest.mark.parametrize(
    ("subprotocol", "data"),
    [
        (SUBPROTOCOL_JSON, "{"),
        (SUBPROTOCOL_JSON, "[]"),
        (SUBPROTOCOL_JSON, "42"),
        (SUBPROTOCOL_MSGPACK, b"\xc1"),
        (SUBPROTOCOL_MSGPACK, msgpack.packb([1, 2])),
        (SUBPROTOCOL_MSGPACK, "text on a binary protocol"),
        (SUBPROTOCOL_MSGPACK, msgpack.packb({1: "int keys"})),
    ],
)
def test_undecodable_frames_are_bad_frame(subprotocol: str, data: str | bytes) -> None:
    with pytest.raises(FrameError) as error:
        Codec(subprotocol).decode(data)
    assert error.value.code == "bad_frame"


def test_subprotocol_choice_follows_the_client_preference() -> None:
    assert choose_subprotocol([]) is None
    assert (
        choose_subprotocol(["chat", SUBPROTOCOL_MSGPACK, SUBPROTOCOL_JSON]) == SUBPROTOCOL_MSGPACK
    )
    assert choose_subprotocol(["chat"]) is None


def test_client_frames_parse() -> None:
    assert parse_client_frame({"type": "ping", "ref": "1"}) == Ping("1")
    assert parse_client_frame({"type": "publish", "events": [{}]}) == Publish(None, [{}])
    subscribe = parse_client_frame(
        {"type": "subscribe", "channel": "patient:p1", "since": {"epoch": "e", "offset": 3}}
    )
    assert isinstance(subscribe, Subscribe)
    assert subscribe.channel == ChannelName("patient", "p1")
    assert subscribe.since is not None and subscribe.since.offset == 3
    assert parse_client_frame({"type": "celebrated", "milestone_ids": ["m"]}) == Celebrated(
        None, ["m"]
    )


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ({}, "bad_frame"),
        ({"type": "dance"}, "bad_frame"),
        ({"type": "publish"}, "bad_frame"),
        ({"type": "publish", "events": []}, "bad_frame"),
        ({"type": "publish", "events": [{}] * 501}, "too_large"),
        ({"type": "subscribe"}, "bad_frame"),
        ({"type": "subscribe", "channel": "lobby"}, "unknown_channel"),
        ({"type": "subscribe", "channel": "patient:"}, "unknown_channel"),
        ({"type": "subscribe", "channel": "patient:p1", "since": {"epoch": 1}}, "bad_frame"),
        (
            {"type": "subscribe", "channel": "patient:p1", "since": {"epoch": "e", "offset": -1}},
            "bad_frame",
        ),
        ({"type": "celebrated", "milestone_ids": "m1"}, "bad_frame"),
        ({"type": "celebrated", "milestone_ids": [1]}, "bad_frame"),
        ({"type": "ping", "ref": 5}, "bad_frame"),
    ],
)
def test_bad_client_frames_carry_their_code(frame: dict, code: str) -> None:
    with pytest.raises(FrameError) as error:
        parse_client_frame(frame)
    assert error.value.code == code


def test_refused_frames_echo_a_usable_ref() -> None:
    with pytest.raises(FrameError) as error:
        parse_client_frame({"type": "subscribe", "channel": "lobby", "ref": "r7"})
    assert error.value.ref == "r7"


def test_publish_limit_is_configurable() -> None:
    with pytest.raises(FrameError):
        parse_client_frame({"type": "publish", "events": [{}] * 3}, max_events=2)
