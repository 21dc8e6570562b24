"""Crisis and dropout alerts, and the marks that survive a restart."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from domain.effects import AlertRaised, Effect, StateChanged
from domain.events import Event
from tests.domain.builders import T0, apply_all, event, of_type, session, tracker


def alerts(effects: Sequence[Effect], code: str) -> list[AlertRaised]:
    return [effect for effect in of_type(effects, AlertRaised) if effect.code == code]


def test_a_low_checkin_raises_mood_crisis_at_once_every_time() -> None:
    progress = tracker("UTC")
    for minute in range(3):
        at = T0 + timedelta(minutes=minute)
        (alert,) = alerts(progress.apply(event("mood_checkin", at, score=2), at), "mood_crisis")
        assert alert.severity == "critical"
    assert alerts(progress.apply(event("mood_checkin", T0, score=3), T0), "mood_crisis") == []


def test_low_session_moods_and_steep_falls_raise_mood_crisis() -> None:
    progress = tracker("UTC")
    assert len(alerts(apply_all(progress, session("a", T0, pre=1, post=5), T0), "mood_crisis")) == 1
    assert len(alerts(apply_all(progress, session("b", T0, pre=7, post=2), T0), "mood_crisis")) == 1
    fall = alerts(apply_all(progress, session("c", T0, pre=8, post=5), T0), "mood_crisis")
    assert len(fall) == 1 and "fell from 8 to 5" in fall[0].detail
    assert alerts(apply_all(progress, session("d", T0, pre=8, post=6), T0), "mood_crisis") == []


def test_a_fall_is_detected_whichever_half_of_the_session_arrives_last() -> None:
    progress = tracker("UTC")
    started, ended = session("s", T0, pre=9, post=5)
    assert alerts(progress.apply(ended, T0), "mood_crisis") == []
    assert len(alerts(progress.apply(started, T0), "mood_crisis")) == 1


def test_a_duplicate_event_raises_nothing() -> None:
    progress = tracker("UTC")
    checkin = event("mood_checkin", T0, score=1)
    assert alerts(progress.apply(checkin, T0), "mood_crisis")
    assert progress.apply(checkin, T0) == []


def weekly_sessions(count: int) -> list[Event]:
    events = []
    for index in range(count):
        events += session(f"s{index}", T0 + timedelta(weeks=index), minutes=50)
    return events


def test_silence_raises_dropout_risk_high_once_and_rearms_below_half() -> None:
    progress = tracker("UTC")
    last = T0 + timedelta(weeks=7)
    apply_all(progress, weekly_sessions(8), last)
    risk = progress.snapshot(last)["dropout_risk"]
    assert risk["level"] == "low"
    assert {factor["name"] for factor in risk["factors"]} == {
        "silence",
        "frequency_decline",
        "missed_sessions",
        "falling_mood",
        "shorter_sessions",
    }
    raised = []
    for day in range(1, 60):
        raised += alerts(progress.tick(last + timedelta(days=day)), "dropout_risk_high")
    assert len(raised) == 1
    quiet = last + timedelta(days=59)
    assert progress.snapshot(quiet)["dropout_risk"]["score"] > 0.6
    assert progress.marks()["dropout_alert"] == {"armed": False}
    # Coming back lowers the risk below 0.5: the alert re-arms, and can fire again later.
    back = quiet + timedelta(hours=1)
    apply_all(progress, session("back", back), back)
    assert progress.snapshot(back)["dropout_risk"]["score"] < 0.5
    assert progress.marks()["dropout_alert"] == {"armed": True}
    again = []
    for day in range(1, 90):
        again += alerts(progress.tick(back + timedelta(days=day)), "dropout_risk_high")
    assert len(again) == 1


def test_the_alert_does_not_rearm_between_half_and_high() -> None:
    progress = tracker("UTC")
    last = T0 + timedelta(weeks=7)
    apply_all(progress, weekly_sessions(8), last)
    day = 1
    while not alerts(progress.tick(last + timedelta(days=day)), "dropout_risk_high"):
        day += 1
    # Re-observing scores above 0.5 (but never below) must not raise again.
    for extra in range(30):
        assert not alerts(progress.tick(last + timedelta(days=day + extra)), "dropout_risk_high")


def test_missed_sessions_raise_the_risk_on_apply() -> None:
    progress = tracker("UTC")
    now = T0 + timedelta(weeks=12)
    events = weekly_sessions(4)
    for index in range(10):
        at = T0 + timedelta(weeks=4 + index // 2, days=index % 2)
        events.append(
            event("session_ended", at, session_id=f"m{index}", status="no_show", duration_s=0)
        )
    effects = apply_all(progress, events, now)
    assert len(alerts(effects, "dropout_risk_high")) == 1
    factors = {f["name"]: f for f in progress.snapshot(now)["dropout_risk"]["factors"]}
    assert (
        factors["missed_sessions"]["contribution"] == 0.45
    )  # all 10 missed (0.15) and in a row (0.30)


def test_tick_reports_state_only_when_a_figure_changed() -> None:
    progress = tracker("UTC")
    now = datetime(2026, 11, 20, 10, tzinfo=UTC)
    progress.apply(event("mood_checkin", now, score=6), now)
    assert of_type(progress.tick(now + timedelta(minutes=5)), StateChanged) == []
    assert of_type(progress.tick(now + timedelta(hours=1)), StateChanged) == []
    # Local midnight passes: momentum and the 'days since' figures move.
    assert of_type(progress.tick(now + timedelta(days=1)), StateChanged) == [StateChanged()]
    assert of_type(progress.tick(now + timedelta(days=1, hours=1)), StateChanged) == []


def test_tick_on_an_empty_tracker_reports_nothing() -> None:
    assert tracker("UTC").tick(T0) == []


def test_marks_round_trip_through_json_and_a_replay() -> None:
    progress = tracker("UTC")
    events = weekly_sessions(8)
    last = T0 + timedelta(weeks=7)
    apply_all(progress, events, last)
    for day in range(1, 60):
        progress.tick(last + timedelta(days=day))
    first = progress.milestones()[0]
    progress.mark_celebrated([first.id])
    marks = json.loads(json.dumps(progress.marks()))
    assert marks["celebrated"] == [first.id]

    restarted = tracker("UTC")
    quiet = last + timedelta(days=60)
    for item in events:
        restarted.apply(item, quiet)  # effects discarded, as the shell does on start
    restarted.restore_marks(marks)
    assert restarted.marks() == progress.marks()
    assert restarted.pending_celebrations() == progress.pending_celebrations()
    assert first not in restarted.pending_celebrations()
    assert alerts(restarted.tick(quiet + timedelta(days=1)), "dropout_risk_high") == []


def test_restore_marks_tolerates_missing_and_malformed_parts() -> None:
    progress = tracker("UTC")
    progress.restore_marks({})
    assert progress.marks() == {"version": 1, "celebrated": [], "dropout_alert": {"armed": True}}
    progress.restore_marks({"celebrated": ["a", 3], "dropout_alert": {"armed": "no"}})
    assert progress.marks()["celebrated"] == ["a"]
    assert progress.marks()["dropout_alert"] == {"armed": True}
