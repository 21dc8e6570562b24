"""Daily streaks over a patient's active local days."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True, slots=True)
class Streak:
    """``current`` counts consecutive active days ending today or yesterday (local).

    A streak survives until the patient's day is over: yesterday's run still counts today.
    """

    current: int
    longest: int
    last_active_day: date | None

    def to_wire(self) -> dict[str, object]:
        return {
            "current": self.current,
            "longest": self.longest,
            "last_active_day": self.last_active_day.isoformat() if self.last_active_day else None,
        }


def streak_from_ordinals(active: list[int], today: int) -> Streak:
    """The streak as of ``today`` given every day the patient was active.

    Args:
        active: sorted, distinct local day ordinals on which the patient was active.
        today: the patient's local day ordinal now.
    """
    if not active:
        return Streak(0, 0, None)
    longest = run = 1
    for index in range(1, len(active)):
        run = run + 1 if active[index] == active[index - 1] + 1 else 1
        longest = max(longest, run)
    return Streak(current_streak(active, today), longest, date.fromordinal(active[-1]))


def current_streak(active: list[int], today: int, cap: int | None = None) -> int:
    """Consecutive active days ending today or yesterday; stops counting at ``cap``."""
    # Days after today (a skewed client clock) neither extend nor break the current streak.
    index = bisect_right(active, today) - 1
    if index < 0 or today - active[index] > 1:
        return 0
    length = 1
    while index > 0 and active[index - 1] == active[index] - 1:
        if cap is not None and length >= cap:
            break
        length += 1
        index -= 1
    return length
