"""The channel history's encoded entries: lazy messages made once, both codecs, expiry."""

from __future__ import annotations

import gc
import json
from typing import Any

import msgpack

from realtime.channels.bus import Encoded
from realtime.channels.hub import Hub
from realtime.protocol import SUBPROTOCOL_JSON, SUBPROTOCOL_MSGPACK, Codec, Since
from realtime.settings import History


class Subscriber:
    def __init__(self, subprotocol: str) -> None:
        self.codec = Codec(subprotocol)
        self.frames: list[Encoded] = []

    def offer(self, encoded: Encoded) -> bool:
        self.frames.append(encoded)
        return True

    def overflowed(self) -> None:
        raise AssertionError("never full")


def decode(frame: Encoded) -> Any:
    return msgpack.unpackb(frame) if isinstance(frame, bytes) else json.loads(frame)


def test_a_lazy_message_is_made_once_for_every_reader_and_codec() -> None:
    hub = Hub(History(history_size=10, history_ttl_s=60, history_max_bytes=10**6))
    made: list[int] = []

    def produce() -> dict[str, Any]:
        made.append(1)
        return {"kind": "state", "n": len(made)}

    hub.publish("patient:p1", {"kind": "series", "n": 0})
    hub.publish_lazy("patient:p1", produce)
    assert made == []  # nobody has read it yet
    epoch, _ = hub.position("patient:p1")
    readers = [Subscriber(name) for name in (SUBPROTOCOL_JSON, SUBPROTOCOL_MSGPACK) * 2]
    for reader in readers:
        attachment = hub.attach(reader, "patient:p1", Since(epoch, 0))
        assert attachment.recovered
        reader.frames.extend(attachment.missed)
    assert made == [1]
    for reader in readers:
        assert [decode(frame) for frame in reader.frames] == [
            {
                "type": "message",
                "channel": "patient:p1",
                "offset": 1,
                "data": {"kind": "series", "n": 0},
            },
            {
                "type": "message",
                "channel": "patient:p1",
                "offset": 2,
                "data": {"kind": "state", "n": 1},
            },
        ]
    live = readers[1]
    hub.publish("patient:p1", {"kind": "insight"})
    assert decode(live.frames[-1])["offset"] == 3


def test_expired_messages_take_their_encodings_with_them_and_entries_leave_the_collector() -> None:
    hub = Hub(History(history_size=2, history_ttl_s=60, history_max_bytes=10**6))
    reader = Subscriber(SUBPROTOCOL_MSGPACK)
    hub.attach(reader, "therapist:t1", None)
    for number in range(5):
        hub.publish("therapist:t1", {"kind": "alert", "n": number})
    epoch, offset = hub.position("therapist:t1")
    late = Subscriber(SUBPROTOCOL_MSGPACK)
    attachment = hub.attach(late, "therapist:t1", Since(epoch, offset - 2))
    assert [decode(frame)["data"]["n"] for frame in attachment.missed] == [3, 4]
    channel = hub._channels["therapist:t1"]
    assert sorted(channel.packed) == [4, 5]  # offsets 1-3 expired, with their msgpack
    gc.collect()
    assert not any(gc.is_tracked(entry) for entry in channel.history)
