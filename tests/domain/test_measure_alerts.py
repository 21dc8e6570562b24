"""Alerts from questionnaires: the PHQ-9 item 9 screen, and reliable deterioration once per run.

What the deterioration rule guarantees, whatever order the scores arrive in and however often
one is re-sent (the tests below check each):

1. after every score, the watch is exactly the instruments whose outcome is deteriorated, so
   the final watch is a function of the final set of scores and a restart can rebuild it;
2. one alert per run of consecutive observations in which the outcome was deteriorated:
   never two without a non-deteriorated outcome in between, and a re-sent score never raises;
3. when the final outcome is deteriorated, that last run raised its alert;
4. scores that arrive in the order they were taken raise exactly one alert per episode of
   the patient's history (a run of scores whose change from baseline is deteriorated).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.effects import AlertRaised
from domain.errors import StateFormatError
from domain.instruments import GAD_7, INSTRUMENTS, PHQ_9, Instrument
from domain.measure_alerts import (
    DeteriorationWatch,
    measure_alerts,
    screening_alerts,
    watch_deterioration,
)
from domain.outcomes import ScoredMeasure, outcome, patient_outcomes, score
from tests.domain.score_strategies import arrivals, scores
from tests.domain.strategies import PROPERTY_SETTINGS

START = datetime(2026, 9, 7, 9, tzinfo=UTC)


def phq9(event_id: str, week: int, items: list[int]) -> ScoredMeasure:
    return score(PHQ_9, event_id, START + timedelta(weeks=week), items)


# -- the screening item ------------------------------------------------------------------------


@pytest.mark.parametrize("answer", [1, 2, 3])
def test_item_9_raises_the_critical_screen_whatever_the_total(answer: int) -> None:
    scored = phq9("e1", 0, [0] * 8 + [answer])
    assert screening_alerts(PHQ_9, scored) == [
        AlertRaised(
            "suicide_risk_screen",
            "critical",
            f"PHQ-9 item 9 (thoughts of self-harm) answered {answer} (1 or more); total {answer}",
            "e1",  # the alert names the event that raised it: one alert per event and code
            scored.at,
        )
    ]


def test_no_screen_without_item_9_however_high_the_total() -> None:
    assert screening_alerts(PHQ_9, phq9("e1", 0, [3] * 8 + [0])) == []
    assert screening_alerts(GAD_7, score(GAD_7, "g1", START, [3] * 7)) == []


def test_the_screen_comes_with_the_score_that_raised_it_even_late() -> None:
    # A questionnaire filled in weeks ago and synced now still carries its answer: raise it.
    recent = phq9("e2", 4, [0] * 9)
    old = phq9("e1", 0, [1] * 9)
    outcomes = patient_outcomes([recent, old])
    watch, alerts = measure_alerts(DeteriorationWatch(), old, outcomes, INSTRUMENTS)
    assert [alert.code for alert in alerts] == ["suicide_risk_screen"]
    assert watch == DeteriorationWatch()


# -- reliable deterioration --------------------------------------------------------------------


def test_deterioration_warns_once_until_it_is_no_longer_deteriorated() -> None:
    totals = [3, 9, 12, 4, 10]  # +6 at week 1, still at week 2, back at 3, again at 4
    watch = DeteriorationWatch()
    raised: list[tuple[int, AlertRaised]] = []
    seen: list[ScoredMeasure] = []
    for week, value in enumerate(totals):
        seen.append(phq9(f"e{week}", week, [min(3, max(0, value - 3 * i)) for i in range(8)] + [0]))
        current = outcome(PHQ_9, seen)
        assert current is not None and current.latest.total == value
        watch, alert = watch_deterioration(watch, current)
        if alert is not None:
            raised.append((week, alert))
    assert raised == [
        (1, AlertRaised("reliable_deterioration", "warning", _rise("PHQ-9", 3, 9, 6))),
        (4, AlertRaised("reliable_deterioration", "warning", _rise("PHQ-9", 3, 10, 6))),
    ]


def _rise(name: str, low: int, high: int, threshold: int) -> str:
    return (
        f"{name} rose from {low} to {high} (+{high - low}; reliable change is {threshold} or more)"
    )


def test_each_instrument_has_its_own_watch() -> None:
    scores_ = [
        score(GAD_7, "g0", START, [0] * 7),
        score(GAD_7, "g1", START + timedelta(weeks=1), [1, 1, 1, 1, 0, 0, 0]),
        phq9("p0", 0, [0] * 9),
        phq9("p1", 1, [1] * 6 + [0] * 3),
    ]
    watch = DeteriorationWatch()
    codes = []
    for index in range(len(scores_)):
        outcomes = patient_outcomes(scores_[: index + 1])
        watch, alerts = measure_alerts(watch, scores_[index], outcomes, INSTRUMENTS)
        codes += [(scores_[index].instrument, alert.code) for alert in alerts]
    assert codes == [("GAD-7", "reliable_deterioration"), ("PHQ-9", "reliable_deterioration")]
    assert watch.to_state() == ["GAD-7", "PHQ-9"]


def test_the_watch_survives_its_state_and_refuses_garbage() -> None:
    watch = DeteriorationWatch(frozenset({"PHQ-9"}))
    assert DeteriorationWatch.from_state(watch.to_state()) == watch
    for garbage in ({"PHQ-9": True}, [1], "PHQ-9"):
        with pytest.raises(StateFormatError):
            DeteriorationWatch.from_state(garbage)


def _observe(arrived: list[ScoredMeasure]) -> tuple[list[bool], list[int], DeteriorationWatch]:
    """Apply scores as a tracker would (re-sent ids skipped): statuses seen, alerts, watch."""
    instrument = INSTRUMENTS[arrived[0].instrument]
    watch = DeteriorationWatch()
    seen: dict[str, ScoredMeasure] = {}
    statuses: list[bool] = []
    alerts: list[int] = []
    for item in arrived:
        if item.event_id in seen:
            continue
        seen[item.event_id] = item
        current = outcome(instrument, seen.values())
        assert current is not None
        watch, alert = watch_deterioration(watch, current)
        assert watch == DeteriorationWatch.of([current])  # guarantee 1, after every score
        statuses.append(current.reliable_change == "deteriorated")
        if alert is not None:
            alerts.append(len(statuses) - 1)
    return statuses, alerts, watch


def _run_starts(statuses: list[bool]) -> list[int]:
    return [
        index
        for index, bad in enumerate(statuses)
        if bad and (index == 0 or not statuses[index - 1])
    ]


def _one_instrument(instrument: Instrument) -> st.SearchStrategy[list[ScoredMeasure]]:
    return scores((instrument,))


@PROPERTY_SETTINGS
@given(st.data(), st.sampled_from([PHQ_9, GAD_7]))
def test_deterioration_alerts_once_per_run_in_any_arrival_order(
    data: st.DataObject, instrument: Instrument
) -> None:
    final = data.draw(_one_instrument(instrument))
    arrived = data.draw(arrivals(final))
    statuses, alerts, watch = _observe(arrived)
    end = outcome(instrument, final)
    assert end is not None
    assert watch == DeteriorationWatch.of([end])  # guarantee 1
    assert alerts == _run_starts(statuses)  # guarantee 2
    if end.reliable_change == "deteriorated":  # guarantee 3
        assert alerts and all(statuses[alerts[-1] :])


@PROPERTY_SETTINGS
@given(st.sampled_from([PHQ_9, GAD_7]), st.data())
def test_scores_in_time_order_alert_once_per_episode(
    instrument: Instrument, data: st.DataObject
) -> None:
    final = data.draw(_one_instrument(instrument))
    history = sorted(set(final), key=lambda item: (item.at, item.event_id))
    episodes = []
    for index in range(len(history)):
        prefix = outcome(instrument, history[: index + 1])
        assert prefix is not None
        episodes.append(prefix.reliable_change == "deteriorated")
    _, alerts, _ = _observe(history)
    assert alerts == _run_starts(episodes)  # guarantee 4
