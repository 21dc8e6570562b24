"""Local days as integers, and what one day of a patient's life holds.

Days are proleptic Gregorian ordinals (``date.toordinal()``): integers hash and compare faster
than ``date`` objects on the hot path, and turn back into dates only at the edges.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Final

QUARTER_HOUR_S: Final = 900

ChartSums = tuple[int, int, int, int, int, int]
"""A day's ``(activity, millis, pre_sum, pre_n, post_sum, post_n)``."""


@dataclass(slots=True, eq=False)
class DayBucket:
    """Everything that happened on one local day, as sums that can be taken back.

    Sums and counts (rather than averages) let a superseded fact be withdrawn exactly.
    """

    # The month's mood sums [pre_sum, pre_n, post_sum, post_n], shared by its days, so a mood
    # updates its month without a calendar conversion.
    month: list[int] = field(default_factory=lambda: [0, 0, 0, 0])
    activity: int = 0  # completed sessions + exercises + mood check-ins
    millis: int = 0  # completed session + exercise time, in integer ms: exact sums
    pre_sum: int = 0
    pre_n: int = 0
    post_sum: int = 0
    post_n: int = 0
    checkin_sum: int = 0
    checkin_n: int = 0
    sessions: int = 0  # completed sessions
    mindfulness: int = 0  # exercises tagged mindfulness/*

    def counts(self) -> tuple[int, ...]:
        """The numbers after ``month``, in declaration order (for a tracker's state)."""
        return (
            self.activity,
            self.millis,
            self.pre_sum,
            self.pre_n,
            self.post_sum,
            self.post_n,
            self.checkin_sum,
            self.checkin_n,
            self.sessions,
            self.mindfulness,
        )

    def chart_sums(self) -> ChartSums:
        """The sums the chart values are computed from (see :func:`chart_values`)."""
        return (self.activity, self.millis, self.pre_sum, self.pre_n, self.post_sum, self.post_n)

    def chart_values(self) -> dict[str, float | None]:
        """The values this bucket contributes to the daily chart series."""
        return chart_values(self.chart_sums())


def chart_values(sums: ChartSums) -> dict[str, float | None]:
    """A day's chart values from its sums.

    Two-decimal rounding is done in integers (half up), so any order of events gives the same
    figures.
    """
    activity, millis, pre_sum, pre_n, post_sum, post_n = sums
    return {
        "activity_count": float(activity),
        "minutes": (millis + 300) // 600 / 100,
        "mood_pre": (200 * pre_sum + pre_n) // (2 * pre_n) / 100 if pre_n else None,
        "mood_post": (200 * post_sum + post_n) // (2 * post_n) / 100 if post_n else None,
    }


EMPTY_DAY: Final = DayBucket()


def iso_day(ordinal: int) -> str:
    """``YYYY-MM-DD`` for a day ordinal."""
    return date.fromordinal(ordinal).isoformat()


def month_key(ordinal: int) -> int:
    """A month as one integer (``year * 12 + month - 1``) so months sort and subtract."""
    day = date.fromordinal(ordinal)
    return day.year * 12 + day.month - 1


def month_label(key: int) -> str:
    """``YYYY-MM`` for a month key."""
    return f"{key // 12:04d}-{key % 12 + 1:02d}"
