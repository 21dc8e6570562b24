"""The two encodings of ``PROTOCOL.md`` section 4: JSON text frames and msgpack binary frames.

Part of the wire protocol (:mod:`realtime.protocol` re-exports it); like it, no I/O and
nothing of the server, so clients use it as it is.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

import msgpack

from realtime.errors import BadFrame, FrameError

SUBPROTOCOL_JSON: Final = "progress.v1.json"
SUBPROTOCOL_MSGPACK: Final = "progress.v1.msgpack"
SUBPROTOCOLS: Final = (SUBPROTOCOL_JSON, SUBPROTOCOL_MSGPACK)

Frame = dict[str, Any]
"""A decoded frame: a mapping with a ``type``."""


class Codec:
    """Encodes and decodes frames for one subprotocol."""

    def __init__(self, subprotocol: str) -> None:
        if subprotocol not in SUBPROTOCOLS:
            raise ValueError(f"unknown subprotocol {subprotocol!r}")
        self.subprotocol = subprotocol
        self.binary = subprotocol == SUBPROTOCOL_MSGPACK

    def encode(self, frame: Mapping[str, Any]) -> str | bytes:
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
                    raise BadFrame("text frame on the msgpack subprotocol")
                value = msgpack.unpackb(data, raw=False, strict_map_key=True)
            else:
                value = json.loads(data)
        except FrameError:
            raise
        except (ValueError, TypeError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError):
            kind = "msgpack" if self.binary else "JSON"
            raise BadFrame(f"frame is not valid {kind}") from None
        except Exception:  # noqa: BLE001 - msgpack raises assorted errors on hostile input
            raise BadFrame("frame could not be decoded") from None
        if not isinstance(value, dict):
            raise BadFrame("frame must be an object with a 'type'")
        if not self.binary and has_lone_surrogate(data, value):
            raise BadFrame(LONE_SURROGATE)
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


def utc_instant(instant: datetime) -> str:
    """How the hub writes every instant: RFC 3339 in UTC with a ``Z`` (contract section 7)."""
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")
