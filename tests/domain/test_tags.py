"""Tags as section 3 defines them: trimmed, folded to lower case, inner spaces collapsed."""

from __future__ import annotations

import pytest

from domain.errors import InvalidEvent
from domain.events import parse_event


def ended(topics: list[str]) -> dict[str, object]:
    return {
        "id": "e1",
        "kind": "session_ended",
        "patient_id": "p1",
        "at": "2026-11-20T10:00:00Z",
        "session_id": "s1",
        "status": "completed",
        "duration_s": 60,
        "topics": topics,
    }


def test_the_seeds_topics_are_valid_and_normalised() -> None:
    event = parse_event(
        ended(["work stress", "  Work   Stress ", "Anxiety", "mindfulness/breathing"])
    )
    assert event.topics == ("work stress", "anxiety", "mindfulness/breathing")  # type: ignore[union-attr]


def test_an_exercise_tag_is_normalised_too() -> None:
    raw = {
        "id": "x1",
        "kind": "exercise_completed",
        "patient_id": "p1",
        "at": "2026-11-20T10:00:00Z",
        "exercise": " Mindfulness/Body  Scan",
        "duration_s": 60,
    }
    assert parse_event(raw).exercise == "mindfulness/body scan"  # type: ignore[union-attr]


@pytest.mark.parametrize("tag", ["", "   ", "x" * 49, "work;stress", "tab\there", "émotions"])
def test_a_tag_outside_the_rule_is_rejected(tag: str) -> None:
    with pytest.raises(InvalidEvent):
        parse_event(ended([tag]))


def test_48_characters_after_trimming_are_enough() -> None:
    assert parse_event(ended(["  " + "a" * 48 + "  "])).topics == ("a" * 48,)  # type: ignore[union-attr]
