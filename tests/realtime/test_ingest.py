"""The publish fast path: one pydantic pass from JSON text, with the per-event path behind it.

Properties: the fast path accepts a frame only when the general path (decode, frame checks,
each event alone) accepts every event of it, and then yields the very same events; a frame the
general path would accept in full always takes the fast path, so a fast path that silently
stopped working would fail here too. ``parse_events`` judges a batch exactly as
``parse_event`` judges each of its events.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.errors import InvalidEvent
from domain.events import Event, RejectedEvent, parse_event, parse_events
from realtime.protocol import Codec, FrameError, Publish, parse_client_frame
from realtime.ws.ingest import fast_publish
from tests.support import session_events

MAX_EVENTS = 5
VALID_EVENTS: list[dict[str, Any]] = [
    *session_events("p1", "s1", "2026-11-20"),
    {"id": "m1", "kind": "mood_checkin", "patient_id": "p1", "at": "2026-11-20T09:00:00Z"}
    | {"score": 3},
    {
        "id": "x1",
        "kind": "exercise_completed",
        "patient_id": "p1",
        "at": "2026-11-20T09:30:00.250+05:30",
        "exercise": "CBT/Thought-Record",
        "duration_s": 300,
    },
    {
        "id": "g1",
        "kind": "goal_updated",
        "patient_id": "p1",
        "at": "2026-03-29T01:30:00-07:00",
        "goal_id": "g",
        "status": "completed",
        "unknown_extension": {"ignored": True},
    },
]
scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from(
        [
            "2026-11-20T10:00:00",
            "2026-11-20T10:00:00Z",
            "2026-11-20 10:00:00+01:00",
            "2026-11-20",
            # where pydantic's RFC 3339 parser and datetime.fromisoformat part ways
            "2026-11-20_10:00:00Z",
            "20261120T100000Z",
            "2026-11-20t10:00z",
            "2026-11-20T10:00:00.123456789+01",
            "0001-01-01T00:00:00+14:00",
            "2200-01-01T00:00:00Z",
            "1899-12-31T23:59:59.999999Z",
            "SKILL_ACQUIRED",
            "completed",
            "mood_checkin",
            "session_ended",
            "a" * 65,
            "",
        ]
    )
)
values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=6,
)
field_names = st.sampled_from(
    [
        "id",
        "kind",
        "patient_id",
        "at",
        "score",
        "duration_s",
        "topics",
        "status",
        "mood_post",
        "exercise",
        "session_id",
        "marker",
    ]
)


@st.composite
def events(draw: st.DrawFn) -> Any:
    event = dict(draw(st.sampled_from(VALID_EVENTS)))
    for _ in range(draw(st.integers(0, 2))):
        name = draw(field_names)
        if draw(st.booleans()):
            event.pop(name, None)
        else:
            event[name] = draw(values)
    return event


@st.composite
def frames(draw: st.DrawFn) -> dict[str, Any]:
    frame: dict[str, Any] = {
        "type": draw(st.sampled_from(["publish", "publish", "publish", "ping"])),
        "events": draw(st.lists(events(), max_size=MAX_EVENTS + 1)),
    }
    if draw(st.booleans()):
        frame["ref"] = draw(st.one_of(st.text(max_size=130), st.integers(), st.none()))
    return frame


def general_path(text: str) -> tuple[str | None, list[Event | RejectedEvent]] | None:
    """What the connection does without the fast path; ``None`` when it is no publish."""
    try:
        frame = parse_client_frame(Codec("progress.v1.json").decode(text), max_events=MAX_EVENTS)
    except FrameError:
        return None
    if not isinstance(frame, Publish):
        return None
    return frame.ref, parse_events(frame.events)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=frames())
def test_fast_path_accepts_only_frames_the_general_path_accepts_in_full(
    frame: dict[str, Any],
) -> None:
    # It may leave a valid frame to the general path (an instant written in ISO 8601's basic
    # format, see EDGE_INSTANTS), never take one the general path would refuse in part.
    text = json.dumps(frame)
    fast = fast_publish(text, MAX_EVENTS)
    general = general_path(text)
    fully_valid = general is not None and not any(
        isinstance(event, RejectedEvent) for event in general[1]
    )
    if fast is not None:
        assert fully_valid
        assert fast == general


EDGE_INSTANTS = [
    "2026-11-20T10:00:00+01:00",
    "2026-11-20t10:00z",  # a lowercase "z": pydantic takes it, fromisoformat does not
    "2026-11-20T10:00:00,5Z",
    "2026-11-20T10:00:00+01",
    "2026-11-20 10:00:00.123456789-05:00",
    "2026-11-20_10:00:00Z",  # pydantic's parser takes it, the general path does not
    "20261120T100000Z",  # the other way round
    "2026-11-20",
    "2026-11-20T10:00:00",
    "1900-01-01T04:59:59+05:00",
    "2199-12-31T23:59:59.999999Z",
    "2200-01-01T00:00:00Z",
    "0001-01-01T00:00:00+14:00",
]


@pytest.mark.parametrize("at", EDGE_INSTANTS)
@pytest.mark.parametrize("field", ["at", "scheduled_for"])
def test_the_fast_path_never_takes_an_instant_the_general_path_refuses(at: str, field: str) -> None:
    event = {"id": "s", "kind": "session_scheduled", "patient_id": "p1", "session_id": "s1"}
    event |= {"at": "2026-11-20T09:00:00Z", "scheduled_for": "2026-11-21T09:00:00Z", field: at}
    text = json.dumps({"type": "publish", "events": [event]})
    general = general_path(text)
    assert general is not None
    fast = fast_publish(text, MAX_EVENTS)
    if isinstance(general[1][0], RejectedEvent):
        assert fast is None
    elif fast is not None:
        assert fast == general


def test_fast_path_takes_valid_frames_and_leaves_everything_else() -> None:
    frame = {"type": "publish", "ref": "r", "events": VALID_EVENTS}
    published = fast_publish(json.dumps(frame), MAX_EVENTS)
    assert published is not None
    assert published[0] == "r"
    assert [event.id for event in published[1]] == [event["id"] for event in VALID_EVENTS]
    exercise = published[1][3]
    assert exercise.kind == "exercise_completed" and exercise.exercise == "cbt/thought-record"
    for text in (
        json.dumps({**frame, "events": [*VALID_EVENTS, {**VALID_EVENTS[0], "at": "soon"}]}),
        json.dumps({**frame, "events": VALID_EVENTS * 2}),  # over the limit: too_large
        json.dumps({**frame, "ref": "r" * 129}),
        json.dumps({**frame, "events": []}),
        json.dumps({"type": "ping", "ref": "publish"}),
        json.dumps(frame)[:-1],
        json.dumps(frame).replace('"p1"', '"\\ud800"', 1),  # a lone surrogate
    ):
        assert fast_publish(text, MAX_EVENTS) is None, text


def per_event(raw: Any) -> Event | tuple[str, str]:
    try:
        return parse_event(raw)
    except InvalidEvent as error:
        claimed = raw.get("id") if isinstance(raw, dict) else None
        return (claimed[:64] if isinstance(claimed, str) else "", str(error))


@settings(max_examples=800, deadline=None)
@given(raws=st.lists(st.one_of(events(), values), min_size=1, max_size=6))
def test_a_batch_is_judged_exactly_as_its_events_are_one_by_one(raws: list[Any]) -> None:
    judged = [
        event if not isinstance(event, RejectedEvent) else (event.id, event.detail)
        for event in parse_events(raws)
    ]
    assert judged == [per_event(raw) for raw in raws]


def test_a_bad_event_in_a_batch_gets_its_own_field_level_reasons() -> None:
    bad = {**VALID_EVENTS[1], "id": "bad", "mood_post": 11, "status": "finished"}
    parsed = parse_events([VALID_EVENTS[0], bad, VALID_EVENTS[2]])
    assert [getattr(event, "kind", None) for event in parsed] == [
        "session_started",
        None,
        "mood_checkin",
    ]
    rejected = parsed[1]
    assert isinstance(rejected, RejectedEvent) and rejected.id == "bad"
    assert "status:" in rejected.detail and "mood_post:" in rejected.detail
