"""Outcomes on PHQ-9 and GAD-7 (PROTOCOL.md section 8): validation, figures, wire, order.

The worked example of the issue runs through the whole path: events as a client sends them,
validated, scored, and the patient's outcomes written as section 8 shows them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import InvalidEvent, StateFormatError
from domain.events import MeasureCompleted, RejectedEvent, event_to_wire, parse_event, parse_events
from domain.instruments import GAD_7, PHQ_9
from domain.outcomes import (
    ScoredMeasure,
    daily_totals,
    outcome,
    outcomes_document,
    patient_outcomes,
    practice_outcomes,
    score,
    score_event,
    scores_from_state,
    scores_to_state,
)
from domain.progress import PatientProgress
from tests.domain.builders import apply_all, reliably_recovered, session, tracker
from tests.domain.score_strategies import arrivals, scores
from tests.domain.strategies import PROPERTY_SETTINGS

START = datetime(2026, 9, 7, 9, tzinfo=UTC)


def measure(event_id: str, at: str, instrument: str, items: list[int]) -> dict[str, Any]:
    return {
        "id": event_id,
        "kind": "measure_completed",
        "patient_id": "p1",
        "at": at,
        "instrument": instrument,
        "items": items,
    }


def answers_for(total: int, count: int) -> list[int]:
    """Answers of 0-3 that add up to ``total``, item 9 of a PHQ-9 left at 0 where it can be."""
    items = [0] * count
    for index in range(count):
        items[index] = min(3, total - sum(items))
    return items


def scored(instrument: Any, totals: list[int], start: datetime = START) -> list[ScoredMeasure]:
    """One score a week with these totals, ids ``s0``, ``s1``, ..."""
    return [
        score(
            instrument,
            f"s{week}",
            start + timedelta(weeks=week),
            answers_for(value, instrument.items),
        )
        for week, value in enumerate(totals)
    ]


# -- validation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("instrument", "items", "reason"),
    [
        ("PHQ-9", [0] * 8, "items: PHQ-9 has 9 items, got 8"),
        ("GAD-7", [0] * 9, "items: GAD-7 has 7 items, got 9"),
        ("PHQ-9", [0, 0, 0, 0, 4, 0, 0, 0, 0], "items: item 5 is 4; PHQ-9 answers are 0-3"),
        ("GAD-7", [0, 0, 0, 0, 0, 0, -1], "items: item 7 is -1; GAD-7 answers are 0-3"),
        ("CORE-10", [0] * 10, "instrument: must be one of PHQ-9, GAD-7"),
        ("phq-9", [0] * 9, "instrument: must be one of PHQ-9, GAD-7"),
        ("GAD-7", [0, 0, 0, 1.5, 0, 0, 0], "items.3: Input should be a valid integer"),
        ("GAD-7", [0, 0, 0, True, 0, 0, 0], "items.3: Input should be a valid integer"),
        ("GAD-7", "0000000", "items: Input should be a valid tuple"),
    ],
)
def test_a_bad_questionnaire_is_rejected_with_its_reason(
    instrument: str, items: Any, reason: str
) -> None:
    with pytest.raises(InvalidEvent) as refused:
        parse_event(measure("e1", "2026-09-07T09:00:00Z", instrument, items))
    assert str(refused.value) == reason


def test_a_bad_questionnaire_is_rejected_alone_in_its_batch() -> None:
    good = measure("good", "2026-09-07T09:00:00Z", "GAD-7", [1] * 7)
    short = measure("short", "2026-09-07T09:00:00Z", "GAD-7", [1] * 6)
    parsed = parse_events([good, short])
    assert isinstance(parsed[0], MeasureCompleted)
    assert parsed[1] == RejectedEvent("short", "items: GAD-7 has 7 items, got 6")


def test_a_questionnaire_round_trips_to_the_wire_with_its_session() -> None:
    raw = {**measure("e1", "2026-09-07T10:00:00+01:00", "PHQ-9", [1] * 9), "session_id": "s1"}
    event = parse_event(raw)
    assert isinstance(event, MeasureCompleted)
    assert event_to_wire(event)["items"] == [1] * 9
    assert parse_event(event_to_wire(event)) == event


# -- the worked example ------------------------------------------------------------------------


def test_phq9_16_to_8_with_gad7_12_to_7_is_a_reliable_recovery_on_both() -> None:
    raws = [
        measure("p-1", "2026-09-07T10:00:00+01:00", "PHQ-9", [3, 2, 2, 2, 2, 2, 2, 1, 0]),
        measure("g-1", "2026-09-07T10:05:00+01:00", "GAD-7", [2, 2, 2, 2, 2, 1, 1]),
        measure("p-2", "2026-09-21T09:00:00Z", "PHQ-9", [2, 2, 2, 2, 2, 1, 1, 1, 0]),
        measure("p-3", "2026-10-05T09:00:00Z", "PHQ-9", [1, 2, 1, 1, 2, 1, 1, 1, 0]),
        measure("g-2", "2026-11-02T09:05:00Z", "GAD-7", [1, 1, 1, 1, 1, 1, 1]),
        measure("p-4", "2026-11-02T09:00:00Z", "PHQ-9", [1, 1, 1, 1, 1, 1, 1, 1, 0]),
    ]
    events = [parse_event(raw) for raw in reversed(raws)]
    outcomes = patient_outcomes(
        score_event(event) for event in events if isinstance(event, MeasureCompleted)
    )
    assert outcomes_document("p1", outcomes) == {
        "patient_id": "p1",
        "measures": {
            "PHQ-9": reliably_recovered(
                count=4,
                baseline={
                    "total": 16,
                    "severity": "moderately_severe",
                    "at": "2026-09-07T09:00:00Z",
                },
                latest={"total": 8, "severity": "mild", "at": "2026-11-02T09:00:00Z"},
                change=-8,
                history=[
                    {"at": "2026-09-07T09:00:00Z", "total": 16, "severity": "moderately_severe"},
                    {"at": "2026-09-21T09:00:00Z", "total": 13, "severity": "moderate"},
                    {"at": "2026-10-05T09:00:00Z", "total": 10, "severity": "moderate"},
                    {"at": "2026-11-02T09:00:00Z", "total": 8, "severity": "mild"},
                ],
            ),
            "GAD-7": reliably_recovered(
                count=2,
                baseline={"total": 12, "severity": "moderate", "at": "2026-09-07T09:05:00Z"},
                latest={"total": 7, "severity": "mild", "at": "2026-11-02T09:05:00Z"},
                change=-5,
                history=[
                    {"at": "2026-09-07T09:05:00Z", "total": 12, "severity": "moderate"},
                    {"at": "2026-11-02T09:05:00Z", "total": 7, "severity": "mild"},
                ],
            ),
        },
    }
    assert "history" not in outcomes["PHQ-9"].to_wire(with_history=False)


# -- the figures at their edges ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("instrument", "totals", "expected"),
    [
        (PHQ_9, [16, 10], "improved"),
        (PHQ_9, [16, 11], "none"),
        (PHQ_9, [4, 10], "deteriorated"),
        (PHQ_9, [4, 9], "none"),
        (GAD_7, [12, 8], "improved"),
        (GAD_7, [12, 9], "none"),
        (GAD_7, [3, 7], "deteriorated"),
        (GAD_7, [3, 6], "none"),
        (PHQ_9, [20], "none"),
    ],
)
def test_reliable_change_starts_at_the_threshold(
    instrument: Any, totals: list[int], expected: str
) -> None:
    result = outcome(instrument, scored(instrument, totals))
    assert result is not None
    assert result.reliable_change == expected


@pytest.mark.parametrize(
    ("instrument", "totals", "case_then", "case_now", "recovered", "reliable"),
    [
        (PHQ_9, [11, 9], True, False, True, False),  # recovered, within measurement error
        (PHQ_9, [25, 15], True, True, False, False),  # reliably better, still a case
        (PHQ_9, [9, 3], False, False, False, False),  # never a case: nothing to recover from
        (PHQ_9, [10, 4], True, False, True, True),
        (GAD_7, [8, 4], True, False, True, True),
        (GAD_7, [8, 7], True, False, True, False),
        (GAD_7, [7, 8], False, True, False, False),
    ],
)
def test_caseness_and_recovery(
    instrument: Any,
    totals: list[int],
    case_then: bool,
    case_now: bool,
    recovered: bool,
    reliable: bool,
) -> None:
    result = outcome(instrument, scored(instrument, totals))
    assert result is not None
    assert (result.caseness_at_baseline, result.caseness_now) == (case_then, case_now)
    assert (result.recovered, result.reliable_recovery) == (recovered, reliable)


def test_one_score_is_both_baseline_and_latest() -> None:
    result = outcome(PHQ_9, scored(PHQ_9, [12]))
    assert result is not None
    wire = result.to_wire()
    assert wire["baseline"] == wire["latest"]
    assert (wire["count"], wire["change"], wire["reliable_change"], wire["recovered"]) == (
        1,
        0,
        "none",
        False,
    )
    assert outcome(GAD_7, scored(PHQ_9, [12])) is None


def test_scores_at_the_same_instant_are_ordered_by_event_id() -> None:
    at = datetime(2026, 9, 7, 10, tzinfo=UTC)
    low = score(PHQ_9, "b", at, [0] * 9)
    high = score(PHQ_9, "a", at.astimezone(timezone(timedelta(hours=2))), [2] * 9)
    for order in ([low, high], [high, low]):
        result = outcome(PHQ_9, order)
        assert result is not None
        assert (result.baseline.event_id, result.latest.event_id) == ("a", "b")
        assert result.change == -18


# -- order independence ------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(st.data())
def test_any_order_and_any_repeats_give_the_same_outcomes(data: st.DataObject) -> None:
    final = data.draw(scores())
    arrived = data.draw(arrivals(final))
    expected = {name: item.to_wire() for name, item in patient_outcomes(final).items()}
    got = {name: item.to_wire() for name, item in patient_outcomes(arrived).items()}
    assert got == expected
    assert practice_outcomes([patient_outcomes(arrived)]) == practice_outcomes(
        [patient_outcomes(final)]
    )
    assert scores_to_state(arrived) == scores_to_state(final)


@PROPERTY_SETTINGS
@given(scores())
def test_history_is_every_distinct_score_oldest_first(final: list[ScoredMeasure]) -> None:
    for name, item in patient_outcomes(final).items():
        mine = [entry for entry in final if entry.instrument == name]
        assert item.count == len(mine)
        instants = [entry.at for entry in item.history]
        assert instants == sorted(instants)
        assert item.change == item.latest.total - item.baseline.total


# -- the practice ------------------------------------------------------------------------------


def test_practice_rates_count_patients_with_two_scores_and_recovery_over_cases() -> None:
    patients = [
        patient_outcomes(scored(PHQ_9, [16, 8])),  # case, reliable recovery
        patient_outcomes(scored(PHQ_9, [12, 9])),  # case, recovered, not reliably
        patient_outcomes(scored(PHQ_9, [5, 11])),  # not a case at baseline, deteriorated
        patient_outcomes(scored(PHQ_9, [20])),  # one score: not counted
        patient_outcomes(scored(GAD_7, [3, 5])),  # never a case
    ]
    assert practice_outcomes(patients) == {
        "PHQ-9": {
            "patients": 3,
            "cases_at_baseline": 2,
            "reliable_improvement_rate": 0.333,
            "recovery_rate": 1.0,
            "reliable_recovery_rate": 0.5,
            "reliable_deterioration_rate": 0.333,
        },
        "GAD-7": {
            "patients": 1,
            "cases_at_baseline": 0,
            "reliable_improvement_rate": 0.0,
            "recovery_rate": None,
            "reliable_recovery_rate": None,
            "reliable_deterioration_rate": 0.0,
        },
    }


def test_an_empty_practice_has_no_rates() -> None:
    assert practice_outcomes([])["PHQ-9"] == {
        "patients": 0,
        "cases_at_baseline": 0,
        "reliable_improvement_rate": None,
        "recovery_rate": None,
        "reliable_recovery_rate": None,
        "reliable_deterioration_rate": None,
    }


# -- the state a tracker keeps ---------------------------------------------------------------


@PROPERTY_SETTINGS
@given(scores())
def test_scores_survive_their_state(final: list[ScoredMeasure]) -> None:
    state = scores_to_state(final)
    assert sorted(scores_from_state(state), key=lambda item: (item.at, item.event_id)) == sorted(
        set(final), key=lambda item: (item.at, item.event_id)
    )


@pytest.mark.parametrize(
    "state",
    [
        {"PHQ-9": []},
        [["PHQ-9", "2026-09-07T09:00:00Z", "e1", [0] * 9]],
        [["PHQ-9", "2026-09-07T09:00:00", "e1", [0] * 9, 0]],
        [["PHQ-9", "yesterday", "e1", [0] * 9, 0]],
        [["PHQ-9", "2026-09-07T09:00:00Z", "e1", ["0"] * 9, 0]],
    ],
)
def test_a_garbled_score_state_is_refused(state: Any) -> None:
    with pytest.raises(StateFormatError):
        scores_from_state(state)


# -- the tracker keeps the scores (more in test_tracker_measures.py) ---------------------------


def test_the_tracker_keeps_a_questionnaire_once_and_through_replay_and_state() -> None:
    now = datetime(2026, 11, 21, 12, tzinfo=UTC)
    progress = tracker()
    apply_all(progress, session("s1", now - timedelta(days=2), pre=4, post=6), now)
    before = progress.snapshot(now)
    questionnaire = parse_event(measure("q1", "2026-11-20T09:00:00Z", "PHQ-9", [1] * 9))
    effects = progress.apply(questionnaire, now)
    assert [type(effect).__name__ for effect in effects] == [
        "StateChanged",
        "SeriesDelta",
        "AlertRaised",
    ]
    assert progress.apply(questionnaire, now) == []
    progress.replay([parse_event(measure("q2", "2026-11-21T09:00:00Z", "GAD-7", [1] * 7))], now)
    after = progress.snapshot(now)
    assert set(after["measures"]) == {"PHQ-9", "GAD-7"}
    assert {**after, "measures": {}} == before
    again = PatientProgress.from_state(progress.patient, progress.to_state())
    assert again.snapshot(now) == after


# -- the chart series ------------------------------------------------------------------------


def test_a_day_charts_its_latest_score_in_the_patients_day() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    evening = datetime(2026, 11, 20, 23, 30, tzinfo=UTC)  # already the 21st in Berlin
    day_scores = [
        score(PHQ_9, "late", evening, [2] * 9),
        score(PHQ_9, "a", evening - timedelta(hours=2), [1] * 9),
        score(PHQ_9, "b", evening - timedelta(hours=2), [3] * 9),
        score(PHQ_9, "next", evening + timedelta(days=1), [0] * 9),
    ]
    for order in (day_scores, day_scores[::-1]):
        result = outcome(PHQ_9, order)
        assert result is not None
        totals = daily_totals(result, lambda at: at.astimezone(berlin).date().isoformat())
        assert totals == {"2026-11-20": 27, "2026-11-21": 18, "2026-11-22": 0}
    assert (PHQ_9.series_key, GAD_7.series_key) == ("phq9_total", "gad7_total")
