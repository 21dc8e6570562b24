"""The facts milestones are computed from: they only grow, so milestones are never taken back.

A session once reported completed, a day once active (and the runs of consecutive such days), a
skill once acquired, a goal once completed. No later event removes one, which keeps milestones
monotone and order-independent. Each fact keeps the smallest event-time key that established
it, so ``achieved_at`` does not depend on arrival order either.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeVar

from domain.sessions import Key


@dataclass(slots=True, eq=False)
class EverFacts:
    """The ever facts of one patient; the ledger's folds add to them."""

    ever_sessions: dict[str, Key] = field(default_factory=dict)
    ever_days: dict[int, Key] = field(default_factory=dict)
    # Runs of consecutive ever-active days, indexed from both ends.
    run_end: dict[int, int] = field(default_factory=dict)  # run start -> run end
    run_start: dict[int, int] = field(default_factory=dict)  # run end -> run start
    longest_ever_run: int = 0
    skills: list[Key] = field(default_factory=list)
    ever_goals: dict[str, Key] = field(default_factory=dict)

    def add_session(self, session_id: str, key: Key) -> bool:
        """Record a completion report; True when the session is newly known as completed."""
        return _keep_smallest(self.ever_sessions, session_id, key)

    def add_goal(self, goal_id: str, key: Key) -> None:
        """Record a goal reported completed."""
        _keep_smallest(self.ever_goals, goal_id, key)

    def add_day(self, day: int, key: Key) -> int:
        """Record that ``day`` was active; the length of its run if the day is new, else 0."""
        if not _keep_smallest(self.ever_days, day, key):
            return 0
        # Join the runs ending the day before and starting the day after, if any.
        start = self.run_start.pop(day - 1, day)
        end = self.run_end.pop(day + 1, day)
        self.run_end.pop(start, None)
        self.run_start.pop(end, None)
        self.run_end[start] = end
        self.run_start[end] = start
        length = end - start + 1
        self.longest_ever_run = max(self.longest_ever_run, length)
        return length

    def runs(self) -> tuple[dict[int, int], dict[int, int]]:
        """Every run of consecutive ever-active days: copies of (start -> end, end -> start)."""
        return dict(self.run_end), dict(self.run_start)

    def rebuild_runs(self) -> None:
        """Recompute the runs of consecutive ever-active days after days were taken back."""
        self.run_end.clear()
        self.run_start.clear()
        self.longest_ever_run = 0
        for day in sorted(self.ever_days):
            start = self.run_start.pop(day - 1, day)
            self.run_end[start] = day
            self.run_start[day] = start
            self.longest_ever_run = max(self.longest_ever_run, day - start + 1)


Name = TypeVar("Name", str, int)


def _keep_smallest(facts: dict[Name, Key], name: Name, key: Key) -> bool:
    """Keep the smallest key seen for ``name``; True when ``name`` is new."""
    first = facts.get(name)
    if first is None:
        facts[name] = key
        return True
    if key < first:
        facts[name] = key
    return False
