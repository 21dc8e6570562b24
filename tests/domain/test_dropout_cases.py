"""The dropout score sees every patient: the three cases of issue 14, with their numbers."""

from __future__ import annotations

from datetime import timedelta

from domain.dropout import MODEL_VERSION
from domain.effects import AlertRaised
from domain.events import Event
from domain.progress import PatientProgress
from tests.domain.builders import T0, apply_all, event, of_type, session, tracker


def dropout_alerts(effects: list) -> list[AlertRaised]:
    return [alert for alert in of_type(effects, AlertRaised) if alert.code == "dropout_risk_high"]


def app_only_patient() -> PatientProgress:
    """Four weeks of daily check-ins and no session at all; the last one on day 27."""
    progress = tracker("UTC")
    checkins = [event("mood_checkin", T0 + timedelta(days=day), score=6) for day in range(28)]
    apply_all(progress, checkins, T0 + timedelta(days=28))
    return progress


def test_app_only_silence_of_three_gaps_and_14_days_alerts() -> None:
    progress = app_only_patient()
    thirteen = T0 + timedelta(days=27 + 13)
    assert dropout_alerts(progress.tick(thirteen)) == []
    assert progress.snapshot(thirteen)["dropout_risk"]["score"] == 0.45  # the old ceiling
    fourteen = T0 + timedelta(days=27 + 14)
    assert len(dropout_alerts(progress.tick(fourteen))) == 1
    risk = progress.snapshot(fourteen)["dropout_risk"]
    assert risk["score"] == 0.65 and risk["level"] == "high"
    silence = next(factor for factor in risk["factors"] if factor["name"] == "silence")
    assert silence["app_only_prolonged"] is True
    later = T0 + timedelta(days=27 + 120)
    assert dropout_alerts(progress.tick(later)) == []  # once per excursion
    assert progress.snapshot(later)["dropout_risk"]["score"] == 0.65


def weekly_then_missed(statuses: list[str]) -> list[Event]:
    events: list[Event] = []
    for week, status in enumerate(statuses):
        minutes = 50 if status == "completed" else 0
        events += session(f"s{week}", T0 + timedelta(weeks=week), status=status, minutes=minutes)
    return events


def test_two_no_shows_in_a_row_after_six_weekly_sessions_alert() -> None:
    progress = tracker("UTC")
    now = T0 + timedelta(weeks=7, hours=2)
    effects = apply_all(progress, weekly_then_missed(["completed"] * 6 + ["no_show"] * 2), now)
    assert len(dropout_alerts(effects)) == 1
    risk = progress.snapshot(now)["dropout_risk"]
    assert risk["score"] == 0.662  # 0.362 before, plus the run's 0.30
    missed = next(factor for factor in risk["factors"] if factor["name"] == "missed_sessions")
    assert missed["in_a_row"] == 2 and missed["contribution"] == 0.337  # 0.30 + 0.15 x 2/8


def test_the_same_two_misses_scattered_weigh_less() -> None:
    progress = tracker("UTC")
    now = T0 + timedelta(weeks=7, hours=2)
    statuses = ["completed", "no_show", "completed", "completed", "no_show", "completed"]
    effects = []
    for item in weekly_then_missed(statuses + ["completed"] * 2):
        effects += progress.apply(item, item.at + timedelta(minutes=1))
    assert dropout_alerts(effects) == []
    missed = next(
        factor
        for factor in progress.snapshot(now)["dropout_risk"]["factors"]
        if factor["name"] == "missed_sessions"
    )
    assert missed["in_a_row"] == 0 and missed["contribution"] == 0.037


def test_an_intake_only_patient_is_still_alerted_at_day_28() -> None:
    progress = tracker("UTC")
    apply_all(progress, session("intake", T0), T0 + timedelta(hours=2))
    for day in (14, 21, 27):
        assert dropout_alerts(progress.tick(T0 + timedelta(days=day))) == []
    assert len(dropout_alerts(progress.tick(T0 + timedelta(days=28)))) == 1
    assert progress.snapshot(T0 + timedelta(days=28))["dropout_risk"]["score"] == 0.65


def test_the_risk_names_its_model_version() -> None:
    risk = tracker().snapshot(T0)["dropout_risk"]
    assert risk["model_version"] == MODEL_VERSION == 2
