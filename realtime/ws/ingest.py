"""The fast path for ``publish`` frames: one pydantic pass from the raw JSON text to events.

A JSON ``publish`` frame is validated straight from its text, envelope and every event in one
call, with no ``json.loads`` into dicts first and no per-event round trips into pydantic. When
anything in the frame is off (a bad event, a frame of another type, a ``ref`` too long, more
events than allowed, text that is not JSON), this path answers ``None`` and the connection falls
back to the general one (:func:`realtime.protocol.parse_client_frame` then
:func:`domain.events.parse_events`), which judges each event alone and explains each refusal
field by field. The fast path therefore never refuses anything itself: it only accepts frames
the general path would accept in full, with the same events (a property test checks this).
"""

from __future__ import annotations

from pydantic import TypeAdapter, ValidationError

from domain.events import Event, TaggedEvent
from realtime.protocol import PublishFrame

# Cheap pre-check so other frame types (ping, subscribe) skip a validation bound to fail.
_PUBLISH_MARK = '"publish"'

# The contract's publish frame, with each event validated as the domain's tagged union.
_FRAME_ADAPTER: TypeAdapter[PublishFrame[TaggedEvent]] = TypeAdapter(PublishFrame[TaggedEvent])


def fast_publish(text: str, max_events: int) -> tuple[str | None, list[Event]] | None:
    """``(ref, events)`` when ``text`` is a ``publish`` frame whose events are all valid.

    Args:
        text: one JSON text frame as received.
        max_events: the per-publish limit; a frame over it is left to the general path.

    Returns:
        The frame's ``ref`` and its events, or ``None`` when the general path must judge it.
    """
    if _PUBLISH_MARK not in text:
        return None
    try:
        frame = _FRAME_ADAPTER.validate_json(text)
    except ValidationError:
        return None
    events: list[Event] = frame["events"]
    if len(events) > max_events:
        return None
    return frame.get("ref"), events
