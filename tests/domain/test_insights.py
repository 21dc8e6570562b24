"""Insights: the brief's rules, raised when they become true, never shaming."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from domain.effects import Effect, InsightRaised
from domain.insights import INSIGHT_RULES
from tests.domain.builders import T0, apply_all, event, of_type, session, tracker


def raised(effects: Sequence[Effect]) -> list[str]:
    return [effect.code for effect in of_type(effects, InsightRaised)]


def current(progress: object, now: object) -> set[str]:
    return {item["code"] for item in progress.snapshot(now)["insights"]}  # type: ignore[attr-defined]


def test_a_steady_streak_with_momentum_means_maintain_pace() -> None:
    progress = tracker("UTC")
    effects = []
    for day in range(3):
        at = T0 + timedelta(days=day)
        effects += progress.apply(
            event("exercise_completed", at, exercise="walk", duration_s=60), at
        )
    # Three days give momentum 0.51: not yet.
    assert "maintain_pace" not in raised(effects)
    at = T0 + timedelta(days=3)
    effects = progress.apply(event("exercise_completed", at, exercise="walk", duration_s=60), at)
    assert raised(effects) == ["maintain_pace"]
    snapshot = progress.snapshot(at)
    assert snapshot["streak"]["current"] == 4 and snapshot["engagement"]["momentum"] >= 0.6
    assert "maintain_pace" in current(progress, at)
    # It lapses quietly when the streak ends, and comes back with a new run.
    later = at + timedelta(days=10)
    assert "maintain_pace" not in current(progress, later)
    progress.tick(later)
    again = []
    for day in range(4):
        when = later + timedelta(days=day)
        again += progress.apply(event("mood_checkin", when, score=6), when)
    assert raised(again).count("maintain_pace") == 1


def test_frequent_mindfulness_suggests_exploring_it() -> None:
    progress = tracker("UTC")
    effects = []
    for day in (0, 5, 9):
        at = T0 + timedelta(days=day)
        exercise = event("exercise_completed", at, exercise="mindfulness/body-scan", duration_s=600)
        effects += progress.apply(exercise, at)
    assert raised(effects) == ["explore_mindfulness"]
    other = tracker("UTC")
    spread = [
        event("exercise_completed", T0 + timedelta(days=d), exercise="mindfulness/x", duration_s=1)
        for d in (0, 15, 30)
    ]
    assert "explore_mindfulness" not in raised(apply_all(other, spread, T0 + timedelta(days=30)))


def test_an_improving_mood_is_noticed() -> None:
    progress = tracker("UTC")
    scores = [3, 3, 4, 3, 6, 7, 7, 8]
    effects = []
    for index, score in enumerate(scores):
        at = T0 + timedelta(days=index)
        effects += progress.apply(event("mood_checkin", at, score=score), at)
    assert raised(effects) == ["mood_improving"] or "mood_improving" in raised(effects)
    assert progress.snapshot(T0 + timedelta(days=8))["mood_trend"]["trend"] == "improving"


def checkins(scores: list[int]) -> list:
    progress = tracker("UTC")
    effects = []
    for index, score in enumerate(scores):
        at = T0 + timedelta(days=index)
        effects += progress.apply(event("mood_checkin", at, score=score), at)
    return raised(effects)


def test_mood_improving_needs_six_readings() -> None:
    assert "mood_improving" not in checkins([3, 4, 7, 8])  # the old rule fired on these
    assert "mood_improving" in checkins([3, 3, 4, 7, 7, 8])


def test_mood_improving_needs_a_whole_point() -> None:
    assert "mood_improving" not in checkins([5, 5, 5, 5, 6, 6])  # +0.67: only a trend


def test_mood_improving_never_fires_on_a_crisis_check_in() -> None:
    # The recent mean rose by 2 points, but the latest check-in is a crisis.
    assert "mood_improving" not in checkins([2, 2, 2, 8, 8, 2])
    assert "mood_improving" not in checkins([1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2])


def test_high_dropout_risk_suggests_shorter_more_frequent_sessions() -> None:
    progress = tracker("UTC")
    events = []
    for week in range(8):
        events += session(f"s{week}", T0 + timedelta(weeks=week))
    last = T0 + timedelta(weeks=8)
    apply_all(progress, events, last)
    codes = []
    for day in range(1, 60):
        codes += raised(progress.tick(last + timedelta(days=day)))
    assert codes.count("shorter_more_frequent_sessions") == 1
    assert "shorter_more_frequent_sessions" in current(progress, last + timedelta(days=59))


def test_messages_are_short_and_kind() -> None:
    for rule in INSIGHT_RULES:
        assert 10 < len(rule.message) <= 120
        lowered = rule.message.lower()
        for word in ("broke", "lost", "fail", "lazy", "missed", "should have"):
            assert word not in lowered


def test_insights_lists_what_holds_now() -> None:
    progress = tracker("UTC")
    assert progress.insights(T0) == []
    for day in range(6):
        at = T0 + timedelta(days=day)
        progress.apply(event("mood_checkin", at, score=3 + day), at)
    now = T0 + timedelta(days=5)
    assert [item["code"] for item in progress.insights(now)] == ["maintain_pace", "mood_improving"]
    assert all(item["message"] for item in progress.insights(now))


def test_frequent_exercises_of_any_kind_suggest_a_related_approach() -> None:
    progress = tracker("UTC")
    effects = []
    for index, name in enumerate(["walking", "journaling", "cbt/thought-record"]):
        at = T0 + timedelta(days=index * 4)
        item = event("exercise_completed", at, exercise=name, duration_s=600)
        effects += progress.apply(item, at)
    assert "explore_mindfulness" in raised(effects)
    # Two exercises, or three spread over more than 14 days, are not yet a habit.
    sparse = tracker("UTC")
    spread = []
    for index in range(3):
        at = T0 + timedelta(days=index * 8)
        spread += sparse.apply(
            event("exercise_completed", at, exercise="walking", duration_s=60), at
        )
    assert "explore_mindfulness" not in raised(spread)
