"""``may_alert``: every alert an event raises on its own is foreseen from the event alone."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from domain.effects import AlertRaised
from domain.events import parse_event
from domain.progress import PatientProgress
from domain.urgency import may_alert
from tests.domain.strategies import NOW, PROPERTY_SETTINGS, START, event_lists, patients


@PROPERTY_SETTINGS
@given(patients(), event_lists())
def test_an_event_that_raises_an_alert_alone_was_named_by_may_alert(patient, events) -> None:
    for event in events:
        raised = [
            effect
            for effect in PatientProgress(patient).apply_many([event], NOW)
            if isinstance(effect, AlertRaised)
        ]
        if raised:
            assert may_alert(event), (event, raised)


def phq9(items: list[int]) -> dict[str, object]:
    return {
        "id": "m1",
        "kind": "measure_completed",
        "patient_id": "p1",
        "at": START.isoformat(),
        "instrument": "PHQ-9",
        "items": items,
    }


@given(st.lists(st.integers(0, 3), min_size=9, max_size=9))
def test_every_questionnaire_takes_the_lane(items: list[int]) -> None:
    # Item 9 raises its screen alone; any score may tip the outcome into a deterioration.
    assert may_alert(parse_event(phq9(items)))


@given(st.integers(1, 10))
def test_a_check_in_takes_the_lane_exactly_when_it_is_a_crisis(score: int) -> None:
    event = parse_event(
        {
            "id": "c",
            "kind": "mood_checkin",
            "patient_id": "p1",
            "at": START.isoformat(),
            "score": score,
        }
    )
    assert may_alert(event) == (score <= 2)
