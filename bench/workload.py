"""One synthetic patient's activity, shared by the benchmarks that need a realistic stream.

A session (scheduled, started, ended: mostly completed, with moods and topics) in a quarter of
the steps, otherwise exercises, mood check-ins, markers, goal and action-item updates. ``at``
values stay datetimes so each bench can place, shift or format them as it needs.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

TOPICS = ("anxiety", "sleep", "work", "family", "mood", "grief")
EXERCISES = ("mindfulness/breathing", "mindfulness/body-scan", "cbt/thought-record", "walk")


def patient_stream(
    rng: random.Random,
    patient: str,
    count: int,
    start: datetime,
    hours_between: tuple[float, float],
) -> list[dict[str, Any]]:
    """At least ``count`` events for ``patient`` after ``start``, ``hours_between`` apart."""
    events: list[dict[str, Any]] = []
    at = start
    serial = 0

    def add(kind: str, when: datetime, **fields: Any) -> None:
        nonlocal serial
        serial += 1
        event_id = f"{patient}-{serial}"
        events.append({"id": event_id, "kind": kind, "patient_id": patient, "at": when, **fields})

    while len(events) < count:
        at += timedelta(hours=rng.uniform(*hours_between))
        roll = rng.random()
        if roll < 0.25:
            session = f"{patient}-s{serial}"
            add("session_scheduled", at - timedelta(days=2), session_id=session, scheduled_for=at)
            add("session_started", at, session_id=session, mood_pre=rng.randint(3, 9))
            status = rng.choices(("completed", "cancelled", "no_show"), (8, 1, 1))[0]
            add(
                "session_ended",
                at + timedelta(minutes=50),
                session_id=session,
                status=status,
                duration_s=float(rng.randrange(1200, 3600)),
                mood_post=rng.randint(3, 10),
                topics=rng.sample(TOPICS, 2),
            )
        elif roll < 0.6:
            add("exercise_completed", at, exercise=rng.choice(EXERCISES), duration_s=300.0)
        elif roll < 0.8:
            add("mood_checkin", at, score=rng.randint(3, 10))
        elif roll < 0.9:
            add("progress_marker", at, marker=rng.choice(("SKILL_ACQUIRED", "INSIGHT_GAINED")))
        elif roll < 0.95:
            add("goal_updated", at, goal_id=f"g{rng.randrange(5)}", status="in_progress")
        else:
            add("action_item_updated", at, item_id=f"i{rng.randrange(8)}", status="done")
    return events
