"""The wire format of ``PROTOCOL.md`` section 4: every shape that crosses the socket, typed once.

This module does no I/O and imports nothing of the server (only :mod:`realtime.codec` and
:mod:`realtime.errors`, which import nothing either), so Python clients (``clients/``) build
their frames from the same types the hub parses and answers with.

Theory of operation
-------------------
A connection picks one :class:`Codec` at the handshake (``progress.v1.json`` text frames or
``progress.v1.msgpack`` binary frames). Every frame is a mapping with a ``type``; the client's
frames are typed here as ``TypedDict`` s (:class:`PublishFrame`, :class:`SubscribeFrame`, …).
:func:`parse_client_frame` turns a decoded frame into one of the client frame models or raises
a :class:`~realtime.errors.FrameError` (``BadFrame``, ``TooLarge``, ``UnknownChannel``)
carrying the contract's error code; the connection answers that with an ``error`` frame and
stays open. Server frames are built by the ``*_frame`` functions and encoded once per codec,
however many subscribers receive them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Final, Generic, Literal, NotRequired, Protocol, TypeVar

from annotated_types import MaxLen, MinLen
from typing_extensions import TypedDict

from realtime.channelname import ESCALATIONS_CHANNEL as ESCALATIONS_CHANNEL
from realtime.channelname import ChannelName as ChannelName
from realtime.channelname import parse_channel
from realtime.channelname import patient_channel as patient_channel
from realtime.channelname import therapist_channel as therapist_channel
from realtime.codec import SUBPROTOCOL_JSON as SUBPROTOCOL_JSON
from realtime.codec import SUBPROTOCOL_MSGPACK as SUBPROTOCOL_MSGPACK
from realtime.codec import Codec as Codec
from realtime.codec import Frame as Frame
from realtime.codec import choose_subprotocol as choose_subprotocol
from realtime.codec import utc_instant
from realtime.errors import ERROR_CODES as ERROR_CODES
from realtime.errors import BadFrame, TooLarge
from realtime.errors import FrameError as FrameError

CLOSE_NORMAL: Final = 1000
CLOSE_GOING_AWAY: Final = 1001
CLOSE_TOO_LARGE: Final = 1009
CLOSE_SLOW_CONSUMER: Final = 4000
CLOSE_UNAUTHORIZED: Final = 4001
CLOSE_TOO_MANY_BAD_FRAMES: Final = 4008

DEFAULT_MAX_EVENTS_PER_PUBLISH: Final = 500
MAX_REF_LENGTH: Final = 128
MAX_MILESTONE_IDS: Final = 500
MAX_ALERT_IDS: Final = 500
MAX_NOTE_LENGTH: Final = 2_000

# -- wire shapes: what crosses the socket, typed once for the hub and its clients ----------

E = TypeVar("E")


class SinceWire(TypedDict):
    epoch: str
    offset: int


class PublishFrame(TypedDict, Generic[E]):
    """``publish``; ``E`` is how an event is typed (a plain mapping for clients).

    The hub's fast path (:mod:`realtime.ws.ingest`) validates exactly this shape.
    """

    type: Literal["publish"]
    ref: NotRequired[Annotated[str, MaxLen(MAX_REF_LENGTH)] | None]
    events: Annotated[list[E], MinLen(1)]


class SubscribeFrame(TypedDict):
    type: Literal["subscribe"]
    channel: str
    since: NotRequired[SinceWire]
    ref: NotRequired[str]


class UnsubscribeFrame(TypedDict):
    type: Literal["unsubscribe"]
    channel: str
    ref: NotRequired[str]


class CelebratedFrame(TypedDict):
    type: Literal["celebrated"]
    milestone_ids: list[str]
    ref: NotRequired[str]


class PingFrame(TypedDict):
    type: Literal["ping"]
    ref: NotRequired[str]


class Rejection(TypedDict):
    """One refused event of an ``ack`` (its ``code`` is one of :data:`ERROR_CODES`)."""

    id: str
    code: str
    detail: str


class AckFields(TypedDict):
    """The answer to a publish: the WebSocket ``ack``'s fields and ``POST /api/v1/events``."""

    accepted: list[str]
    duplicates: list[str]
    rejected: list[Rejection]


class MilestoneLike(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def rule(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def achieved_at(self) -> datetime: ...


class MilestoneWire(TypedDict):
    id: str
    rule: str
    title: str
    achieved_at: str


class CelebrationMessage(TypedDict):
    kind: Literal["celebration"]
    milestone: MilestoneWire


def milestone_to_wire(milestone: MilestoneLike) -> MilestoneWire:
    return {
        "id": milestone.id,
        "rule": milestone.rule,
        "title": milestone.title,
        "achieved_at": utc_instant(milestone.achieved_at),
    }


def celebration_message(milestone: MilestoneLike) -> CelebrationMessage:
    return {"kind": "celebration", "milestone": milestone_to_wire(milestone)}


@dataclass(frozen=True, slots=True)
class Since:
    epoch: str
    offset: int


@dataclass(frozen=True, slots=True)
class WithRef:
    """What every client frame may carry: the ``ref`` its answer or error echoes."""

    ref: str | None


@dataclass(frozen=True, slots=True)
class Publish(WithRef):
    events: list[Any]


@dataclass(frozen=True, slots=True)
class Subscribe(WithRef):
    channel: ChannelName
    since: Since | None


@dataclass(frozen=True, slots=True)
class Unsubscribe(WithRef):
    channel: ChannelName


@dataclass(frozen=True, slots=True)
class Celebrated(WithRef):
    milestone_ids: list[str]


@dataclass(frozen=True, slots=True)
class Ping(WithRef):
    """``ping``: nothing but its ``ref``."""


@dataclass(frozen=True, slots=True)
class AcknowledgeAlert(WithRef):
    """``acknowledge_alert`` (section 7): answered with ``ok`` and the ids it changed."""

    alert_ids: list[str]
    note: str | None


ClientFrame = Publish | Subscribe | Unsubscribe | Celebrated | Ping | AcknowledgeAlert


def parse_note(note: Any, ref: str | None = None) -> str | None:
    """An acknowledgement's optional note; ``bad_frame`` unless a string up to the limit."""
    if note is None:
        return None
    if not isinstance(note, str) or len(note) > MAX_NOTE_LENGTH:
        raise BadFrame(f"note: must be a string of at most {MAX_NOTE_LENGTH} characters", ref)
    return note


def decode_error_ref(frame: Frame) -> str | None:
    """The frame's ``ref`` if it is usable, so even a refused frame's error can echo it."""
    ref = frame.get("ref")
    return ref if isinstance(ref, str) and len(ref) <= MAX_REF_LENGTH else None


def _ref_of(frame: Frame) -> str | None:
    ref = frame.get("ref")
    if ref is None:
        return None
    if not isinstance(ref, str) or len(ref) > MAX_REF_LENGTH:
        raise BadFrame(f"ref: must be a string of at most {MAX_REF_LENGTH}")
    return ref


def _ids(frame: Frame, name: str, most: int, least: int, ref: str | None) -> list[str]:
    ids = frame.get(name)
    if (
        not isinstance(ids, list)
        or not least <= len(ids) <= most
        or not all(isinstance(item, str) for item in ids)
    ):
        raise BadFrame(f"{name}: must be a list of {least} to {most} strings", ref)
    return ids


def _since_of(value: Any, ref: str | None) -> Since | None:
    if value is None:
        return None
    if (
        not isinstance(value, dict)
        or not isinstance(value.get("epoch"), str)
        or not isinstance(value.get("offset"), int)
        or isinstance(value.get("offset"), bool)
        or value["offset"] < 0
    ):
        raise BadFrame("since: must be {'epoch': string, 'offset': integer >= 0}", ref)
    return Since(value["epoch"], value["offset"])


def parse_client_frame(
    frame: Frame, *, max_events: int = DEFAULT_MAX_EVENTS_PER_PUBLISH
) -> ClientFrame:
    """Turn a decoded mapping into a client frame.

    Events inside ``publish`` are not validated here: each is judged alone later, so one bad
    event never sinks the batch.

    Raises:
        FrameError: with the contract's code and the frame's ``ref`` when it had a valid one.
    """
    ref = _ref_of(frame)
    kind = frame.get("type")
    if kind == "publish":
        events = frame.get("events")
        if not isinstance(events, list) or not events:
            raise BadFrame("events: must be a non-empty list", ref)
        if len(events) > max_events:
            raise TooLarge(f"events: at most {max_events} per publish, got {len(events)}", ref)
        return Publish(ref, events)
    if kind == "subscribe":
        return Subscribe(
            ref, parse_channel(frame.get("channel"), ref), _since_of(frame.get("since"), ref)
        )
    if kind == "unsubscribe":
        return Unsubscribe(ref, parse_channel(frame.get("channel"), ref))
    if kind == "celebrated":
        return Celebrated(ref, _ids(frame, "milestone_ids", MAX_MILESTONE_IDS, 0, ref))
    if kind == "ping":
        return Ping(ref)
    if kind == "acknowledge_alert":
        ids = _ids(frame, "alert_ids", MAX_ALERT_IDS, 1, ref)
        return AcknowledgeAlert(ref, ids, parse_note(frame.get("note"), ref))
    if kind is None:
        raise BadFrame("type: field required", ref)
    raise BadFrame(
        f"type: unknown frame type {str(kind)[:40]!r}; expected publish, subscribe, "
        "unsubscribe, celebrated, acknowledge_alert or ping",
        ref,
    )


def _with_ref(frame: Frame, ref: str | None) -> Frame:
    if ref is not None:
        frame["ref"] = ref
    return frame


def welcome_frame(connection_id: str, role: str, sub: str, limits: dict[str, Any]) -> Frame:
    return {
        "type": "welcome",
        "connection_id": connection_id,
        "role": role,
        "sub": sub,
        "limits": limits,
    }


def error_frame(code: str, detail: str, ref: str | None = None) -> Frame:
    return _with_ref({"type": "error", "code": code, "detail": detail}, ref)


def ack_frame(
    ref: str | None,
    accepted: list[str],
    duplicates: list[str],
    rejected: list[Rejection],
) -> Frame:
    return _with_ref(
        {"type": "ack", "accepted": accepted, "duplicates": duplicates, "rejected": rejected},
        ref,
    )


def subscribed_frame(
    ref: str | None,
    channel: str,
    epoch: str,
    offset: int,
    recovered: bool,
    snapshot: dict[str, Any],
) -> Frame:
    return _with_ref(
        {
            "type": "subscribed",
            "channel": channel,
            "epoch": epoch,
            "offset": offset,
            "recovered": recovered,
            "snapshot": snapshot,
        },
        ref,
    )


def message_frame(channel: str, offset: int, data: dict[str, Any]) -> Frame:
    return {"type": "message", "channel": channel, "offset": offset, "data": data}


def unsubscribed_frame(ref: str | None, channel: str) -> Frame:
    return _with_ref({"type": "unsubscribed", "channel": channel}, ref)


def ok_frame(ref: str | None, **fields: Any) -> Frame:
    return _with_ref({"type": "ok", **fields}, ref)


def pong_frame(ref: str | None) -> Frame:
    return _with_ref({"type": "pong"}, ref)


# -- client frames, as clients build them (the inverse of parse_client_frame) -------------------


def publish_frame(events: list[dict[str, Any]], ref: str | None = None) -> Frame:
    return _with_ref({"type": "publish", "events": events}, ref)


def subscribe_frame(channel: str, since: Since | None = None, ref: str | None = None) -> Frame:
    frame: Frame = {"type": "subscribe", "channel": channel}
    if since is not None:
        frame["since"] = {"epoch": since.epoch, "offset": since.offset}
    return _with_ref(frame, ref)


def unsubscribe_frame(channel: str, ref: str | None = None) -> Frame:
    return _with_ref({"type": "unsubscribe", "channel": channel}, ref)


def celebrated_frame(milestone_ids: list[str], ref: str | None = None) -> Frame:
    return _with_ref({"type": "celebrated", "milestone_ids": milestone_ids}, ref)


def acknowledge_alert_frame(
    alert_ids: list[str], note: str | None = None, ref: str | None = None
) -> Frame:
    """``PROTOCOL.md`` section 7: acknowledge alerts, with an optional note."""
    frame: Frame = {"type": "acknowledge_alert", "alert_ids": alert_ids}
    if note is not None:
        frame["note"] = note
    return _with_ref(frame, ref)


def ping_frame(ref: str | None = None) -> Frame:
    return _with_ref({"type": "ping"}, ref)
