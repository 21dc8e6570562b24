"""Event validation: every kind of PROTOCOL.md section 3, and field-level reasons."""

from __future__ import annotations

from typing import Any

import pytest

from domain.errors import InvalidEvent
from domain.events import EVENT_KINDS, event_to_wire, parse_event

BASE = {"id": "e1", "patient_id": "p1", "at": "2026-11-21T09:30:00+01:00"}

VALID: dict[str, dict[str, Any]] = {
    "session_scheduled": {"session_id": "s1", "scheduled_for": "2026-11-22T10:00:00Z"},
    "session_started": {"session_id": "s1", "mood_pre": 4},
    "session_ended": {
        "session_id": "s1",
        "status": "no_show",
        "duration_s": 0,
        "mood_post": 6,
        "topics": ["anxiety", "sleep"],
    },
    "exercise_completed": {"exercise": "mindfulness/breathing", "duration_s": 300.5},
    "progress_marker": {"marker": "SKILL_ACQUIRED", "session_id": "s1"},
    "mood_checkin": {"score": 10},
    "goal_updated": {"goal_id": "g1", "status": "in_progress"},
    "action_item_updated": {"item_id": "i1", "status": "done"},
    "measure_completed": {"instrument": "PHQ-9", "items": [0, 1, 2, 3, 0, 1, 2, 3, 1]},
}


def test_every_contract_kind_has_a_valid_example() -> None:
    assert set(VALID) == set(EVENT_KINDS)


@pytest.mark.parametrize("kind", EVENT_KINDS)
def test_each_kind_parses_and_round_trips_to_the_wire(kind: str) -> None:
    raw = {**BASE, "kind": kind, **VALID[kind]}
    parsed = parse_event(raw)
    assert parsed.kind == kind
    again = parse_event(event_to_wire(parsed))
    assert again == parsed


def reason(raw: Any) -> str:
    with pytest.raises(InvalidEvent) as caught:
        parse_event(raw)
    return str(caught.value)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"kind": "mood_checkin", "score": 11}, "score:"),
        ({"kind": "mood_checkin", "score": 0}, "score:"),
        ({"kind": "mood_checkin", "score": 5.5}, "score:"),
        ({"kind": "mood_checkin", "score": True}, "score:"),
        ({"kind": "session_started", "session_id": "s", "mood_pre": 12}, "mood_pre:"),
        (
            {"kind": "session_ended", "session_id": "s", "status": "done", "duration_s": 1},
            "status:",
        ),
        (
            {"kind": "session_ended", "session_id": "s", "status": "completed", "duration_s": -1},
            "duration_s:",
        ),
        (
            {"kind": "exercise_completed", "exercise": "Free text here!", "duration_s": 1},
            "exercise:",
        ),
        ({"kind": "progress_marker", "marker": "SKILL"}, "marker:"),
        ({"kind": "goal_updated", "goal_id": "g", "status": "done"}, "status:"),
        ({"kind": "action_item_updated", "item_id": "i", "status": "completed"}, "status:"),
        ({"kind": "nap"}, "kind: must be one of"),
        (
            {"kind": "mood_checkin", "score": 5, "at": "2026-11-21T09:30:00"},
            "at: must carry a UTC offset",
        ),
        ({"kind": "mood_checkin", "score": 5, "at": "2026-11-21"}, "at: must be an RFC 3339"),
        ({"kind": "mood_checkin", "score": 5, "id": ""}, "id:"),
        ({"kind": "mood_checkin", "score": 5, "id": "x" * 65}, "id:"),
        ({"kind": "session_scheduled", "session_id": "s"}, "scheduled_for:"),
    ],
)
def test_a_broken_rule_is_named_with_its_field(change: dict[str, Any], expected: str) -> None:
    assert expected in reason({**BASE, **change})


def test_missing_kind_and_non_objects_are_rejected() -> None:
    assert reason(dict(BASE)) == "kind: field required"
    assert reason(["not", "an", "object"]) == "event: must be an object"


def test_several_problems_are_all_reported() -> None:
    message = reason({"kind": "mood_checkin", "score": 99, "patient_id": "p1", "at": "soon"})
    assert "id:" in message and "score:" in message and "at:" in message
    assert message.count(";") == 2


def test_unknown_extra_fields_are_ignored_and_topics_deduplicated() -> None:
    raw = {**BASE, "kind": "session_ended", **VALID["session_ended"], "future_field": 1}
    raw["topics"] = ["Anxiety", "anxiety", "sleep"]
    parsed = parse_event(raw)
    assert parsed.topics == ("anxiety", "sleep")  # type: ignore[union-attr]
    assert "future_field" not in event_to_wire(parsed)
