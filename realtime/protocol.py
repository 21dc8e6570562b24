"""The wire format of ``PROTOCOL.md`` section 4: codecs and frames, bytes in and frames out.

This module does no I/O and imports nothing of Starlette or uvicorn, so Python clients
(``clients/``) use it as it is, without pulling in the server.

Theory of operation
-------------------
A connection picks one :class:`Codec` at the handshake (``progress.v1.json`` text frames or
``progress.v1.msgpack`` binary frames). Every frame is a mapping with a ``type``.
:func:`decode_client_frame` turns raw frame data into one of the client frame models or raises
:class:`FrameError` carrying the contract's error code; the connection answers that with an
``error`` frame and stays open. Server frames are built by the ``*_frame`` functions as plain
mappings and encoded once per codec, however many subscribers receive them.

    FrameError            the peer sent something the contract does not allow
    ├── code "bad_frame"      undecodable data, unknown type, missing or wrong fields
    ├── code "too_large"      more events in one publish than the limit
    └── code "unknown_channel" a channel name of no known kind
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Final, Literal

import msgpack

SUBPROTOCOL_JSON: Final = "progress.v1.json"
SUBPROTOCOL_MSGPACK: Final = "progress.v1.msgpack"
SUBPROTOCOLS: Final = (SUBPROTOCOL_JSON, SUBPROTOCOL_MSGPACK)

ERROR_CODES: Final = (
    "bad_frame",
    "invalid_event",
    "unknown_patient",
    "forbidden",
    "unknown_channel",
    "rate_limited",
    "too_large",
    "internal",
)
CLOSE_NORMAL: Final = 1000
CLOSE_GOING_AWAY: Final = 1001
CLOSE_TOO_LARGE: Final = 1009
CLOSE_SLOW_CONSUMER: Final = 4000
CLOSE_UNAUTHORIZED: Final = 4001
CLOSE_TOO_MANY_BAD_FRAMES: Final = 4008

DEFAULT_MAX_EVENTS_PER_PUBLISH: Final = 500
MAX_REF_LENGTH: Final = 128
MAX_CHANNEL_LENGTH: Final = 160
MAX_MILESTONE_IDS: Final = 500

ErrorCode = Literal[
    "bad_frame",
    "invalid_event",
    "unknown_patient",
    "forbidden",
    "unknown_channel",
    "rate_limited",
    "too_large",
    "internal",
]
Frame = dict[str, Any]


class FrameError(Exception):
    """The peer broke the contract; answered with an ``error`` frame of ``code``."""

    def __init__(self, code: ErrorCode, detail: str, ref: str | None = None) -> None:
        super().__init__(detail)
        self.code: ErrorCode = code
        self.detail = detail
        self.ref = ref


class Codec:
    """Encodes and decodes frames for one subprotocol."""

    def __init__(self, subprotocol: str) -> None:
        if subprotocol not in SUBPROTOCOLS:
            raise ValueError(f"unknown subprotocol {subprotocol!r}")
        self.subprotocol = subprotocol
        self.binary = subprotocol == SUBPROTOCOL_MSGPACK

    def encode(self, frame: Frame) -> str | bytes:
        if self.binary:
            packed: bytes = msgpack.packb(frame, use_bin_type=True)
            return packed
        return json.dumps(frame, separators=(",", ":"), ensure_ascii=False)

    def decode(self, data: str | bytes) -> Frame:
        """Decode one frame.

        Raises:
            FrameError: ``bad_frame`` for anything that is not one encoded mapping.
        """
        try:
            if self.binary:
                if isinstance(data, str):
                    raise FrameError("bad_frame", "text frame on the msgpack subprotocol")
                value = msgpack.unpackb(data, raw=False, strict_map_key=True)
            else:
                value = json.loads(data)
        except FrameError:
            raise
        except (ValueError, TypeError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError):
            kind = "msgpack" if self.binary else "JSON"
            raise FrameError("bad_frame", f"frame is not valid {kind}") from None
        except Exception:  # noqa: BLE001 - msgpack raises assorted errors on hostile input
            raise FrameError("bad_frame", "frame could not be decoded") from None
        if not isinstance(value, dict):
            raise FrameError("bad_frame", "frame must be an object with a 'type'")
        if not self.binary and has_lone_surrogate(data, value):
            raise FrameError("bad_frame", LONE_SURROGATE)
        return value


LONE_SURROGATE: Final = "a string holds a lone surrogate escape (\\ud800-\\udfff): not Unicode text"
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def has_lone_surrogate(text: str | bytes, value: Any) -> bool:
    """Whether JSON ``text``, decoded as ``value``, smuggled a lone surrogate into a string.

    JSON lets ``\\ud800`` through unpaired, but such a string cannot be encoded as UTF-8 again,
    so it could be neither stored nor echoed. Only text with a surrogate escape is walked (a
    paired escape, an emoji written as ``\\ud83d\\ude00``, passes the walk); the walk is
    iterative because it may follow JSON nested as deep as the parser allowed.
    """
    # Bytes may also carry surrogates encoded raw (``json.loads`` decodes them with
    # ``surrogatepass``), so bytes are always walked.
    if isinstance(text, str) and _SURROGATE_ESCAPE.search(text) is None:
        return False
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


def choose_subprotocol(offered: list[str]) -> str | None:
    """The first subprotocol the client offered that we speak; ``None`` means the default."""
    for name in offered:
        if name in SUBPROTOCOLS:
            return name
    return None


@dataclass(frozen=True, slots=True)
class ChannelName:
    """A parsed channel: ``patient:{id}`` or ``therapist:{id}``."""

    kind: Literal["patient", "therapist"]
    owner: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.owner}"


def parse_channel(name: Any, ref: str | None = None) -> ChannelName:
    """Parse a channel name.

    Raises:
        FrameError: ``bad_frame`` when it is not a string, ``unknown_channel`` otherwise.
    """
    if not isinstance(name, str) or not name:
        raise FrameError("bad_frame", "channel: must be a non-empty string", ref)
    kind, _, owner = name.partition(":")
    if kind not in ("patient", "therapist") or not owner or len(name) > MAX_CHANNEL_LENGTH:
        raise FrameError(
            "unknown_channel", f"no channel {name!r}: use patient:{{id}} or therapist:{{id}}", ref
        )
    return ChannelName("patient" if kind == "patient" else "therapist", owner)


@dataclass(frozen=True, slots=True)
class Since:
    epoch: str
    offset: int


@dataclass(frozen=True, slots=True)
class Publish:
    ref: str | None
    events: list[Any]


@dataclass(frozen=True, slots=True)
class Subscribe:
    ref: str | None
    channel: ChannelName
    since: Since | None


@dataclass(frozen=True, slots=True)
class Unsubscribe:
    ref: str | None
    channel: ChannelName


@dataclass(frozen=True, slots=True)
class Celebrated:
    ref: str | None
    milestone_ids: list[str]


@dataclass(frozen=True, slots=True)
class Ping:
    ref: str | None


ClientFrame = Publish | Subscribe | Unsubscribe | Celebrated | Ping


def decode_error_ref(frame: Frame) -> str | None:
    """The frame's ``ref`` if it is usable, so even a refused frame's error can echo it."""
    ref = frame.get("ref")
    return ref if isinstance(ref, str) and len(ref) <= MAX_REF_LENGTH else None


def _ref_of(frame: Frame) -> str | None:
    ref = frame.get("ref")
    if ref is None:
        return None
    if not isinstance(ref, str) or len(ref) > MAX_REF_LENGTH:
        raise FrameError("bad_frame", f"ref: must be a string of at most {MAX_REF_LENGTH}")
    return ref


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
        raise FrameError(
            "bad_frame", "since: must be {'epoch': string, 'offset': integer >= 0}", ref
        )
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
            raise FrameError("bad_frame", "events: must be a non-empty list", ref)
        if len(events) > max_events:
            raise FrameError(
                "too_large", f"events: at most {max_events} per publish, got {len(events)}", ref
            )
        return Publish(ref, events)
    if kind == "subscribe":
        return Subscribe(
            ref, parse_channel(frame.get("channel"), ref), _since_of(frame.get("since"), ref)
        )
    if kind == "unsubscribe":
        return Unsubscribe(ref, parse_channel(frame.get("channel"), ref))
    if kind == "celebrated":
        ids = frame.get("milestone_ids")
        if (
            not isinstance(ids, list)
            or len(ids) > MAX_MILESTONE_IDS
            or not all(isinstance(item, str) for item in ids)
        ):
            raise FrameError(
                "bad_frame",
                f"milestone_ids: must be a list of at most {MAX_MILESTONE_IDS} strings",
                ref,
            )
        return Celebrated(ref, ids)
    if kind == "ping":
        return Ping(ref)
    if kind is None:
        raise FrameError("bad_frame", "type: field required", ref)
    raise FrameError(
        "bad_frame",
        f"type: unknown frame type {str(kind)[:40]!r}; expected publish, subscribe, "
        "unsubscribe, celebrated or ping",
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


def error_frame(code: ErrorCode, detail: str, ref: str | None = None) -> Frame:
    return _with_ref({"type": "error", "code": code, "detail": detail}, ref)


def ack_frame(
    ref: str | None,
    accepted: list[str],
    duplicates: list[str],
    rejected: list[dict[str, str]],
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
