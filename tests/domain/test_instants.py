"""Any instant a client can write reaches the domain only if the domain can live with it.

Instants are drawn from the whole of what RFC 3339 text can say (years 0001-9999, any offset
up to ±23:59), not from a plausible window: the event model must refuse what it cannot date,
and every event it accepts must fold, tick, report and chart in every zone without raising.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.errors import InvalidEvent
from domain.events import EARLIEST_INSTANT, LATEST_INSTANT, parse_event
from domain.patients import Patient
from domain.progress import PatientProgress
from domain.reports import effectiveness_report

NOW = datetime(2026, 11, 21, 12, tzinfo=UTC)
# Zones at both ends of the offset range, with and without DST.
ZONES = ["Pacific/Kiritimati", "Pacific/Pago_Pago", "Etc/GMT-14", "Etc/GMT+12", "UTC"]
ANY_SETTINGS = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

offsets = st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59)
wall_clocks = st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59))
near_bounds = st.sampled_from(
    [EARLIEST_INSTANT, LATEST_INSTANT, datetime(1, 1, 1, tzinfo=UTC), NOW]
).flatmap(
    lambda edge: st.integers(-3 * 86400, 3 * 86400).map(
        lambda seconds: (
            (edge.replace(tzinfo=None) + timedelta(seconds=seconds))
            if datetime(1, 1, 4) <= edge.replace(tzinfo=None) <= datetime(9999, 12, 28)
            else edge.replace(tzinfo=None)
        )
    )
)


def _rfc3339(wall: datetime, offset_minutes: int) -> str:
    sign = "+" if offset_minutes >= 0 else "-"
    hours, minutes = divmod(abs(offset_minutes), 60)
    return f"{wall.isoformat(timespec='seconds')}{sign}{hours:02d}:{minutes:02d}"


instants = st.builds(_rfc3339, st.one_of(wall_clocks, near_bounds), offsets)


def _events(at: str, scheduled_for: str) -> list[dict[str, Any]]:
    base = {"patient_id": "p1", "at": at}
    return [
        {**base, "id": "m", "kind": "mood_checkin", "score": 4},
        {**base, "id": "q", "kind": "session_scheduled", "session_id": "s", "scheduled_for": at},
        {**base, "id": "r", "kind": "session_scheduled", "session_id": "t"}
        | {"scheduled_for": scheduled_for, "at": NOW.isoformat()},
        {**base, "id": "a", "kind": "session_started", "session_id": "s", "mood_pre": 3},
        {**base, "id": "b", "kind": "session_ended", "session_id": "s", "status": "completed"}
        | {"duration_s": 3000.0, "mood_post": 6, "topics": ["sleep"]},
        {**base, "id": "x", "kind": "exercise_completed", "exercise": "walk", "duration_s": 60.0},
        {**base, "id": "k", "kind": "progress_marker", "marker": "BREAKTHROUGH"},
        {**base, "id": "g", "kind": "goal_updated", "goal_id": "g", "status": "completed"},
        {**base, "id": "i", "kind": "action_item_updated", "item_id": "i", "status": "done"},
    ]


def _accepted(raw: dict[str, Any]) -> Any:
    try:
        return parse_event(raw)
    except InvalidEvent as error:
        assert "must lie from 1900" in str(error), str(error)
        return None


@ANY_SETTINGS
@given(at=instants, scheduled_for=instants, tz=st.sampled_from(ZONES), moved=st.booleans())
def test_every_instant_the_model_accepts_folds_in_every_zone(
    at: str, scheduled_for: str, tz: str, moved: bool
) -> None:
    events = [event for event in map(_accepted, _events(at, scheduled_for)) if event is not None]
    for event in events:
        assert EARLIEST_INSTANT <= event.at < LATEST_INSTANT
    patient = Patient.register("p1", "t1", tz, NOW - timedelta(days=400))
    tracker = PatientProgress(patient)
    tracker.apply_many(events[: len(events) // 2], NOW)
    for event in events[len(events) // 2 :]:
        tracker.apply(event, NOW)
    if moved:
        tracker.reassign(patient.reassigned("t1", "America/Adak", NOW))
    tracker.tick(NOW + timedelta(days=3))
    tracker.snapshot(NOW)
    tracker.series(NOW, 366)
    tracker.insights(NOW)
    effectiveness_report(tracker, NOW.date() - timedelta(days=1098), NOW.date(), [])
    replayed = PatientProgress(patient)
    replayed.replay(events, NOW)


@pytest.mark.parametrize(
    "at",
    [
        "0001-01-01T00:00:00+14:00",
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59-14:00",
        "1899-12-31T23:59:59Z",
        "2200-01-01T00:00:00Z",
        "1900-01-01T04:59:59+05:00",
    ],
)
def test_an_instant_outside_the_range_is_an_invalid_event(at: str) -> None:
    with pytest.raises(InvalidEvent, match="at: must lie from 1900"):
        parse_event({"id": "e", "kind": "mood_checkin", "patient_id": "p", "at": at, "score": 5})
    with pytest.raises(InvalidEvent, match="scheduled_for: must lie from 1900"):
        parse_event(
            {"id": "e", "kind": "session_scheduled", "patient_id": "p", "session_id": "s"}
            | {"at": NOW.isoformat(), "scheduled_for": at}
        )
