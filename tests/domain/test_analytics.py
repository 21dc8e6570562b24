"""Practice analytics over a therapist's trackers."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.analytics import activity_heatmap, practice_overview, session_trends, topic_breakdown
from domain.errors import InvalidQuery, UnknownTimezone
from domain.progress import PatientProgress
from tests.domain.builders import apply_all, event, session, tracker

NOW = datetime(2026, 11, 21, 10, tzinfo=UTC)  # a Saturday


def practice() -> list[PatientProgress]:
    one, two, three = tracker("UTC", "p1"), tracker("Europe/Berlin", "p2"), tracker("UTC", "p3")
    apply_all(
        one,
        session("a", NOW - timedelta(days=1), topics=("anxiety", "sleep"), patient_id="p1"),
        NOW,
    )
    apply_all(one, session("b", NOW - timedelta(days=8), topics=("anxiety",), patient_id="p1"), NOW)
    apply_all(one, session("c", NOW - timedelta(days=2), status="cancelled", patient_id="p1"), NOW)
    apply_all(two, session("d", NOW - timedelta(days=25), topics=("work",), patient_id="p2"), NOW)
    apply_all(
        two,
        session("e", NOW - timedelta(days=70), topics=("work", "anxiety"), patient_id="p2"),
        NOW,
    )
    scheduled = [
        event(
            "session_scheduled", NOW, "p3", session_id="f", scheduled_for=NOW + timedelta(days=2)
        ),
        event(
            "session_scheduled", NOW, "p3", session_id="g", scheduled_for=NOW - timedelta(days=2)
        ),
        event(
            "session_scheduled", NOW, "p3", session_id="h", scheduled_for=NOW + timedelta(days=3)
        ),
        event("session_started", NOW, "p3", session_id="h"),
    ]
    apply_all(three, scheduled, NOW)
    return [one, two, three]


def test_overview_has_the_brief_fields() -> None:
    overview = practice_overview(practice(), NOW)
    assert overview == {
        "total_patients": 3,
        "active_patients": 2,
        "sessions_this_week": 1,  # Monday 16th to Sunday 22nd: only session a (the 20th)
        "sessions_this_month": 2,  # a (20th) and b (13th); d was on October 27th
        "upcoming_sessions": 1,
        "completion_rate": round(4 / 5, 3),
    }


def test_overview_weeks_follow_the_named_zone() -> None:
    progress = tracker("UTC")
    sunday_night = datetime(2026, 11, 15, 23, 30, tzinfo=UTC)  # ends 00:40 Monday in Berlin
    apply_all(progress, session("s", sunday_night, minutes=10), NOW)
    assert practice_overview([progress], NOW, "UTC")["sessions_this_week"] == 0
    assert practice_overview([progress], NOW, "Europe/Berlin")["sessions_this_week"] == 1
    assert practice_overview([progress], NOW, "America/Los_Angeles")["sessions_this_week"] == 0


@pytest.mark.parametrize(
    ("period", "last_label", "first_label"),
    [
        ("week", "2026-W47", "2026-W36"),
        ("month", "Nov 2026", "Dec 2025"),
        ("quarter", "2026-Q4", "2024-Q1"),
        ("year", "2026", "2015"),
    ],
)
def test_trends_cover_twelve_buckets_up_to_the_current_one(
    period: str, last_label: str, first_label: str
) -> None:
    trends = session_trends(practice(), NOW, period)
    assert trends["period"] == period
    assert len(trends["data"]) == 12
    assert trends["data"][-1]["label"] == last_label
    assert trends["data"][0]["label"] == first_label
    starts = [item["start"] for item in trends["data"]]
    assert starts == sorted(starts)
    assert sum(item["sessions"] for item in trends["data"]) <= 4


def test_monthly_trends_count_sessions_and_distinct_patients() -> None:
    data = {item["label"]: item for item in session_trends(practice(), NOW, "month")["data"]}
    assert data["Nov 2026"]["sessions"] == 2 and data["Nov 2026"]["unique_patients"] == 1
    assert data["Oct 2026"]["sessions"] == 1 and data["Oct 2026"]["unique_patients"] == 1
    assert data["Sep 2026"]["sessions"] == 1


def test_trends_reject_unknown_periods_and_zones() -> None:
    with pytest.raises(InvalidQuery):
        session_trends([], NOW, "decade")
    with pytest.raises(UnknownTimezone):
        session_trends([], NOW, "week", "Mars/Olympus")


def test_topics_count_sessions_and_shares_add_up_to_one() -> None:
    topics = topic_breakdown(practice())["topics"]
    assert [(t["name"], t["count"]) for t in topics] == [("anxiety", 3), ("work", 2), ("sleep", 1)]
    assert math.isclose(sum(t["percentage"] for t in topics), 1.0)
    assert topics[0]["percentage"] == 0.5
    assert topic_breakdown([]) == {"topics": []}


def test_heatmap_places_activity_in_the_named_zone() -> None:
    progress = tracker("UTC")
    monday_9_utc = datetime(2026, 11, 16, 9, 10, tzinfo=UTC)
    events = [
        event("mood_checkin", monday_9_utc, score=6),
        event("mood_checkin", monday_9_utc + timedelta(minutes=10), score=6),
        event(
            "exercise_completed", monday_9_utc + timedelta(days=2), exercise="walk", duration_s=60
        ),
    ]
    apply_all(progress, events, NOW)
    utc = activity_heatmap([progress], "UTC")
    assert len(utc["matrix"]) == 7 and all(len(row) == 24 for row in utc["matrix"])
    assert utc["matrix"][0][9] == 2 and utc["matrix"][2][9] == 1
    assert (utc["peak_day"], utc["peak_hour"], utc["total"]) == ("Mon", 9, 3)
    kolkata = activity_heatmap([progress], "Asia/Kolkata")  # +05:30: 09:10 UTC is 14:40
    assert kolkata["matrix"][0][14] == 2
    assert {"day": "Mon", "hour": 14, "count": 2} in kolkata["cells"]
    empty = activity_heatmap([], "UTC")
    assert (empty["peak_day"], empty["peak_hour"], empty["total"]) == (None, None, 0)


HEATMAP_ZONES = [
    "Europe/Berlin",
    "Asia/Kathmandu",
    "Australia/Lord_Howe",
    "America/St_Johns",
    "UTC",
]


@settings(max_examples=40, deadline=None)
@given(
    minutes=st.lists(st.integers(min_value=0, max_value=400 * 24 * 60), min_size=1, max_size=40),
    tz=st.sampled_from(HEATMAP_ZONES),
)
def test_heatmap_matches_converting_every_event(minutes: list[int], tz: str) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)  # a year of DST switches, 30- and 45-minute zones
    progress = tracker("UTC")
    instants = [start + timedelta(minutes=m) for m in minutes]
    apply_all(progress, [event("mood_checkin", at, score=6) for at in instants], NOW)
    expected = [[0] * 24 for _ in range(7)]
    for at in instants:
        local = at.astimezone(ZoneInfo(tz))
        expected[local.weekday()][local.hour] += 1
    assert activity_heatmap([progress], tz)["matrix"] == expected
