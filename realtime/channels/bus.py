"""The bus seam: channel messages out, subscriptions in, whichever process holds the channels.

The service, the fan-out and the connections publish and subscribe through :class:`Bus` only.
Today's implementation is the in-process :class:`realtime.channels.hub.Hub`; a cluster mode
would put a distributed log (NATS JetStream, say) behind the same calls, keeping each
channel's ``epoch``/``offset`` contract (``PROTOCOL.md`` section 4, recovery with ``since``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from realtime.protocol import Codec, Since

Encoded = str | bytes
"""A frame encoded for one codec: text for JSON, bytes for msgpack."""

Payload = dict[str, Any]
"""A message's ``data`` (``PROTOCOL.md`` section 4, ``message``)."""


class Subscriber(Protocol):
    """A connection as the bus sees it."""

    codec: Codec

    def offer(self, encoded: Encoded) -> bool:
        """Queue a frame without waiting; ``False`` when the queue is full."""
        ...

    def overflowed(self) -> None:
        """The subscriber's queue overflowed; it has been dropped from every channel."""
        ...


@dataclass(frozen=True, slots=True)
class Attachment:
    """The result of subscribing: the channel's position and any recovered messages."""

    epoch: str
    offset: int
    recovered: bool
    missed: list[Encoded]


class Bus(Protocol):
    """Publish a channel message; subscribe a connection from a position."""

    messages_published: int
    frames_delivered: int

    def publish(self, channel: str, message: Payload) -> int:
        """Retain and deliver one message; returns its offset in the channel."""
        ...

    def publish_lazy(self, channel: str, produce: Callable[[], Payload]) -> int:
        """Like :meth:`publish`, but the message is made only when someone reads it."""
        ...

    def has_audience(self, channel: str) -> bool:
        """Whether anyone could hold a position in the channel (anyone ever subscribed)."""
        ...

    def subscribe(self, subscriber: Subscriber, channel: str, since: Since | None) -> Attachment:
        """Deliver the channel's messages from now on, and what was missed since ``since``."""
        ...

    def unsubscribe(self, subscriber: Subscriber, channel: str) -> bool:
        """Stop delivering the channel; ``False`` when it was not subscribed."""
        ...

    def unsubscribe_all(self, subscriber: Subscriber) -> None:
        """Stop delivering every channel to this subscriber (it is going away)."""
        ...
