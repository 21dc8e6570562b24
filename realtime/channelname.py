"""Channel names (``PROTOCOL.md`` sections 4 and 7): ``patient:{id}``, ``therapist:{id}``,
``clinic:escalations``. Part of the wire format: :mod:`realtime.protocol` re-exports them, and
like it this module imports nothing of the server.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Literal, cast

from realtime.errors import BadFrame, UnknownChannel

MAX_CHANNEL_LENGTH: Final = 160

ChannelKind = Literal["patient", "therapist", "clinic"]
CHANNEL_KINDS: Final[tuple[ChannelKind, ...]] = ("patient", "therapist", "clinic")
ESCALATIONS_CHANNEL: Final = "clinic:escalations"
"""Where every escalated critical alert also goes (readable by ``admin``)."""


def patient_channel(patient_id: str) -> str:
    return f"patient:{patient_id}"


def therapist_channel(therapist_id: str) -> str:
    return f"therapist:{therapist_id}"


@dataclass(frozen=True, slots=True)
class ChannelName:
    """A parsed channel: ``patient:{id}`` or ``therapist:{id}``."""

    kind: ChannelKind
    owner: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.owner}"


def parse_channel(name: Any, ref: str | None = None) -> ChannelName:
    """Parse a channel name.

    Raises:
        FrameError: ``bad_frame`` when it is not a string, ``unknown_channel`` otherwise.
    """
    if not isinstance(name, str) or not name:
        raise BadFrame("channel: must be a non-empty string", ref)
    kind, _, owner = name.partition(":")
    known = {"patient": "patient", "therapist": "therapist", "clinic": "clinic"}.get(kind)
    if known is None or not owner or len(name) > MAX_CHANNEL_LENGTH or (
        known == "clinic" and name != ESCALATIONS_CHANNEL
    ):  # fmt: skip
        use = f"patient:{{id}}, therapist:{{id}} or {ESCALATIONS_CHANNEL}"
        raise UnknownChannel(f"no channel {name!r}: use {use}", ref)
    return ChannelName(cast(ChannelKind, known), owner)
