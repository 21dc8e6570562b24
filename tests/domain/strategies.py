"""Hypothesis strategies shared by the domain property tests: events, patients, instants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from domain.events import Event, parse_event
from domain.patients import Patient

START = datetime(2026, 3, 20, tzinfo=UTC)  # spans Europe's spring DST switch
NOW = START + timedelta(days=21)
OFFSETS = [
    UTC,
    timezone(timedelta(hours=1)),
    timezone(timedelta(hours=-5)),
    timezone(timedelta(hours=5, minutes=30)),
]
ZONES = ["Europe/Berlin", "America/New_York", "Asia/Kolkata", "UTC", "Pacific/Auckland"]
PROPERTY_SETTINGS = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

instants = st.builds(
    lambda minutes, offset: (START + timedelta(minutes=minutes)).astimezone(offset),
    st.integers(min_value=0, max_value=21 * 24 * 60),
    st.sampled_from(OFFSETS),
)
moods = st.integers(min_value=1, max_value=10)
sessions = st.sampled_from(["s0", "s1", "s2", "s3", "s4", "s5"])


def _body(kind: str, data: st.DataObject) -> dict[str, Any]:
    draw = data.draw
    if kind == "session_scheduled":
        return {"session_id": draw(sessions), "scheduled_for": draw(instants).isoformat()}
    if kind == "session_started":
        body: dict[str, Any] = {"session_id": draw(sessions)}
        if draw(st.booleans()):
            body["mood_pre"] = draw(moods)
        return body
    if kind == "session_ended":
        body = {
            "session_id": draw(sessions),
            "status": draw(st.sampled_from(["completed", "completed", "cancelled", "no_show"])),
            "duration_s": draw(st.floats(min_value=0, max_value=7200, allow_nan=False)),
            "topics": draw(st.lists(st.sampled_from(["anxiety", "sleep", "work"]), max_size=2)),
        }
        if draw(st.booleans()):
            body["mood_post"] = draw(moods)
        return body
    if kind == "exercise_completed":
        exercise = draw(st.sampled_from(["mindfulness/breathing", "walk", "cbt/journal"]))
        duration = draw(st.floats(min_value=0, max_value=3600, allow_nan=False))
        return {"exercise": exercise, "duration_s": duration}
    if kind == "progress_marker":
        return {
            "marker": draw(st.sampled_from(["SKILL_ACQUIRED", "SKILL_ACQUIRED", "BREAKTHROUGH"]))
        }
    if kind == "mood_checkin":
        return {"score": draw(moods)}
    if kind == "goal_updated":
        status = draw(st.sampled_from(["not_started", "in_progress", "completed"]))
        return {"goal_id": draw(st.sampled_from(["g1", "g2"])), "status": status}
    return {
        "item_id": draw(st.sampled_from(["i1", "i2"])),
        "status": draw(st.sampled_from(["open", "done"])),
    }


KINDS = [
    "session_scheduled",
    "session_started",
    "session_ended",
    "session_ended",
    "exercise_completed",
    "exercise_completed",
    "progress_marker",
    "mood_checkin",
    "mood_checkin",
    "goal_updated",
    "action_item_updated",
]


@st.composite
def event_lists(draw: st.DrawFn) -> list[Event]:
    data = draw(st.data())
    count = draw(st.integers(min_value=1, max_value=60))
    events = []
    for index in range(count):
        kind = draw(st.sampled_from(KINDS))
        raw = {
            "id": f"e{index}",
            "kind": kind,
            "patient_id": "p1",
            "at": draw(instants).isoformat(),
        }
        events.append(parse_event({**raw, **_body(kind, data)}))
    return events


@st.composite
def patients(draw: st.DrawFn) -> Patient:
    patient = Patient.register("p1", "t1", draw(st.sampled_from(ZONES)), START - timedelta(days=1))
    if draw(st.booleans()):  # a move in the middle of the period
        moved = START + timedelta(minutes=draw(st.integers(0, 21 * 24 * 60)))
        patient = patient.reassigned("t1", draw(st.sampled_from(ZONES)), moved)
    return patient
