"""Which events may raise an alert the moment they are applied, judged from the event alone.

The hub commits such an event in an urgent lane, ahead of bulk work, so its alert is not held
behind other publishes. The rule is stated once here, from the alert rules themselves:

- a mood that is a crisis on its own (:func:`domain.mood.crisis_reasons` of the check-in's
  score, the session's ``mood_pre`` or ``mood_post``);
- any completed questionnaire: a critical item answered at its threshold raises an alert
  whatever the total (:func:`domain.measure_alerts.screening_alerts`), and any score can tip
  the outcome into a reliable deterioration (questionnaires are few, so all of them qualify).

A fall of mood within one session and a missed session's dropout risk depend on other events
(the session's other half, the patient's history): such events take the bulk path, and their
alerts still come with their commit, only not ahead of other work. ``may_alert`` is
conservative in one direction only: an event it names may raise nothing; an alert that an
event raises by itself alone is never missed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from domain.events import Event, MoodCheckin, SessionEnded, SessionStarted
from domain.mood import crisis_reasons


def _checkin(event: Event) -> bool:
    return isinstance(event, MoodCheckin) and bool(crisis_reasons(event.score))


def _started(event: Event) -> bool:
    return isinstance(event, SessionStarted) and bool(crisis_reasons(event.mood_pre))


def _ended(event: Event) -> bool:
    return isinstance(event, SessionEnded) and bool(crisis_reasons(event.mood_post))


def _always(event: Event) -> bool:
    return True


# By kind, so the events that can never alert cost one dictionary lookup.
_RULES: Final[dict[str, Callable[[Event], bool]]] = {
    "mood_checkin": _checkin,
    "session_started": _started,
    "session_ended": _ended,
    "measure_completed": _always,
}


def may_alert(event: Event) -> bool:
    """Whether applying ``event`` may raise an alert at once, whatever the patient's state."""
    rule = _RULES.get(event.kind)
    return rule is not None and rule(event)
