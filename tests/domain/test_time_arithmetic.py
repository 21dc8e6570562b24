"""The hot path's own arithmetic gives exactly what the standard library gives.

``timestamp``, ``month_key`` and ``to_millis`` replace ``datetime.timestamp``,
``date.fromordinal`` and ``round`` on the per-event path (compiled code reaches those only
through slow generic calls). A float or a day off by one would move a fact to another key or
bucket, so equality here is exact.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.days import month_key, timestamp
from domain.ledger import to_millis

offsets = st.one_of(
    st.integers(-24 * 60 + 1, 24 * 60 - 1).map(lambda minutes: timedelta(minutes=minutes)),
    st.integers(-86_399_999_999, 86_399_999_999).map(lambda micros: timedelta(microseconds=micros)),
)
fixed_zones = st.one_of(st.just(UTC), offsets.map(timezone))
instants = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=fixed_zones
)


@settings(max_examples=2000, deadline=None)
@given(instant=instants)
def test_timestamp_is_datetime_timestamp_to_the_bit(instant: datetime) -> None:
    assert timestamp(instant) == instant.timestamp()


@settings(max_examples=300, deadline=None)
@given(
    instant=st.datetimes(
        min_value=datetime(1971, 1, 1),
        max_value=datetime(2100, 1, 1),
        timezones=st.sampled_from(
            [ZoneInfo("Europe/Berlin"), ZoneInfo("America/Santiago"), ZoneInfo("Asia/Kolkata")]
        ),
    )
)
def test_timestamp_of_other_zones_takes_the_general_way(instant: datetime) -> None:
    assert timestamp(instant) == instant.timestamp()


def test_timestamp_of_equal_offsets_from_distinct_zone_objects() -> None:
    # The offset cache is keyed by zone objects, which compare by offset: equal offsets named
    # differently (or built apart) must share an entry without mixing up values.
    one = datetime(2026, 11, 21, 9, 30, tzinfo=timezone(timedelta(hours=1), "CET"))
    other = datetime(2026, 11, 21, 9, 30, tzinfo=timezone(timedelta(hours=1)))
    minus = datetime(2026, 11, 21, 9, 30, tzinfo=timezone(-timedelta(hours=1)))
    assert timestamp(one) == timestamp(other) == one.timestamp()
    assert timestamp(minus) == minus.timestamp() == one.timestamp() + 7200


def test_month_key_of_every_day_of_five_centuries() -> None:
    start = date(1800, 1, 1).toordinal()
    for ordinal in range(start, date(2300, 1, 1).toordinal()):
        day = date.fromordinal(ordinal)
        assert month_key(ordinal) == day.year * 12 + day.month - 1, day


@given(day=st.dates())
def test_month_key_over_the_whole_calendar(day: date) -> None:
    assert month_key(day.toordinal()) == day.year * 12 + day.month - 1


durations = st.one_of(
    st.floats(min_value=0, max_value=7 * 24 * 3600, allow_nan=False),
    st.integers(0, 7 * 24 * 3600 * 2000).map(lambda halves: halves / 2000),  # exact .5 ms
    st.integers(0, 10**9).map(lambda micros: micros / 10**6),
)


@settings(max_examples=2000)
@given(seconds=durations)
def test_to_millis_rounds_like_round(seconds: float) -> None:
    assert to_millis(seconds) == round(seconds * 1000)
    assert to_millis(-seconds) == round(-seconds * 1000)
