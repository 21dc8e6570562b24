"""An event a tracker cannot fold costs only itself (events as an older, laxer hub stored them)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta, timezone

import pytest

from domain.events import MoodCheckin, parse_event
from domain.patients import Patient
from domain.progress import PatientProgress
from realtime.service.quarantine import Quarantine

NOW = datetime(2026, 11, 21, 12, tzinfo=UTC)
# Validation refuses this instant today; built past it, as a row from an older hub reads back.
POISON = MoodCheckin.model_construct(
    id="a-poison",
    patient_id="p1",
    at=datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14))),
    kind="mood_checkin",
    score=5,
)


def _checkin(event_id: str, score: int) -> object:
    at = "2026-11-20T12:00:00Z"
    return parse_event(
        {"id": event_id, "kind": "mood_checkin", "patient_id": "p1", "at": at, "score": score}
    )


@pytest.mark.parametrize("live", [True, False], ids=["apply", "replay"])
def test_the_poisoned_event_is_held_and_its_neighbours_are_applied(
    live: bool, caplog: pytest.LogCaptureFixture
) -> None:
    patient = Patient.register("p1", "t1", "America/New_York", NOW - timedelta(days=30))
    tracker = PatientProgress(patient)
    clean = PatientProgress(patient)
    before, after = _checkin("before", 3), _checkin("after", 8)
    clean.apply_many([before, after], NOW)  # type: ignore[list-item]
    quarantine = Quarantine()
    with caplog.at_level(logging.ERROR, "progress_hub.quarantine"):
        batch = [before, POISON, after]
        if live:
            _, failed = quarantine.apply(tracker, batch, NOW)  # type: ignore[arg-type]
            assert failed == ["a-poison"]
        else:
            quarantine.replay(tracker, batch, NOW)  # type: ignore[arg-type]
    assert quarantine.ids == {"a-poison"} and quarantine.count == 1
    assert tracker.snapshot(NOW) == clean.snapshot(NOW)
    assert [record.getMessage() for record in caplog.records] == [
        "event=event_unapplied id=a-poison patient=p1 reason=OverflowError"
    ]
