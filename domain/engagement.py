"""How engaged a patient is: session counts, frequency, stickiness and momentum.

Every figure here is derived on demand from the ledger's sorted indexes (``bisect`` counts,
at most a two-week walk), never kept as a running total, so it is the same whatever order the
events arrived in and it moves with ``today`` without any event.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from datetime import date
from typing import Any, Final, Literal

from domain.ledger import Ledger

FREQUENCY_WINDOW_DAYS: Final = 28
"""The frequency trend compares the last 4 weeks with the 4 weeks before."""
FREQUENCY_MIN_CHANGE: Final = 1
FREQUENCY_RELATIVE_CHANGE: Final = 0.25
MOMENTUM_DAYS: Final = 14
MOMENTUM_DECAY: Final = 0.8
"""An active day ``a`` days ago weighs ``0.8 ** a``; momentum is the weighted share of days."""
_MOMENTUM_NORM: Final = sum(MOMENTUM_DECAY**age for age in range(MOMENTUM_DAYS))
_MOMENTUM_SHARE: Final = tuple(MOMENTUM_DECAY**age / _MOMENTUM_NORM for age in range(MOMENTUM_DAYS))

FrequencyTrend = Literal["increasing", "stable", "declining"]


def count_between(index: list[int], first: int, last: int) -> int:
    """How many entries of the sorted ``index`` lie in ``[first, last]``."""
    return bisect_right(index, last) - bisect_left(index, first)


def frequency_windows(ledger: Ledger, today: int) -> tuple[int, int]:
    """Completed sessions in the last 28 local days and in the 28 days before those."""
    recent = count_between(ledger.completed_days, today - FREQUENCY_WINDOW_DAYS + 1, today)
    start = today - 2 * FREQUENCY_WINDOW_DAYS + 1
    earlier = count_between(ledger.completed_days, start, today - FREQUENCY_WINDOW_DAYS)
    return recent, earlier


def frequency_trend(recent: int, earlier: int) -> FrequencyTrend:
    """``increasing``/``declining`` when the change is at least max(1, 25% of before)."""
    margin = max(FREQUENCY_MIN_CHANGE, FREQUENCY_RELATIVE_CHANGE * earlier)
    if recent >= earlier + margin:
        return "increasing"
    if recent <= earlier - margin:
        return "declining"
    return "stable"


def weekly_average(ledger: Ledger, today: int) -> float:
    """Completed sessions per week since the first one (at least one week of span)."""
    if not ledger.completed_days:
        return 0.0
    span_days = max(7, today - ledger.completed_days[0] + 1)
    return round(len(ledger.completed_days) * 7 / span_days, 2)


def momentum(ledger: Ledger, today: int) -> float:
    """Recency-weighted share of active days over the last two weeks, in 0..1."""
    active = ledger.active_days
    start = bisect_left(active, today - MOMENTUM_DAYS + 1)
    stop = bisect_right(active, today)
    share = _MOMENTUM_SHARE
    return round(min(1.0, sum([share[today - day] for day in active[start:stop]])), 3)


def _iso(ordinal: int | None) -> str | None:
    return None if ordinal is None else date.fromordinal(ordinal).isoformat()


def rate(part: int, whole: int) -> float:
    """``part / whole`` rounded for display; 0.0 when there is nothing to divide."""
    return round(part / whole, 3) if whole else 0.0


def engagement(ledger: Ledger, today: int) -> dict[str, Any]:
    """The ``engagement`` section of the progress document."""
    completed = len(ledger.completed_days)
    by_status = dict(ledger.by_status)
    ended = sum(by_status.values())
    recent, earlier = frequency_windows(ledger, today)
    active_30 = count_between(ledger.active_days, today - 29, today)
    minutes = ledger.completed_ms / 60_000
    return {
        "total_sessions": completed,
        "sessions_by_status": by_status,
        "completion_rate": rate(completed, ended),
        "total_minutes": round(minutes, 2),
        "average_duration_minutes": round(minutes / completed, 2) if completed else 0.0,
        "sessions_last_7_days": count_between(ledger.completed_days, today - 6, today),
        "sessions_last_30_days": count_between(ledger.completed_days, today - 29, today),
        "weekly_average": weekly_average(ledger, today),
        "frequency_trend": frequency_trend(recent, earlier),
        "active_days_last_30": active_30,
        "stickiness": round(active_30 / 30, 3),
        "momentum": momentum(ledger, today),
        "exercises_completed": ledger.exercises,
        "exercise_minutes": round(ledger.exercise_ms / 60_000, 2),
        "first_session_date": _iso(ledger.completed_days[0] if completed else None),
        "last_session_date": _iso(ledger.completed_days[-1] if completed else None),
    }
