"""The tracker keeps scored questionnaires: alerts, the progress document, series and state."""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from domain.effects import AlertRaised, MilestoneReached, SeriesDelta
from domain.events import Event
from domain.progress import PatientProgress
from domain.reports import effectiveness_report
from tests.domain.builders import T0, apply_all, event, of_type, patient, tracker
from tests.domain.strategies import PROPERTY_SETTINGS

NOW = T0 + timedelta(days=30)


def measure(at: datetime, instrument: str, items: list[int], id: str | None = None) -> Event:
    return event("measure_completed", at, id=id, instrument=instrument, items=items)


def course() -> list[Event]:
    """PHQ-9 16 -> 8 and GAD-7 12 -> 7, two weeks apart: a reliable recovery on both."""
    return [
        measure(T0, "PHQ-9", [2, 2, 2, 2, 2, 2, 2, 2, 0], id="phq-1"),
        measure(T0, "GAD-7", [2, 2, 2, 2, 2, 1, 1], id="gad-1"),
        measure(T0 + timedelta(days=14), "PHQ-9", [1, 1, 1, 1, 1, 1, 1, 1, 0], id="phq-2"),
        measure(T0 + timedelta(days=14), "GAD-7", [1, 1, 1, 1, 1, 1, 1], id="gad-2"),
    ]


def test_item_nine_raises_the_critical_screen_alert_at_once() -> None:
    progress = tracker()
    effects = progress.apply(measure(T0, "PHQ-9", [0, 0, 0, 0, 0, 0, 0, 0, 1]), NOW)
    alerts = of_type(effects, AlertRaised)
    assert [(alert.code, alert.severity) for alert in alerts] == [
        ("suicide_risk_screen", "critical")
    ]


def test_a_reliable_rise_raises_one_deterioration_warning() -> None:
    progress = tracker()
    effects = apply_all(
        progress,
        [
            measure(T0, "GAD-7", [1, 1, 1, 0, 0, 0, 0]),
            measure(T0 + timedelta(days=7), "GAD-7", [2, 2, 1, 1, 1, 0, 0]),
            measure(T0 + timedelta(days=14), "GAD-7", [2, 2, 2, 1, 1, 0, 0]),
        ],
        NOW,
    )
    codes = [(alert.code, alert.severity) for alert in of_type(effects, AlertRaised)]
    assert codes == [("reliable_deterioration", "warning")]


def test_measures_in_the_progress_document_without_history() -> None:
    progress = tracker()
    apply_all(progress, course(), NOW)
    measures = progress.snapshot(NOW)["measures"]
    assert set(measures) == {"PHQ-9", "GAD-7"}
    phq = measures["PHQ-9"]
    assert (phq["baseline"]["total"], phq["latest"]["total"], phq["change"]) == (16, 8, -8)
    assert phq["reliable_recovery"] and measures["GAD-7"]["reliable_recovery"]
    assert "history" not in phq


def test_series_carry_each_days_latest_total_and_null_elsewhere() -> None:
    progress = tracker()
    effects = apply_all(progress, course(), T0 + timedelta(days=14, hours=1))
    series = progress.series(T0 + timedelta(days=14, hours=1), days=15)["series"]
    assert series["phq9_total"][0] == 16 and series["gad7_total"][0] == 12
    assert series["phq9_total"][-1] == 8 and series["gad7_total"][-1] == 7
    assert series["phq9_total"][1:-1] == [None] * 13
    deltas = of_type(effects, SeriesDelta)
    assert deltas[-1].values["phq9_total"] == 8
    assert deltas[-1].values["gad7_total"] == 7


def test_a_day_without_a_score_charts_null_totals_live() -> None:
    progress = tracker()
    effects = progress.apply(event("mood_checkin", T0, score=6), NOW)
    (delta,) = of_type(effects, SeriesDelta)
    assert delta.values["phq9_total"] is None and delta.values["gad7_total"] is None


def test_the_scores_survive_saved_state() -> None:
    progress = tracker()
    apply_all(progress, course(), NOW)
    restored = PatientProgress.from_state(patient(), progress.to_state())
    assert restored.snapshot(NOW)["measures"] == progress.snapshot(NOW)["measures"]
    assert restored.series(NOW, 40) == progress.series(NOW, 40)


def test_a_state_saved_before_measures_reads_as_no_scores() -> None:
    progress = tracker()
    progress.apply(event("mood_checkin", T0, score=6), NOW)
    state = progress.to_state()
    del state["measures"]
    restored = PatientProgress.from_state(patient(), state)
    assert restored.snapshot(NOW)["measures"] == {}
    assert restored.snapshot(NOW) == progress.snapshot(NOW)


def test_a_restored_watch_does_not_raise_the_deterioration_again() -> None:
    progress = tracker()
    apply_all(
        progress,
        [
            measure(T0, "GAD-7", [0, 0, 0, 0, 0, 0, 0]),
            measure(T0 + timedelta(days=7), "GAD-7", [1, 1, 1, 1, 1, 0, 0]),
        ],
        NOW,
    )
    restored = PatientProgress.from_state(patient(), progress.to_state())
    later = restored.apply(measure(T0 + timedelta(days=14), "GAD-7", [1, 1, 1, 1, 1, 1, 0]), NOW)
    assert of_type(later, AlertRaised) == []


@PROPERTY_SETTINGS
@given(st.permutations(course()))
def test_measures_and_series_do_not_depend_on_arrival_order(events: list[Event]) -> None:
    ordered, shuffled = tracker(), tracker()
    apply_all(ordered, course(), NOW)
    apply_all(shuffled, events, NOW)
    assert shuffled.snapshot(NOW)["measures"] == ordered.snapshot(NOW)["measures"]
    assert shuffled.series(NOW, 40) == ordered.series(NOW, 40)
    assert shuffled.outcomes() == ordered.outcomes()


def test_the_report_judges_change_by_reliable_change_where_measured() -> None:
    progress = tracker()
    apply_all(progress, course(), NOW)
    start, end = T0.date(), (T0 + timedelta(days=20)).date()
    report = effectiveness_report(progress, start, end, [])
    assert report["outcomes"]["PHQ-9"]["reliable_recovery"] is True
    assert report["outcomes"]["GAD-7"]["change"] == -5
    assert any("PHQ-9 went from 16 to 8: a reliable improvement" in f for f in report["findings"])
    assert not any(finding.startswith("Mood across") for finding in report["findings"])
    later = effectiveness_report(progress, end, end, [])
    assert later["outcomes"] == {}


@PROPERTY_SETTINGS
@given(st.permutations(range(4)), st.permutations(range(4)))
def test_a_celebrations_achieved_at_is_the_same_whatever_the_batch_order(
    first: list[int], second: list[int]
) -> None:
    """Four check-ins on consecutive days, at different hours, in any order in one batch."""
    days = [
        event("mood_checkin", T0 + timedelta(days=d, hours=d * 3), id=f"c{d}", score=6)
        for d in range(4)
    ]
    celebrated = []
    for order in (first, second):
        progress = tracker("UTC")
        effects = progress.apply_many([days[index] for index in order], NOW)
        live = {
            item.milestone.rule: item.milestone.achieved_at
            for item in of_type(effects, MilestoneReached)
        }
        rest = {item.rule: item.achieved_at for item in progress.milestones()}
        assert live == rest
        celebrated.append(live)
    assert celebrated[0] == celebrated[1]
    assert celebrated[0]["streak_3"] == T0 + timedelta(days=2, hours=6)
