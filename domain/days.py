"""Local days as integers, and what one day of a patient's life holds.

Days are proleptic Gregorian ordinals (``date.toordinal()``): integers hash and compare faster
than ``date`` objects on the hot path, and turn back into dates only at the edges.
"""

from __future__ import annotations

from datetime import date, datetime, timezone, tzinfo
from typing import Final
from zoneinfo import ZoneInfo

from mypy_extensions import mypyc_attr

QUARTER_HOUR_S: Final = 900
DAY_S: Final = 86400


# Acyclic: a bucket refers to nothing that can refer back, so compiled buckets (one per active
# day per patient, the most numerous objects a hub holds) stay out of the cyclic collector.
@mypyc_attr(acyclic=True)
class DayBucket:
    """Everything that happened on one local day, as sums that can be taken back.

    Sums and counts (rather than averages) let a superseded fact be withdrawn exactly.
    """

    __slots__ = (
        "activity",
        "millis",
        "pre_sum",
        "pre_n",
        "post_sum",
        "post_n",
        "checkin_sum",
        "checkin_n",
        "sessions",
        "mindfulness",
        "month",
    )

    def __init__(
        self,
        month: list[int] | None = None,
        activity: int = 0,
        millis: int = 0,
        pre_sum: int = 0,
        pre_n: int = 0,
        post_sum: int = 0,
        post_n: int = 0,
        checkin_sum: int = 0,
        checkin_n: int = 0,
        sessions: int = 0,
        mindfulness: int = 0,
    ) -> None:
        self.activity = activity  # completed sessions + exercises + mood check-ins
        self.millis = millis  # completed session + exercise time, in integer ms: exact sums
        self.pre_sum = pre_sum
        self.pre_n = pre_n
        self.post_sum = post_sum
        self.post_n = post_n
        self.checkin_sum = checkin_sum
        self.checkin_n = checkin_n
        self.sessions = sessions  # completed sessions
        self.mindfulness = mindfulness  # exercises tagged mindfulness/*
        # The month's mood sums [pre_sum, pre_n, post_sum, post_n], shared by its days, so a
        # mood updates its month without a calendar conversion.
        self.month = month if month is not None else [0, 0, 0, 0]

    def counts(self) -> tuple[int, ...]:
        """The bucket's numbers in ``__init__`` order after ``month`` (for a tracker's state)."""
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


ChartSums = tuple[int, int, int, int, int, int]
"""A day's ``(activity, millis, pre_sum, pre_n, post_sum, post_n)``."""


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
    """A month as one integer (``year * 12 + month - 1``) so months sort and subtract.

    The calendar arithmetic of ``date.fromordinal`` (H. Hinnant's ``civil_from_days``) in
    integers, which compiled code runs without creating a ``date``; a test checks every day.
    """
    shifted = ordinal + 305  # days since 0000-03-01: years start in March, leap day last
    era = shifted // 146097
    day_of_era = shifted - era * 146097
    year_of_era = (
        day_of_era - day_of_era // 1460 + day_of_era // 36524 - day_of_era // 146096
    ) // 365
    day_of_year = day_of_era - (365 * year_of_era + year_of_era // 4 - year_of_era // 100)
    march_based = (5 * day_of_year + 2) // 153  # 0 = March .. 11 = February
    year = era * 400 + year_of_era + (1 if march_based >= 10 else 0)
    month = march_based + 3 if march_based < 10 else march_based - 9
    return year * 12 + month - 1


def month_label(key: int) -> str:
    """``YYYY-MM`` for a month key."""
    return f"{key // 12:04d}-{key % 12 + 1:02d}"


EPOCH_ORDINAL: Final = 719163
"""``date(1970, 1, 1).toordinal()``."""
_OFFSETS: Final[dict[tzinfo, int]] = {}
"""UTC offset in microseconds of each fixed-offset zone seen (equal offsets share an entry)."""
_OFFSETS_MAX: Final = 4096
_EXACT_MICROS: Final = 2**53
"""Microsecond totals below this are exact as doubles: years 1685 to 2255."""


def timestamp(instant: datetime) -> float:
    """``instant.timestamp()`` of an aware instant: the very same float, at about half the cost.

    CPython's ``timestamp()`` subtracts the epoch through timedelta objects and totals the
    microseconds as Python ints, about 0.4 µs, once or twice per event. Events carry fixed
    offsets (``datetime.timezone``): each offset is looked up once per distinct value, and the
    total is divided the same way (an exact integer over 10**6, correctly rounded). Other
    zones (and naive instants, as the local time ``timestamp()`` assumes) take the general way.
    """
    zone = instant.tzinfo
    offset = _OFFSETS.get(zone) if zone is not None else None
    if offset is None:
        if zone is None or type(zone) is not timezone:
            return instant.timestamp()
        delta = zone.utcoffset(None)
        offset = (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds
        if len(_OFFSETS) < _OFFSETS_MAX:
            _OFFSETS[zone] = offset
    seconds = (instant.toordinal() - EPOCH_ORDINAL) * 86400
    seconds += instant.hour * 3600 + instant.minute * 60 + instant.second
    micros = seconds * 1_000_000 + instant.microsecond - offset
    if -_EXACT_MICROS < micros < _EXACT_MICROS:
        return micros / 1_000_000
    return instant.timestamp()  # compiled int division goes through a double: exact to 2**53


DAYS_REMEMBERED: Final = 7
"""How many local days a span (:func:`local_span`) covers at most."""
_SPANS: Final[dict[tuple[ZoneInfo, int], tuple[float, float]]] = {}
_SPANS_MAX: Final = 1 << 16


def local_span(zone: ZoneInfo, instant: datetime, ts: float) -> tuple[int, float, float]:
    """``instant``'s local day in ``zone`` and the days from it on that keep one UTC offset.

    Returns ``(day ordinal, the day's first UTC instant, span length in seconds)``: up to
    ``DAYS_REMEMBERED`` days, each checked at its first and last second; 0 when the day itself
    has a transition, so its instants are converted one by one. ``ts`` is ``instant``'s
    timestamp. A span depends on the zone and the day alone, so it is measured once (eight
    zone conversions) and shared by every patient in that zone.
    """
    local = instant.astimezone(zone)
    day = local.toordinal()
    key = (zone, day)
    span = _SPANS.get(key)
    if span is None:
        span = _measure_span(zone, local, ts)
        if len(_SPANS) >= _SPANS_MAX:
            _SPANS.clear()
        _SPANS[key] = span
    return day, span[0], span[1]


def _measure_span(zone: ZoneInfo, local: datetime, ts: float) -> tuple[float, float]:
    offset = local.utcoffset()
    start = ts - (local.hour * 3600 + local.minute * 60 + local.second)
    start -= local.microsecond / 1e6
    if datetime.fromtimestamp(start + 1, zone).utcoffset() != offset:
        return start, 0.0
    days = 0
    while days < DAYS_REMEMBERED:
        if datetime.fromtimestamp(start + (days + 1) * DAY_S - 1, zone).utcoffset() != offset:
            break
        days += 1
    return start, float(days * DAY_S)
