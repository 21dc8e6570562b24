"""The progress document, chart series and per-event effects."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from domain.effects import SeriesDelta, StateChanged
from domain.errors import InvalidQuery
from tests.domain.builders import T0, apply_all, event, of_type, session, tracker

BRIEF_KEYS = {
    "patient_id",
    "therapist_id",
    "timezone",
    "total_sessions",
    "first_session_date",
    "last_session_date",
    "session_frequency",
    "mood_trend",
    "goals",
    "action_items",
    "engagement",
    "streak",
    "dropout_risk",
    "milestones",
    "insights",
}


def json_ready(value: Any) -> bool:
    if value is None or isinstance(value, str | bool | int | float):
        return True
    if isinstance(value, list):
        return all(json_ready(item) for item in value)
    if isinstance(value, dict):
        return all(isinstance(key, str) and json_ready(item) for key, item in value.items())
    return False


def test_an_empty_patient_has_a_complete_json_ready_document() -> None:
    snapshot = tracker("UTC").snapshot(T0)
    assert set(snapshot) >= BRIEF_KEYS
    assert json_ready(snapshot)
    assert snapshot["total_sessions"] == 0 and snapshot["first_session_date"] is None
    assert snapshot["dropout_risk"]["score"] == 0.0 and snapshot["dropout_risk"]["level"] == "low"
    assert snapshot["mood_trend"] == {
        "data": [],
        "average_change": None,
        "sessions_with_both": 0,
        "recent_change": None,
        "trend": "stable",
    }


def test_engagement_counts_statuses_durations_and_windows() -> None:
    progress = tracker("UTC")
    now = T0 + timedelta(days=40)
    events = []
    for index, back in enumerate((39, 20, 10, 5, 1)):
        events += session(f"c{index}", now - timedelta(days=back), minutes=30 + 10 * index)
    events += session("x", now - timedelta(days=3), status="cancelled", minutes=0)
    events += session("y", now - timedelta(days=2), status="no_show", minutes=0)
    events.append(event("exercise_completed", now, exercise="walk", duration_s=120))
    apply_all(progress, events, now)
    snapshot = progress.snapshot(now)
    engagement = snapshot["engagement"]
    assert snapshot["total_sessions"] == 5
    assert engagement["sessions_by_status"] == {"completed": 5, "cancelled": 1, "no_show": 1}
    assert engagement["completion_rate"] == round(5 / 7, 3)
    assert engagement["total_minutes"] == 30 + 40 + 50 + 60 + 70
    assert engagement["average_duration_minutes"] == 50.0
    assert engagement["sessions_last_7_days"] == 2
    assert engagement["sessions_last_30_days"] == 4
    assert engagement["active_days_last_30"] == 5
    assert engagement["exercise_minutes"] == 2.0
    assert snapshot["first_session_date"] == (now - timedelta(days=39)).date().isoformat()
    assert snapshot["session_frequency"] == {
        "weekly_average": round(5 * 7 / 40, 2),
        "trend": "increasing",
    }
    assert 0 < engagement["momentum"] <= 1


def test_mood_trend_has_the_brief_shape_with_monthly_averages() -> None:
    progress = tracker("Europe/Berlin")
    events = []
    events += session("a", datetime(2024, 1, 15, 10, tzinfo=UTC), pre=4, post=6)
    events += session("b", datetime(2024, 1, 20, 10, tzinfo=UTC), pre=5, post=6)
    events += session("c", datetime(2024, 2, 3, 10, tzinfo=UTC), pre=5, post=7)
    # 23:30 UTC on Jan 31st is February in Berlin.
    events += session("d", datetime(2024, 1, 31, 23, 0, tzinfo=UTC), pre=6, post=8, minutes=20)
    apply_all(progress, events, datetime(2024, 3, 1, tzinfo=UTC))
    trend = progress.snapshot(datetime(2024, 3, 1, tzinfo=UTC))["mood_trend"]
    assert trend["data"] == [
        {"date": "2024-01", "avg_pre": 4.5, "avg_post": 6.0},
        {"date": "2024-02", "avg_pre": 5.5, "avg_post": 7.5},
    ]
    assert trend["average_change"] == 1.75
    assert trend["trend"] in {"improving", "stable", "worsening"}


def test_goals_and_action_items_use_the_latest_status_in_event_time() -> None:
    progress = tracker("UTC")
    events = [
        event("goal_updated", T0 + timedelta(hours=2), goal_id="g1", status="completed"),
        event("goal_updated", T0 + timedelta(hours=1), goal_id="g1", status="in_progress"),
        event("goal_updated", T0, goal_id="g2", status="not_started"),
        event("goal_updated", T0, goal_id="g3", status="in_progress"),
        event("action_item_updated", T0, item_id="i1", status="done"),
        event("action_item_updated", T0 + timedelta(hours=1), item_id="i1", status="open"),
        event("action_item_updated", T0, item_id="i2", status="done"),
    ]
    apply_all(progress, events, T0)
    snapshot = progress.snapshot(T0)
    assert snapshot["goals"] == {
        "total": 3,
        "completed": 1,
        "in_progress": 1,
        "not_started": 1,
        "completion_rate": 0.333,
    }
    assert snapshot["action_items"] == {"total": 2, "done": 1, "open": 1, "completion_rate": 0.5}


@pytest.mark.parametrize("days", [1, 7, 14, 30, 366])
def test_series_has_days_buckets_ending_today(days: int) -> None:
    progress = tracker("Australia/Sydney")
    now = datetime(2026, 11, 20, 20, tzinfo=UTC)  # already the 21st in Sydney
    series = progress.series(now, days)
    assert len(series["time_buckets"]) == days
    assert series["time_buckets"][-1] == "2026-11-21"
    assert all(len(values) == days for values in series["series"].values())
    assert set(series["series"]) == {
        "activity_count",
        "minutes",
        "mood_pre",
        "mood_post",
        "phq9_total",
        "gad7_total",
        "dropout_score",
    }
    assert series["time_buckets"] == sorted(series["time_buckets"])
    assert series["meta"]["days"] == days


@pytest.mark.parametrize("days", [0, -1, 367])
def test_series_rejects_days_out_of_range(days: int) -> None:
    with pytest.raises(InvalidQuery):
        tracker("UTC").series(T0, days)


def test_series_values_and_null_moods() -> None:
    progress = tracker("UTC")
    now = T0 + timedelta(days=2)
    apply_all(progress, session("s", T0, pre=4, post=7, minutes=45), now)
    progress.apply(
        event("exercise_completed", T0 + timedelta(days=1), exercise="walk", duration_s=90), now
    )
    series = progress.series(now, 3)
    assert series["series"]["activity_count"] == [1.0, 1.0, 0.0]
    assert series["series"]["minutes"] == [45.0, 1.5, 0.0]
    assert series["series"]["mood_pre"] == [4.0, None, None]
    assert series["series"]["mood_post"] == [7.0, None, None]


def test_apply_emits_the_touched_bucket_and_state() -> None:
    progress = tracker("UTC")
    first, second = session("s", T0, pre=4, post=6, minutes=30)
    effects = progress.apply(first, T0)
    assert of_type(effects, StateChanged) == [StateChanged()]
    (delta,) = of_type(effects, SeriesDelta)
    assert delta.bucket == date(2026, 11, 2)
    assert delta.values == {
        "activity_count": 0.0,
        "minutes": 0.0,
        "mood_pre": 4.0,
        "mood_post": None,
        "phq9_total": None,
        "gad7_total": None,
    }
    (delta,) = of_type(progress.apply(second, T0), SeriesDelta)
    assert delta.values == {
        "activity_count": 1.0,
        "minutes": 30.0,
        "mood_pre": 4.0,
        "mood_post": 6.0,
        "phq9_total": None,
        "gad7_total": None,
    }
    scheduled = event("session_scheduled", T0, session_id="n", scheduled_for=T0 + timedelta(days=1))
    assert of_type(progress.apply(scheduled, T0), SeriesDelta) == []


def test_a_superseding_end_moves_both_buckets() -> None:
    progress = tracker("UTC")
    first = event("session_ended", T0, session_id="s", status="completed", duration_s=600)
    later = T0 + timedelta(days=1)
    second = event("session_ended", later, session_id="s", status="completed", duration_s=1200)
    progress.apply(first, later)
    deltas = of_type(progress.apply(second, later), SeriesDelta)
    assert {d.bucket: d.values["minutes"] for d in deltas} == {
        date(2026, 11, 2): 0.0,
        date(2026, 11, 3): 20.0,
    }
    # Arriving in the other order, the older end changes nothing.
    other = tracker("UTC")
    other.apply(second, later)
    assert of_type(other.apply(first, later), SeriesDelta) == []
    assert other.snapshot(later) == progress.snapshot(later)


def test_reassigning_the_therapist_keeps_every_figure() -> None:
    progress = tracker("UTC")
    apply_all(progress, session("s", T0), T0)
    before = progress.snapshot(T0)
    patient = progress.patient.reassigned("t2", "UTC", T0)
    assert progress.reassign(patient) == [StateChanged()]
    after = progress.snapshot(T0)
    assert after["therapist_id"] == "t2"
    assert {**after, "therapist_id": "t1"} == before
    assert json.dumps(after)
