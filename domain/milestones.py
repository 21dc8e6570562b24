"""Milestones as a declared catalog, and when (in event time) each one was reached.

A rule is data: a metric and a threshold. Every metric is computed from the *ever* facts
(:mod:`domain.everfacts`), which only grow, so a milestone once reached stays reached (a later
correction never takes a celebration back) and the set of milestones is the same whatever the
arrival order.

``achieved_at`` is the instant of the event that reached the milestone when the events are
taken in event-time order ``(at, id)``: for a count metric the k-th smallest key; for a streak,
the earliest moment some run of N consecutive local days was complete (the minimum over every
window of N consecutive active days of the latest first-activity key in the window).
"""

from __future__ import annotations

import hashlib
import heapq
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Literal

from domain.everfacts import EverFacts
from domain.sessions import Key

Metric = Literal["completed_sessions", "streak_days", "skills_acquired", "goals_completed"]


@dataclass(frozen=True, slots=True)
class MilestoneRule:
    """Reached when ``metric`` first reaches ``threshold``."""

    rule: str
    title: str
    metric: Metric
    threshold: int


MILESTONE_RULES: Final[tuple[MilestoneRule, ...]] = (
    MilestoneRule("first_session", "First Session", "completed_sessions", 1),
    MilestoneRule("streak_3", "Three-Day Streak", "streak_days", 3),
    MilestoneRule("streak_7", "One Week Streak", "streak_days", 7),
    MilestoneRule("streak_30", "30-Day Streak", "streak_days", 30),
    MilestoneRule("skills_5", "Skill Builder Level 1", "skills_acquired", 5),
    MilestoneRule("skills_15", "Skill Builder Level 2", "skills_acquired", 15),
    MilestoneRule("skills_30", "Skill Builder Level 3", "skills_acquired", 30),
    MilestoneRule("sessions_10", "10 Sessions", "completed_sessions", 10),
    MilestoneRule("sessions_25", "25 Sessions", "completed_sessions", 25),
    MilestoneRule("first_goal", "First Goal Completed", "goals_completed", 1),
)
"""The contract's rules (PROTOCOL.md section 4); rules may be added, never renamed."""

RULES_BY_METRIC: Final[dict[Metric, tuple[MilestoneRule, ...]]] = {
    metric: tuple(rule for rule in MILESTONE_RULES if rule.metric == metric)
    for metric in ("completed_sessions", "streak_days", "skills_acquired", "goals_completed")
}


UNREACHABLE: Final = 1 << 62
"""A threshold no metric reaches: every rule of that metric is already reached."""
FIRST_THRESHOLDS: Final[dict[Metric, int]] = {
    metric: min((rule.threshold for rule in rules), default=UNREACHABLE)
    for metric, rules in RULES_BY_METRIC.items()
}


def milestone_id(patient_id: str, rule: str) -> str:
    """A URL-safe id, stable for the patient and rule, distinct across patients.

    ``"ms_"`` followed by the first 16 hex digits of SHA-1 over ``"{patient_id}/{rule}"``.
    """
    digest = hashlib.sha1(f"{patient_id}/{rule}".encode(), usedforsecurity=False)
    return "ms_" + digest.hexdigest()[:16]


def metric_value(ever: EverFacts, metric: Metric) -> int:
    """The metric's current (monotone) value."""
    if metric == "completed_sessions":
        return len(ever.ever_sessions)
    if metric == "streak_days":
        return ever.longest_ever_run
    if metric == "skills_acquired":
        return len(ever.skills)
    return len(ever.ever_goals)


def _kth(keys: Iterable[Key], k: int) -> Key | None:
    smallest = heapq.nsmallest(k, keys)
    return smallest[-1] if len(smallest) == k else None


def _streak_key(days: dict[int, Key], length: int) -> Key | None:
    best: Key | None = None
    window: deque[tuple[int, Key]] = deque()  # decreasing keys: front is the window's max
    run_start = 0
    previous: int | None = None
    for day in sorted(days):
        if previous is None or day != previous + 1:
            window.clear()
            run_start = day
        previous = day
        key = days[day]
        while window and window[-1][1] <= key:
            window.pop()
        window.append((day, key))
        if day - run_start + 1 >= length:
            while window[0][0] <= day - length:
                window.popleft()
            if best is None or window[0][1] < best:
                best = window[0][1]
    return best


def reached_key(ever: EverFacts, rule: MilestoneRule) -> Key | None:
    """The event-time key of the event that reached ``rule``; None when not reached."""
    if rule.metric == "completed_sessions":
        return _kth(ever.ever_sessions.values(), rule.threshold)
    if rule.metric == "streak_days":
        return _streak_key(ever.ever_days, rule.threshold)
    if rule.metric == "skills_acquired":
        return _kth(ever.skills, rule.threshold)
    return _kth(ever.ever_goals.values(), rule.threshold)
