"""Small builders for domain tests: events as clients send them, validated once."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from domain.effects import Effect
from domain.events import Event, parse_event
from domain.patients import Patient
from domain.progress import PatientProgress

T0 = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)  # a Monday
_serial = itertools.count()


def event(
    kind: str, at: datetime | str, patient_id: str = "p1", id: str | None = None, **fields: Any
) -> Event:
    """A validated event; ``at`` may be an aware datetime or an RFC 3339 string."""
    raw = {
        "id": id or f"ev{next(_serial)}",
        "kind": kind,
        "patient_id": patient_id,
        "at": at if isinstance(at, str) else at.isoformat(),
        **{
            key: value.isoformat() if isinstance(value, datetime) else value
            for key, value in fields.items()
        },
    }
    return parse_event(raw)


def session(
    session_id: str,
    at: datetime,
    *,
    status: str = "completed",
    minutes: float = 50,
    pre: int | None = None,
    post: int | None = None,
    topics: tuple[str, ...] = (),
    patient_id: str = "p1",
) -> list[Event]:
    """A session's started + ended events (ended ``minutes`` after ``at``)."""
    started: dict[str, Any] = {"session_id": session_id}
    if pre is not None:
        started["mood_pre"] = pre
    ended: dict[str, Any] = {"session_id": session_id, "status": status, "duration_s": minutes * 60}
    if post is not None:
        ended["mood_post"] = post
    if topics:
        ended["topics"] = list(topics)
    return [
        event("session_started", at, patient_id, id=f"{session_id}-start", **started),
        event(
            "session_ended",
            at + timedelta(minutes=minutes),
            patient_id,
            id=f"{session_id}-end",
            **ended,
        ),
    ]


def patient(
    timezone: str = "Europe/Berlin", patient_id: str = "p1", therapist_id: str = "t1"
) -> Patient:
    return Patient.register(patient_id, therapist_id, timezone, T0 - timedelta(days=400))


def tracker(timezone: str = "Europe/Berlin", patient_id: str = "p1") -> PatientProgress:
    return PatientProgress(patient(timezone, patient_id))


def apply_all(progress: PatientProgress, events: Iterable[Event], now: datetime) -> list[Effect]:
    effects: list[Effect] = []
    for item in events:
        effects.extend(progress.apply(item, now))
    return effects


def of_type(effects: Iterable[Effect], kind: type) -> list[Any]:
    return [effect for effect in effects if isinstance(effect, kind)]


def local(text: str) -> datetime:
    """An aware datetime from an RFC 3339 string (keeps its offset)."""
    return datetime.fromisoformat(text)


def reliably_recovered(
    count: int, baseline: dict[str, Any], latest: dict[str, Any], change: int, **more: Any
) -> dict[str, Any]:
    """The wire outcome (PROTOCOL.md section 8) of a patient who began in the clinical range,
    left it and improved reliably; ``more`` adds the rest (``history``)."""
    return {
        "count": count,
        "baseline": baseline,
        "latest": latest,
        "change": change,
        "reliable_change": "improved",
        "caseness_at_baseline": True,
        "caseness_now": False,
        "recovered": True,
        "reliable_recovery": True,
        **more,
    }
