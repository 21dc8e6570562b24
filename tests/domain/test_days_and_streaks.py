"""Local days, DST and time-zone changes, and streaks built on them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from domain.events import Event
from domain.patients import Patient
from domain.progress import PatientProgress
from tests.domain.builders import apply_all, event, local, tracker


def exercise(at: str | datetime, **extra: Any) -> Event:
    return event("exercise_completed", at, exercise="walk", duration_s=600, **extra)


def streak(progress: PatientProgress, now: datetime) -> dict[str, object]:
    result: dict[str, object] = progress.snapshot(now)["streak"]
    return result


def bucket(progress: PatientProgress, now: datetime, day: str, days: int = 14) -> int:
    series = progress.series(now, days)
    return int(series["series"]["activity_count"][series["time_buckets"].index(day)])


def test_late_night_activity_counts_for_that_local_day() -> None:
    berlin = tracker("Europe/Berlin")
    new_york = tracker("America/New_York")
    late_berlin = local("2026-11-20T23:30:00+01:00")  # 22:30 UTC
    late_new_york = local("2026-11-20T23:30:00-05:00")  # 04:30 UTC on the 21st
    berlin.apply(exercise(late_berlin), late_berlin)
    new_york.apply(exercise(late_new_york), late_new_york)
    assert streak(berlin, late_berlin)["last_active_day"] == "2026-11-20"
    assert streak(new_york, late_new_york)["last_active_day"] == "2026-11-20"
    assert bucket(new_york, late_new_york, "2026-11-20") == 1
    # The same instant seen from New York is still the evening of the 20th.
    assert new_york.series(late_new_york, 1)["time_buckets"] == ["2026-11-20"]


def test_berlin_spring_forward_day_is_one_day() -> None:
    progress = tracker("Europe/Berlin")
    instants = [
        "2026-03-28T23:30:00+01:00",
        "2026-03-29T00:30:00+01:00",  # before the 02:00 -> 03:00 switch
        "2026-03-29T23:30:00+02:00",  # after it: 21:30 UTC, still the 29th in Berlin
        "2026-03-30T00:15:00+02:00",  # 22:15 UTC on the 29th, but the 30th in Berlin
    ]
    now = local("2026-03-30T12:00:00+02:00")
    apply_all(progress, [exercise(at) for at in instants], now)
    assert streak(progress, now) == {"current": 3, "longest": 3, "last_active_day": "2026-03-30"}
    assert bucket(progress, now, "2026-03-29") == 2
    assert bucket(progress, now, "2026-03-30") == 1


def test_berlin_fall_back_day_keeps_the_repeated_hour_on_one_day() -> None:
    progress = tracker("Europe/Berlin")
    instants = [
        "2026-10-25T02:30:00+02:00",  # first 02:30
        "2026-10-25T02:30:00+01:00",  # the repeated 02:30, one hour later
        "2026-10-25T23:45:00+01:00",  # a 25-hour day still ends at local midnight
        "2026-10-26T00:10:00+01:00",  # 23:10 UTC on the 25th
    ]
    now = local("2026-10-26T09:00:00+01:00")
    apply_all(progress, [exercise(at) for at in instants], now)
    assert bucket(progress, now, "2026-10-25") == 3
    assert bucket(progress, now, "2026-10-26") == 1
    assert streak(progress, now)["current"] == 2


def test_a_move_west_keeps_the_streak_the_patient_expects() -> None:
    registered = datetime(2026, 11, 1, tzinfo=UTC)
    patient = Patient.register("p1", "t1", "Europe/Berlin", registered)
    progress = PatientProgress(patient)
    evenings = [
        "2026-11-16T20:00:00+01:00",
        "2026-11-17T20:00:00+01:00",
        "2026-11-18T20:00:00+01:00",
    ]
    apply_all(progress, [exercise(at) for at in evenings], local(evenings[-1]))
    moved = datetime(2026, 11, 19, 6, tzinfo=UTC)
    progress.reassign(patient.reassigned("t1", "America/New_York", moved))
    # 20:00 in New York on the 19th is already the 20th in Berlin: the history keeps it the 19th.
    evening_new_york = local("2026-11-19T20:00:00-05:00")
    progress.apply(exercise(evening_new_york), evening_new_york)
    now = local("2026-11-19T22:00:00-05:00")
    assert streak(progress, now) == {"current": 4, "longest": 4, "last_active_day": "2026-11-19"}
    assert progress.snapshot(now)["timezone"] == "America/New_York"


def test_a_zone_change_refolds_events_dated_after_it() -> None:
    registered = datetime(2026, 11, 1, tzinfo=UTC)
    patient = Patient.register("p1", "t1", "Europe/Berlin", registered)
    progress = PatientProgress(patient)
    early = local("2026-11-20T02:00:00+00:00")  # 03:00 Berlin on the 20th, 21:00 NY on the 19th
    progress.apply(exercise(early), early)
    assert streak(progress, early)["last_active_day"] == "2026-11-20"
    moved = datetime(2026, 11, 19, 12, tzinfo=UTC)  # the move is dated before that event
    progress.reassign(patient.reassigned("t1", "America/New_York", moved))
    assert streak(progress, early)["last_active_day"] == "2026-11-19"


def test_a_streak_survives_until_the_next_local_day_is_over() -> None:
    progress = tracker("Europe/Berlin")
    days = ["2026-11-18T10:00:00+01:00", "2026-11-19T10:00:00+01:00"]
    apply_all(progress, [exercise(at) for at in days], local(days[-1]))
    assert streak(progress, local("2026-11-20T23:59:00+01:00"))["current"] == 2
    after = streak(progress, local("2026-11-21T00:01:00+01:00"))
    assert after == {"current": 0, "longest": 2, "last_active_day": "2026-11-19"}


def end_session(progress: PatientProgress, at: datetime, *, status: str, duration_s: int) -> None:
    """Session ``s1`` ends at ``at`` with ``status``, applied as it arrives."""
    progress.apply(
        event("session_ended", at, session_id="s1", status=status, duration_s=duration_s), at
    )


def test_future_dated_days_neither_extend_nor_break_the_current_streak() -> None:
    progress = tracker("UTC")
    now = datetime(2026, 11, 20, 12, tzinfo=UTC)
    for back in (2, 1, 0):
        progress.apply(exercise(now - timedelta(days=back)), now)
    progress.apply(exercise(now + timedelta(days=2)), now)  # a skewed client clock
    assert streak(progress, now)["current"] == 3


def test_only_completed_sessions_exercises_and_checkins_make_a_day_active() -> None:
    progress = tracker("UTC")
    now = datetime(2026, 11, 20, 12, tzinfo=UTC)
    end_session(progress, now, status="cancelled", duration_s=0)
    progress.apply(event("progress_marker", now, marker="INSIGHT_GAINED"), now)
    progress.apply(event("goal_updated", now, goal_id="g", status="in_progress"), now)
    assert streak(progress, now)["current"] == 0
    progress.apply(event("mood_checkin", now, score=6), now)
    assert streak(progress, now)["current"] == 1


def test_a_corrected_session_withdraws_its_day() -> None:
    progress = tracker("UTC")
    day = datetime(2026, 11, 20, 12, tzinfo=UTC)
    end_session(progress, day, status="completed", duration_s=60)
    later = day + timedelta(minutes=5)
    end_session(progress, later, status="cancelled", duration_s=0)
    snapshot = progress.snapshot(later)
    assert snapshot["streak"]["current"] == 0
    assert snapshot["total_sessions"] == 0
    assert snapshot["engagement"]["sessions_by_status"]["cancelled"] == 1
