"""A busy patient's tracker keeps a bounded amount per patient, and still refolds a move exactly.

The tracker keeps compact records of recent day-bearing events (to refold them after a zone
change) and the ids it applied (for a snapshot's overlap with the replay after it); both are
capped per patient. A move the hub dates at its clock, after the events, must refold exactly
as before, however many events the cap dropped.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.events import Event
from domain.patients import Patient, ZoneChange
from domain.progress import SEEN_WINDOW, PatientProgress
from domain.rezone import RECENT_MAX
from tests.domain.builders import event

NOW = datetime(2026, 11, 21, 12, tzinfo=UTC)
REGISTERED = NOW - timedelta(days=30)


def _busy_day() -> list[Event]:
    """More check-ins and exercises in the last 40 hours than either cap holds."""
    count = 3 * max(RECENT_MAX, SEEN_WINDOW)
    step = timedelta(hours=40) / count
    events = []
    for n in range(count):
        at = NOW - timedelta(hours=40) + n * step
        if n % 2:
            events.append(event("mood_checkin", at, id=f"m{n}", score=1 + n % 10))
        else:
            events.append(
                event("exercise_completed", at, id=f"x{n}", exercise="walk", duration_s=60)
            )
    return events


def test_a_move_after_a_busy_day_refolds_as_if_the_zone_had_changed_then() -> None:
    patient = Patient.register("p1", "t1", "Europe/Berlin", REGISTERED)
    events = _busy_day()
    busy = PatientProgress(patient)
    for start in range(0, len(events), 100):
        busy.apply_many(events[start : start + 100], NOW)
    # Dated an hour back (the domain allows it): the last hour's events move to new days, and
    # the capped records still hold all of them.
    move = NOW - timedelta(hours=1)
    busy.reassign(patient.reassigned("t1", "Pacific/Auckland", move))

    # The same events folded from the start under the history that includes the move.
    history = (ZoneChange(REGISTERED, "Europe/Berlin"), ZoneChange(move, "Pacific/Auckland"))
    fresh = PatientProgress(Patient("p1", "t1", history))
    fresh.apply_many(events, NOW)
    later = NOW + timedelta(hours=3)
    assert busy.snapshot(later) == fresh.snapshot(later)
    assert busy.series(later, 30) == fresh.series(later, 30)


def test_a_recent_id_sent_again_changes_nothing() -> None:
    progress = PatientProgress(Patient.register("p1", "t1", "UTC", REGISTERED))
    events = _busy_day()
    progress.apply_many(events, NOW)
    before = progress.snapshot(NOW)
    assert progress.apply_many(events[-SEEN_WINDOW:], NOW) == []
    assert progress.snapshot(NOW) == before
