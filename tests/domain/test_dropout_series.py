"""The chart's ``dropout_score`` column: each day's score as it stood at that day's end.

For any history, whatever its arrival order and duplicates, a day's value equals what a fresh
tracker fed only the events dated on or before that local day gives for that day, or is null
for a reason the hub cannot see past (a claim superseded after the day, a move of zone).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from domain.dropout import dropout_score
from domain.events import Event
from domain.patients import Patient
from domain.progress import PatientProgress
from tests.domain.builders import T0, event, session, tracker
from tests.domain.strategies import NOW, PROPERTY_SETTINGS, event_lists, patients

SERIES_DAYS = 30


def _fed(patient: Patient, events: list[Event], now: Any = NOW) -> PatientProgress:
    progress = PatientProgress(patient)
    progress.apply_many(events, now)
    return progress


def _day(patient: Patient, item: Event) -> int:
    return patient.local_day(item.at).toordinal()


def _superseded_across(patient: Patient, events: list[Event], day: int) -> bool:
    """Whether two claims on one session's start or end come within an hour of either side of
    the end of ``day`` (spans closer than that are merged, domain/superseded.py)."""
    hour = timedelta(hours=1)
    claims: dict[tuple[str, str], list[Event]] = {}
    for item in events:
        if item.kind in ("session_started", "session_ended"):
            claims.setdefault((item.kind, getattr(item, "session_id", "")), []).append(item)
    return any(
        patient.local_day(min(e.at for e in same) - hour).toordinal()
        <= day
        < patient.local_day(max(e.at for e in same) + hour).toordinal()
        for same in claims.values()
        if len(same) > 1
    )


def _near_a_move(patient: Patient, day: int) -> bool:
    """Whether a move of time zone falls within a day before or a week after local day ``day``."""
    return any(
        day - 8 <= patient.local_day(change.effective_from).toordinal() <= day + 1
        for change in patient.zone_history[1:]
    )


@PROPERTY_SETTINGS
@given(
    patients(),
    event_lists(),
    st.randoms(use_true_random=False),
    st.data(),
    st.lists(st.integers(min_value=1, max_value=SERIES_DAYS - 1), min_size=1, max_size=4),
)
def test_each_day_scores_only_the_events_dated_by_its_end(
    patient: Patient, events: list[Event], rng: Any, data: st.DataObject, backs: list[int]
) -> None:
    arrived = events + data.draw(st.lists(st.sampled_from(events), max_size=5))
    rng.shuffle(arrived)
    series = _fed(patient, arrived).series(NOW, SERIES_DAYS)
    column = series["series"]["dropout_score"]
    assert len(column) == len(series["time_buckets"]) == SERIES_DAYS
    today = patient.today(NOW).toordinal()
    for back in backs:
        day = today - back
        value = column[SERIES_DAYS - 1 - back]
        if value is None:
            assert _superseded_across(patient, events, day) or _near_a_move(patient, day)
            continue
        dated = [item for item in events if _day(patient, item) <= day]
        assert value == dropout_score(_fed(patient, dated).ledger, day)


def test_todays_bucket_is_the_live_score_and_earlier_days_forget_later_no_shows() -> None:
    progress = tracker("Europe/Berlin")
    history: list[Event] = []
    for week in range(6):
        history += session(f"s{week}", T0 + timedelta(weeks=week))
    for late in range(3):
        history += session(f"m{late}", T0 + timedelta(weeks=6 + late), status="no_show")
    now = T0 + timedelta(weeks=8, days=1)
    progress.apply_many(history, now)
    series = progress.series(now, 30)
    column = series["series"]["dropout_score"]
    assert series["meta"]["units"]["dropout_score"] == "score 0-1"
    assert column[-1] == progress.snapshot(now)["dropout_risk"]["score"]
    # The day before the first no-show the missed sessions were not yet on record.
    before_no_shows = (T0 + timedelta(weeks=6)).date().toordinal() - 1
    today = now.date().toordinal()
    assert column[-1] > column[29 - (today - before_no_shows)]


def _daily_checkins(days: int, per_day: int, falling_from: int) -> list[Event]:
    """``per_day`` check-ins a day; the mood falls by one a day from day ``falling_from``."""
    start = T0 - timedelta(days=days - 1)
    return [
        event(
            "mood_checkin",
            start + timedelta(days=n, minutes=k),
            id=f"c{n}-{k}",
            score=max(1, 8 - max(0, n - falling_from)),
        )
        for n in range(days)
        for k in range(per_day)
    ]


def test_a_daily_check_in_patient_gets_every_day_with_its_falling_mood() -> None:
    # 25 daily check-ins, the mood falling over the last week: a tracker that kept only the
    # newest 12 readings would score the earlier days' falling_mood from the wrong readings.
    history = _daily_checkins(25, 1, 18)
    progress = tracker("America/New_York")
    progress.apply_many(reversed(history), T0)
    column = progress.series(T0, 14)["series"]["dropout_score"]
    assert None not in column
    today = T0.date().toordinal()
    patient = progress.ledger.patient
    for back, value in enumerate(reversed(column)):
        day = today - back
        dated = [item for item in history if _day(patient, item) <= day]
        assert value == dropout_score(_fed(patient, dated, T0).ledger, day)
    assert column[-1] == progress.snapshot(T0)["dropout_risk"]["score"]
    assert column[-1] > column[0]  # the fall shows


def test_many_check_ins_a_day_keep_a_bounded_set_of_readings() -> None:
    # A soak: every event on one day keeps the newest 12 readings of that day and no more.
    history = _daily_checkins(1, 200, 0)
    progress = tracker("Europe/Berlin")
    progress.apply_many(history, T0 + timedelta(days=1))
    assert len(progress.ledger.reading_keys) == 12
    assert progress.ledger.superseded_spans == []


def test_a_session_end_corrected_days_later_nulls_only_the_days_in_between() -> None:
    # Weekly sessions; the last one first reported a no-show, corrected three days later to
    # completed. The tracker keeps only the correction: the days that saw the no-show in force
    # cannot be scored as they stood, the others can.
    history: list[Event] = []
    for week in range(6):
        history += session(f"s{week}", T0 - timedelta(weeks=6 - week))
    for event_id, days_ago, status, duration_s in (
        ("s6-no-show", 5, "no_show", 0),
        ("s6-corrected", 2, "completed", 3000),
    ):
        history.append(
            event(
                "session_ended",
                T0 - timedelta(days=days_ago),
                id=event_id,
                session_id="s6",
                status=status,
                duration_s=duration_s,
            )
        )
    progress = tracker("Europe/Berlin")
    progress.apply_many(history, T0)
    column = progress.series(T0, 14)["series"]["dropout_score"]
    assert column[-6:-3] == [None] * 3  # the ends of the days 5, 4 and 3 days ago
    assert None not in column[:-6] + column[-3:]
