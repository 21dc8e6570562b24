"""Practice analytics: pure functions over one therapist's trackers.

Every function reads aggregates each tracker keeps up to date as events arrive (completed
sessions in event-time order, activity by UTC quarter-hour, topic counts, upcoming sessions),
so a request costs O(patients x log sessions) for the overview and trends, and O(distinct
active quarter-hours) for the heatmap; no request rescans events.

Calendar periods (weeks Monday to Sunday, months, quarters, years) are taken in the time zone
the caller names (``tz``, an IANA name; ``UTC`` by default). Quarter-hour keys convert exactly
to any zone in use today, whose offsets are all multiples of 15 minutes.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo

from domain.days import QUARTER_HOUR_S
from domain.engagement import rate
from domain.errors import InvalidQuery
from domain.patients import zone as _zone_named
from domain.progress import PatientProgress

Period = Literal["week", "month", "quarter", "year"]
PERIODS: Final[tuple[str, ...]] = ("week", "month", "quarter", "year")
TREND_BUCKETS: Final = 12
ACTIVE_WITHIN: Final = timedelta(days=30)
"""A patient is active when they had any activity in the last 30 days (to the quarter-hour)."""
DAY_NAMES: Final = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTH_NAMES: Final = (
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
)


def _midnight(day: date, tz: ZoneInfo) -> float:
    return datetime.combine(day, time(), tz).timestamp()


def _completed_between(tracker: PatientProgress, first: float, end: float) -> int:
    order = tracker.ledger.completed_order
    return bisect_left(order, (end,)) - bisect_left(order, (first,))


def _month_start(day: date, months_back: int = 0) -> date:
    index = day.year * 12 + day.month - 1 - months_back
    return date(index // 12, index % 12 + 1, 1)


EPOCH_WEEKDAY: Final = 3
"""1970-01-01 was a Thursday (Monday = 0)."""


def _steady_offset(utc_day: int, zone: ZoneInfo) -> int | None:
    """The zone's UTC offset in seconds throughout one UTC day, or None if it changes that day.

    Most days have one offset, so a heatmap converts once per day instead of once per
    quarter-hour; offsets are checked at both ends of the day.
    """
    first = datetime.fromtimestamp(utc_day * 86_400, zone).utcoffset()
    last = datetime.fromtimestamp(utc_day * 86_400 + 86_399, zone).utcoffset()
    if first is None or first != last:
        return None
    return int(first.total_seconds())


def practice_overview(
    trackers: Iterable[PatientProgress], now: datetime, tz: str = "UTC"
) -> dict[str, Any]:
    """A therapist's practice at a glance.

    Args:
        trackers: the therapist's patients.
        now: the current instant.
        tz: the zone whose calendar week (Monday to Sunday) and month are counted.

    Returns:
        ``total_patients``, ``active_patients`` (any activity in the last 30 days),
        ``sessions_this_week`` and ``sessions_this_month`` (completed), ``upcoming_sessions``
        (scheduled for after ``now``, neither started nor ended) and ``completion_rate``
        (completed / ended, over all of the practice's ended sessions).

    Raises:
        UnknownTimezone: when ``tz`` is not an IANA zone.
    """
    zone = _zone_named(tz)
    today = now.astimezone(zone).date()
    week_start = today - timedelta(days=today.weekday())
    week = (_midnight(week_start, zone), _midnight(week_start + timedelta(days=7), zone))
    month_start = _month_start(today)
    month = (_midnight(month_start, zone), _midnight(_month_start(today, -1), zone))
    active_since = (now - ACTIVE_WITHIN).timestamp() // QUARTER_HOUR_S
    totals = {"patients": 0, "active": 0, "week": 0, "month": 0, "upcoming": 0}
    completed = ended = 0
    for tracker in trackers:
        ledger = tracker.ledger
        totals["patients"] += 1
        last = ledger.last_activity_qh
        if last is not None and last >= active_since:
            totals["active"] += 1
        totals["week"] += _completed_between(tracker, *week)
        totals["month"] += _completed_between(tracker, *month)
        totals["upcoming"] += tracker.upcoming_after(now)
        completed += ledger.by_status["completed"]
        ended += sum(ledger.by_status.values())
    return {
        "total_patients": totals["patients"],
        "active_patients": totals["active"],
        "sessions_this_week": totals["week"],
        "sessions_this_month": totals["month"],
        "upcoming_sessions": totals["upcoming"],
        "completion_rate": rate(completed, ended),
    }


def _bucket_starts(today: date, period: str) -> list[date]:
    """The first day of the last 12 buckets (oldest first) and of the one after them."""
    if period == "week":
        current = today - timedelta(days=today.weekday())
        return [current - timedelta(weeks=back) for back in range(TREND_BUCKETS - 1, -2, -1)]
    months = {"month": 1, "quarter": 3, "year": 12}[period]
    first = today.year * 12 + today.month - 1
    first -= first % months
    return [
        _month_start(date(first // 12, first % 12 + 1, 1), back * months)
        for back in range(TREND_BUCKETS - 1, -2, -1)
    ]


def _label(start: date, period: str) -> str:
    if period == "week":
        year, week, _ = start.isocalendar()
        return f"{year}-W{week:02d}"
    if period == "month":
        return f"{MONTH_NAMES[start.month - 1]} {start.year}"
    if period == "quarter":
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    return str(start.year)


def session_trends(
    trackers: Iterable[PatientProgress], now: datetime, period: str, tz: str = "UTC"
) -> dict[str, Any]:
    """Completed sessions and distinct patients per calendar bucket.

    Args:
        trackers: the therapist's patients (or one patient's tracker).
        now: the current instant; its bucket is the last one.
        period: ``week`` (ISO weeks, label ``2026-W47``), ``month`` (label ``Nov 2026``),
            ``quarter`` (``2026-Q4``) or ``year`` (``2026``).
        tz: the zone whose calendar the buckets follow.

    Returns:
        ``{"period", "data": [{"label", "start", "sessions", "unique_patients"}]}`` covering the
        last 12 buckets up to and including the current one, oldest first.

    Raises:
        InvalidQuery: when ``period`` is not one of the four.
        UnknownTimezone: when ``tz`` is not an IANA zone.
    """
    if period not in PERIODS:
        raise InvalidQuery(f"period: must be one of {', '.join(PERIODS)}")
    zone = _zone_named(tz)
    starts = _bucket_starts(now.astimezone(zone).date(), period)
    bounds = [_midnight(start, zone) for start in starts]
    sessions = [0] * TREND_BUCKETS
    patients = [0] * TREND_BUCKETS
    for tracker in trackers:
        order = tracker.ledger.completed_order
        if not order:
            continue
        positions = [bisect_left(order, (bound,)) for bound in bounds]
        for index in range(TREND_BUCKETS):
            count = positions[index + 1] - positions[index]
            if count:
                sessions[index] += count
                patients[index] += 1
    return {
        "period": period,
        "data": [
            {
                "label": _label(starts[index], period),
                "start": starts[index].isoformat(),
                "sessions": sessions[index],
                "unique_patients": patients[index],
            }
            for index in range(TREND_BUCKETS)
        ],
    }


def topic_breakdown(trackers: Iterable[PatientProgress]) -> dict[str, Any]:
    """How often each topic tag comes up in completed sessions.

    Returns:
        ``{"topics": [{"name", "count", "percentage"}]}``: ``count`` is the number of sessions
        tagged with the topic, ``percentage`` its share of all tag mentions (the shares add up
        to 1), sorted by count (highest first), then name.
    """
    counts: dict[str, int] = {}
    for tracker in trackers:
        for name, count in tracker.ledger.topics.items():
            counts[name] = counts.get(name, 0) + count
    mentions = sum(counts.values())
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return {
        "topics": [
            {"name": name, "count": count, "percentage": count / mentions} for name, count in ranked
        ]
    }


def activity_heatmap(trackers: Iterable[PatientProgress], tz: str = "UTC") -> dict[str, Any]:
    """Activity (completed sessions, exercises, mood check-ins) by weekday and hour in ``tz``.

    Returns:
        ``{"tz", "days": ["Mon", ...], "matrix": 7 rows (Monday first) x 24 hours,
        "cells": [{"day", "hour", "count"}] (non-zero only), "peak_day", "peak_hour", "total"}``;
        peaks are the weekday name and hour with the most activity (earliest on ties), or
        ``None`` when there is none.

    Raises:
        UnknownTimezone: when ``tz`` is not an IANA zone.
    """
    zone = _zone_named(tz)
    merged: dict[int, int] = {}
    for tracker in trackers:
        for quarter, count in tracker.ledger.activity_qh.items():
            merged[quarter] = merged.get(quarter, 0) + count
    matrix = [[0] * 24 for _ in DAY_NAMES]
    offsets: dict[int, int | None] = {}  # UTC day -> its one offset in seconds, None if it moves
    for quarter, count in merged.items():
        start = quarter * QUARTER_HOUR_S
        utc_day = start // 86_400
        if utc_day not in offsets:
            offsets[utc_day] = _steady_offset(utc_day, zone)
        offset = offsets[utc_day]
        if offset is None:  # a transition day: convert this quarter exactly
            local = datetime.fromtimestamp(start, zone)
            weekday, hour = local.weekday(), local.hour
        else:
            seconds = start + offset
            weekday, hour = (seconds // 86_400 + EPOCH_WEEKDAY) % 7, seconds % 86_400 // 3600
        matrix[weekday][hour] += count
    total = sum(merged.values())
    by_day = [sum(row) for row in matrix]
    by_hour = [sum(row[hour] for row in matrix) for hour in range(24)]
    return {
        "tz": tz,
        "days": list(DAY_NAMES),
        "matrix": matrix,
        "cells": [
            {"day": DAY_NAMES[day], "hour": hour, "count": matrix[day][hour]}
            for day in range(7)
            for hour in range(24)
            if matrix[day][hour]
        ],
        "peak_day": DAY_NAMES[by_day.index(max(by_day))] if total else None,
        "peak_hour": by_hour.index(max(by_hour)) if total else None,
        "total": total,
    }
