"""Channels, their history and fan-out to subscribers.

Theory of operation
-------------------
A channel (``patient:{id}``, ``therapist:{id}``) is created the first time anything touches it
and gets a random ``epoch``. Each message published to it takes the next ``offset`` (1, 2, …)
and is retained in a bounded history (``history_size`` messages, ``history_ttl_s`` seconds or
``history_max_bytes`` of encoded messages, whichever is least) whether or not anyone
listens, so a client that reconnects with ``since={epoch, offset}`` gets exactly what it
missed, in order. When the epoch differs (the
hub restarted) or the gap reaches past the history, recovery fails and the caller sends a fresh
snapshot instead.

A message is encoded at most once per codec, however many subscribers get it. Delivery never
waits: each subscriber owns a bounded queue, and one whose queue is full is dropped from every
channel and told so through :meth:`Subscriber.overflowed`, so a slow dashboard never slows the
hub or anyone else.
"""

from __future__ import annotations

import json
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from realtime.channels.bus import Attachment, Encoded, Payload, Subscriber
from realtime.protocol import SUBPROTOCOL_JSON, Codec, Since, message_frame
from realtime.settings import History

_JSON = Codec(SUBPROTOCOL_JSON)


# What a lazy message is assumed to weigh in the history's byte budget until it is made.
LAZY_SIZE_HINT = 4096


# A message as the history keeps it: (offset, retained_at, JSON text, size, producer).
#
# Encoded, never as nested dicts, and a plain tuple: a tuple of strings and numbers is dropped
# from the cyclic collector's books, while a progress document held as dicts and lists (or
# even one small object per message) is walked by every full collection, for every retained
# message; measured, that walk stopped the event loop for hundreds of milliseconds at a time.
# The JSON text is made at once (most clients speak JSON); msgpack only when asked.
#
# A lazy message (text ``None``, a producer) is made the first time anyone reads it, so a
# ``state`` that no subscriber and no recovering client ever asks for costs nothing.
_Retained = tuple[int, float, str | None, int, Callable[[], "Payload"] | None]
_OFFSET: Final = 0
_AT: Final = 1
_TEXT: Final = 2
_SIZE: Final = 3
_PRODUCE: Final = 4


@dataclass(slots=True)
class _Channel:
    name: str
    epoch: str
    offset: int = 0
    history: deque[_Retained] = field(default_factory=deque)
    history_bytes: int = 0
    # msgpack encodings made so far, by offset (dropped with their message).
    packed: dict[int, bytes] = field(default_factory=dict)
    # Whether anyone has subscribed in this epoch: until then nobody knows the epoch, so
    # nobody can ever recover from this history (see Hub.has_audience).
    audience: bool = False

    def text(self, retained: _Retained) -> str:
        """The message's JSON text, made (and kept in the history) if it was lazy."""
        text = retained[_TEXT]
        if text is not None:
            return text
        produce = retained[_PRODUCE]
        assert produce is not None
        offset = retained[_OFFSET]
        encoded = _JSON.encode(message_frame(self.name, offset, produce()))
        assert isinstance(encoded, str)
        history = self.history
        index = offset - history[0][_OFFSET] if history else -1
        if 0 <= index < len(history) and history[index][_OFFSET] == offset:
            history[index] = (offset, retained[_AT], encoded, retained[_SIZE], None)
        return encoded

    def encode(self, retained: _Retained, codec: Codec) -> Encoded:
        if not codec.binary:
            return self.text(retained)
        offset = retained[_OFFSET]
        packed = self.packed.get(offset)
        if packed is None:
            made = codec.encode(json.loads(self.text(retained)))
            assert isinstance(made, bytes)
            packed = self.packed[offset] = made
        return packed

    subscribers: set[Subscriber] = field(default_factory=set)


class Hub:
    """The in-process :class:`~realtime.channels.bus.Bus`: per-channel epoch, offset and history.

    Args:
        history: what each channel keeps for clients that resume (messages, seconds, encoded
            bytes; a progress document is a few KiB, so without the byte bound 1,000 of them
            per busy patient would add up to many GiB).
        clock: a monotonic clock, injected for tests.
    """

    def __init__(self, history: History, clock: Callable[[], float] = time.monotonic) -> None:
        self._history = history
        self._clock = clock
        self._channels: dict[str, _Channel] = {}
        self._memberships: dict[Subscriber, set[str]] = {}
        self.messages_published = 0
        self.frames_delivered = 0
        self.slow_consumers_dropped = 0

    def _channel(self, name: str) -> _Channel:
        channel = self._channels.get(name)
        if channel is None:
            channel = self._channels[name] = _Channel(name, secrets.token_hex(6))
        return channel

    def _expire(self, channel: _Channel, now: float) -> None:
        history = channel.history
        keep = self._history
        horizon = now - keep.history_ttl_s
        while history and (
            len(history) > keep.history_size
            or history[0][_AT] < horizon
            or channel.history_bytes > keep.history_max_bytes
        ):
            dropped = history.popleft()
            channel.history_bytes -= dropped[_SIZE]
            if channel.packed:
                channel.packed.pop(dropped[_OFFSET], None)

    def has_audience(self, name: str) -> bool:
        """Whether the channel has had a subscriber in its current epoch.

        A channel that never had one has an epoch nobody was told (only ``subscribed`` reveals
        it), so no client can hold a position in it, and its first subscriber gets a snapshot
        with ``recovered: false`` whatever the history holds. Publishers of messages that only
        matter to listeners and to recovery (``state``, ``series``) skip such channels.
        """
        channel = self._channels.get(name)
        return channel is not None and channel.audience

    def position(self, name: str) -> tuple[str, int]:
        channel = self._channel(name)
        return channel.epoch, channel.offset

    def publish(self, name: str, data: Payload) -> int:
        """Retain and fan out one message; returns its offset."""
        channel = self._channel(name)
        frame = message_frame(name, channel.offset + 1, data)
        encoded = _JSON.encode(frame)
        assert isinstance(encoded, str)
        return self._retain(channel, encoded, len(encoded), None)

    def publish_lazy(self, name: str, produce: Callable[[], Payload]) -> int:
        """Like :meth:`publish`, but ``produce`` runs only when someone reads the message.

        For messages that always carry the latest values (``state``): made at once for live
        subscribers, later for a client that recovers it, never for nobody.
        """
        return self._retain(self._channel(name), None, LAZY_SIZE_HINT, produce)

    def _retain(
        self,
        channel: _Channel,
        encoded: str | None,
        size: int,
        produce: Callable[[], Payload] | None,
    ) -> int:
        channel.offset += 1
        now = self._clock()
        retained: _Retained = (channel.offset, now, encoded, size, produce)
        channel.history.append(retained)
        channel.history_bytes += size
        self._expire(channel, now)
        self.messages_published += 1
        overflowing: list[Subscriber] = []
        for subscriber in channel.subscribers:
            if subscriber.offer(channel.encode(retained, subscriber.codec)):
                self.frames_delivered += 1
            else:
                overflowing.append(subscriber)
        for subscriber in overflowing:
            self.unsubscribe_all(subscriber)
            self.slow_consumers_dropped += 1
            subscriber.overflowed()
        return channel.offset

    def subscribe(self, subscriber: Subscriber, name: str, since: Since | None) -> Attachment:
        """Subscribe, and recover what was missed since ``since`` when the history allows."""
        channel = self._channel(name)
        self._expire(channel, self._clock())
        channel.audience = True
        channel.subscribers.add(subscriber)
        self._memberships.setdefault(subscriber, set()).add(name)
        missed: list[Encoded] = []
        recovered = False
        if since is not None and since.epoch == channel.epoch and since.offset <= channel.offset:
            oldest = channel.history[0][_OFFSET] if channel.history else channel.offset + 1
            if since.offset + 1 >= oldest:
                # A copy: making a lazy message writes its text back into the history.
                missed = [
                    channel.encode(retained, subscriber.codec)
                    for retained in list(channel.history)
                    if retained[_OFFSET] > since.offset
                ]
                recovered = True
        return Attachment(channel.epoch, channel.offset, recovered, missed)

    def unsubscribe(self, subscriber: Subscriber, name: str) -> bool:
        channel = self._channels.get(name)
        if channel is None or subscriber not in channel.subscribers:
            return False
        channel.subscribers.discard(subscriber)
        names = self._memberships.get(subscriber)
        if names is not None:
            names.discard(name)
            if not names:
                del self._memberships[subscriber]
        return True

    def unsubscribe_all(self, subscriber: Subscriber) -> None:
        for name in self._memberships.pop(subscriber, set()):
            channel = self._channels.get(name)
            if channel is not None:
                channel.subscribers.discard(subscriber)

    # The names the hub's own tests and callers on the older layout use.
    attach = subscribe
    detach = unsubscribe
    detach_all = unsubscribe_all

    def subscriber_count(self) -> int:
        return len(self._memberships)
