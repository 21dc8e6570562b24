"""Mood over time: monthly pre/post averages, the trend, and when a mood is a crisis.

Crisis detection is deliberately separate from everything else here: it looks at one event and
the session it belongs to, never at gamification or trends, so it fires at once, every time.
"""

from __future__ import annotations

from bisect import bisect_left
from typing import Any, Final, Literal

from domain.days import month_label
from domain.ledger import TREND_WINDOW, Ledger

CRISIS_MOOD: Final = 2
"""A mood of 2 or less (1–10 scale) is a crisis."""
CRISIS_DROP: Final = 3
"""A fall of 3 or more from pre- to post-session mood in one session is a crisis."""
TREND_MIN_WINDOW: Final = 2
TREND_THRESHOLD: Final = 0.5

MoodTrend = Literal["improving", "stable", "worsening"]


def crisis_reasons(
    score: int | None, pre: int | None = None, post: int | None = None, where: str = "mood"
) -> list[str]:
    """Why a reported mood is a crisis; empty when it is not.

    Args:
        score: the mood reported by the event at hand (check-in, pre or post).
        pre: the session's pre-session mood, when the drop should be checked.
        post: the session's post-session mood, when the drop should be checked.
        where: the field name to quote in the reason.
    """
    reasons = []
    if score is not None and score <= CRISIS_MOOD:
        reasons.append(f"{where} {score} (at or below {CRISIS_MOOD})")
    if pre is not None and post is not None and pre - post >= CRISIS_DROP:
        reasons.append(f"mood fell from {pre} to {post} during one session")
    return reasons


def mood_delta(ledger: Ledger, until: float | None = None) -> float | None:
    """Mean of the latest readings minus the mean of the ones before; None when too few.

    Readings are every pre, post and check-in mood, in event-time order; with ``until`` (a
    POSIX timestamp), only those dated before it: the delta as it stood then.
    """
    scores = ledger.reading_scores
    count = len(scores) if until is None else bisect_left(ledger.reading_keys, (until,))
    window = min(TREND_WINDOW, count // 2)
    if window < TREND_MIN_WINDOW:
        return None
    latest = sum(scores[count - window : count])
    before = sum(scores[count - 2 * window : count - window])
    return (latest - before) / window


IMPROVING_MIN_READINGS: Final = 6
"""``mood_improving`` needs at least 6 readings: three recent against three before."""
IMPROVING_CHANGE: Final = 1.0
"""... and a rise of at least a whole point, not the trend's 0.5."""


def improving(ledger: Ledger) -> bool:
    """Whether the ``mood_improving`` insight holds: enough readings, a real rise, no crisis.

    Never while a crisis reading is among the recent ones: a crisis check-in is not good news.
    """
    scores = ledger.reading_scores
    count = len(scores)
    if count < IMPROVING_MIN_READINGS:
        return False
    window = min(TREND_WINDOW, count // 2)
    if min(scores[count - window :]) <= CRISIS_MOOD:
        return False
    delta = mood_delta(ledger)
    return delta is not None and delta >= IMPROVING_CHANGE


def trend_label(delta: float | None) -> MoodTrend:
    """``improving`` at +0.5 or more, ``worsening`` at -0.5 or less, else ``stable``."""
    if delta is None:
        return "stable"
    if delta >= TREND_THRESHOLD:
        return "improving"
    if delta <= -TREND_THRESHOLD:
        return "worsening"
    return "stable"


def _average(total: int, count: int) -> float | None:
    return round(total / count, 2) if count else None


def mood_trend(ledger: Ledger) -> dict[str, Any]:
    """The ``mood_trend`` section: monthly averages (local months), change and trend."""
    data = [
        {
            "date": month_label(month),
            "avg_pre": _average(sums[0], sums[1]),
            "avg_post": _average(sums[2], sums[3]),
        }
        for month, sums in sorted(ledger.months.items())
        if sums[1] or sums[3]
    ]
    delta = mood_delta(ledger)
    return {
        "data": data,
        "average_change": _average(ledger.change_sum, ledger.change_n),
        "sessions_with_both": ledger.change_n,
        "recent_change": None if delta is None else round(delta, 3),
        "trend": trend_label(delta),
    }
