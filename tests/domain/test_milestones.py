"""Milestones: the contract's rules, reached once, in event time, celebrated until acknowledged."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from domain.effects import Effect, MilestoneReached
from domain.milestones import MILESTONE_RULES, milestone_id
from tests.domain.builders import T0, apply_all, event, of_type, session, tracker

CONTRACT_TITLES = {
    "first_session": "First Session",
    "streak_3": "Three-Day Streak",
    "streak_7": "One Week Streak",
    "streak_30": "30-Day Streak",
    "skills_5": "Skill Builder Level 1",
    "skills_15": "Skill Builder Level 2",
    "skills_30": "Skill Builder Level 3",
    "sessions_10": "10 Sessions",
    "sessions_25": "25 Sessions",
    "first_goal": "First Goal Completed",
}


def reached(effects: Sequence[Effect]) -> list[str]:
    return [effect.milestone.rule for effect in of_type(effects, MilestoneReached)]


def test_the_catalog_holds_every_contract_rule_with_its_title() -> None:
    assert {rule.rule: rule.title for rule in MILESTONE_RULES} == CONTRACT_TITLES


def test_seven_consecutive_days_reach_one_week_streak() -> None:
    progress = tracker("UTC")
    checkins = [event("mood_checkin", T0 + timedelta(days=day), score=6) for day in range(7)]
    effects = apply_all(progress, checkins[:6], T0 + timedelta(days=6))
    assert reached(effects) == ["streak_3"]
    effects = progress.apply(checkins[6], T0 + timedelta(days=6))
    assert reached(effects) == ["streak_7"]
    (milestone,) = [item for item in progress.milestones() if item.rule == "streak_7"]
    assert milestone.title == "One Week Streak"
    assert milestone.achieved_at == T0 + timedelta(days=6)


def test_a_gap_day_filled_late_reaches_the_streak_at_the_latest_needed_event() -> None:
    progress = tracker("UTC")
    days = [0, 1, 3, 4, 5, 6, 2]  # day 2 arrives last, but happened before days 3..6
    effects = apply_all(
        progress, [event("mood_checkin", T0 + timedelta(days=d), score=6) for d in days], T0
    )
    assert sorted(reached(effects)) == ["streak_3", "streak_7"]
    achieved = {item.rule: item.achieved_at for item in progress.milestones()}
    # In event time, days 0..2 complete three days at day 2; one week completes at day 6.
    assert achieved["streak_3"] == T0 + timedelta(days=2)
    assert achieved["streak_7"] == T0 + timedelta(days=6)


def test_five_skills_reach_skill_builder_level_1_once() -> None:
    progress = tracker("UTC")
    markers = [
        event("progress_marker", T0 + timedelta(hours=h), marker="SKILL_ACQUIRED") for h in range(6)
    ]
    markers.append(event("progress_marker", T0, marker="BREAKTHROUGH"))
    effects = apply_all(progress, markers, T0 + timedelta(days=1))
    assert reached(effects) == ["skills_5"]
    assert progress.milestones()[0].title == "Skill Builder Level 1"
    assert progress.milestones()[0].achieved_at == T0 + timedelta(hours=4)


def test_session_count_milestones_and_first_goal() -> None:
    progress = tracker("UTC")
    events = []
    for index in range(10):
        events += session(f"s{index}", T0 + timedelta(days=3 * index))
    events.append(event("goal_updated", T0, goal_id="g1", status="in_progress"))
    events.append(event("goal_updated", T0 + timedelta(days=1), goal_id="g1", status="completed"))
    effects = apply_all(progress, events, T0 + timedelta(days=40))
    assert sorted(reached(effects)) == ["first_goal", "first_session", "sessions_10"]
    achieved = {item.rule: item.achieved_at for item in progress.milestones()}
    assert achieved["first_session"] == T0 + timedelta(minutes=50)
    assert achieved["sessions_10"] == T0 + timedelta(days=27, minutes=50)


def test_cancelled_sessions_do_not_count_and_a_correction_takes_nothing_back() -> None:
    progress = tracker("UTC")
    effects = apply_all(progress, session("s1", T0, status="cancelled"), T0)
    assert reached(effects) == []
    effects = apply_all(progress, session("s2", T0 + timedelta(days=1)), T0 + timedelta(days=2))
    assert reached(effects) == ["first_session"]
    later = T0 + timedelta(days=1, hours=2)
    correction = event("session_ended", later, session_id="s2", status="cancelled", duration_s=0)
    assert reached(progress.apply(correction, later)) == []
    assert [item.rule for item in progress.milestones()] == ["first_session"]
    assert progress.snapshot(later)["total_sessions"] == 0


def test_replaying_and_resending_never_reaches_a_milestone_twice() -> None:
    progress = tracker("UTC")
    events = session("s1", T0)
    first = apply_all(progress, events, T0)
    again = apply_all(progress, events, T0)
    assert reached(first) == ["first_session"]
    assert again == []


def test_milestone_ids_are_stable_url_safe_and_distinct_across_patients() -> None:
    one = tracker("UTC", "patient-1")
    two = tracker("UTC", "patient-2")
    for progress, pid in ((one, "patient-1"), (two, "patient-2")):
        apply_all(progress, session("s1", T0, patient_id=pid), T0)
    (first,) = one.milestones()
    (second,) = two.milestones()
    assert first.id == milestone_id("patient-1", "first_session") != second.id
    assert re.fullmatch(r"ms_[0-9a-f]{16}", first.id)


def test_celebrations_stay_pending_until_marked_and_are_marked_once() -> None:
    progress = tracker("UTC")
    apply_all(progress, session("s1", T0), T0)
    (pending,) = progress.pending_celebrations()
    wire = progress.snapshot(T0)["milestones"][0]
    assert wire["celebration_shown"] is False
    assert wire["achieved_at"] == "2026-11-02T12:50:00Z"
    assert progress.mark_celebrated([pending.id, "ms_unknown", pending.id]) == [pending.id]
    assert progress.mark_celebrated([pending.id]) == []
    assert progress.pending_celebrations() == []
    assert progress.snapshot(T0)["milestones"][0]["celebration_shown"] is True


def test_a_thirty_day_streak_reaches_every_streak_rule() -> None:
    progress = tracker("Asia/Kolkata")
    start = datetime(2026, 6, 1, 18, 40, tzinfo=UTC)  # 00:10 the next day in Kolkata
    effects = apply_all(
        progress,
        [
            event("exercise_completed", start + timedelta(days=d), exercise="walk", duration_s=60)
            for d in range(30)
        ],
        start + timedelta(days=30),
    )
    assert reached(effects) == ["streak_3", "streak_7", "streak_30"]


def test_a_refold_after_a_zone_change_reaches_nothing_twice() -> None:
    progress = tracker("UTC")
    checkins = [event("mood_checkin", T0 + timedelta(days=d), score=6) for d in range(3)]
    assert reached(apply_all(progress, checkins, T0 + timedelta(days=3))) == ["streak_3"]
    moved = progress.patient.reassigned("t1", "Asia/Tokyo", T0 + timedelta(days=3))
    effects = progress.reassign(moved)
    assert reached(effects) == []
    assert [item.rule for item in progress.milestones()] == ["streak_3"]
    assert progress.snapshot(T0 + timedelta(days=3))["timezone"] == "Asia/Tokyo"
