"""A patient's progress: the facts their events established, and the figures derived from them.

Theory of operation
-------------------
Events arrive late, out of order and twice. So the tracker never keeps running totals that
depend on arrival order; it keeps *facts* keyed so that applying the same events in any order
yields the same facts:

- each event id is applied once (a duplicate is a no-op);
- a therapy session is merged from its scheduled/started/ended events; when two events claim the
  same part of one session (two ``session_ended`` for a session), the later ``at`` wins, then the
  larger event id, so the winner never depends on arrival order;
- a local day is active when at least one activity fact falls on it.

Figures (counts, minutes, streaks) are derived from the facts. ``apply`` is synchronous and pure
apart from updating this tracker: it reads no clock (``now`` is passed in) and does no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar

from domain.effects import Effect, StateChanged
from domain.events import (
    ActionItemUpdated,
    Event,
    ExerciseCompleted,
    GoalUpdated,
    MoodCheckin,
    ProgressMarker,
    SessionEnded,
    SessionScheduled,
    SessionStarted,
)
from domain.patients import Patient
from domain.streaks import Streak, streak_of

_Precedence = tuple[datetime, str]
E = TypeVar("E", SessionScheduled, SessionStarted, SessionEnded)


@dataclass(slots=True)
class _SessionFacts:
    """What is known about one therapy session, merged from its events."""

    scheduled: SessionScheduled | None = None
    started: SessionStarted | None = None
    ended: SessionEnded | None = None


def _precedence(event: Event) -> _Precedence:
    return (event.at, event.id)


def _later(current: E | None, candidate: E) -> E:
    if current is None or _precedence(candidate) > _precedence(current):
        return candidate
    return current


class PatientProgress:
    """Everything the hub knows about one patient's progress.

    Args:
        patient: the registration (therapist, time zone history).
    """

    __slots__ = ("_activity", "_patient", "_seen", "_sessions", "_other")

    def __init__(self, patient: Patient) -> None:
        self._patient = patient
        self._seen: set[str] = set()
        self._sessions: dict[str, _SessionFacts] = {}
        # Activity that makes a local day active, keyed so a superseded fact can be withdrawn.
        self._activity: dict[str, datetime] = {}
        self._other: dict[str, Event] = {}

    @property
    def patient(self) -> Patient:
        return self._patient

    def reassign(self, patient: Patient) -> list[Effect]:
        """Adopt a new registration (therapist or time zone changed)."""
        self._patient = patient
        return [StateChanged()]

    def apply(self, event: Event, now: datetime) -> list[Effect]:
        """Fold one event in.

        Args:
            event: a validated event for this patient.
            now: the current instant (figures that depend on "today" use it).

        Returns:
            The effects for the shell; empty when the event changed nothing (a duplicate).
        """
        if event.id in self._seen:
            return []
        self._seen.add(event.id)
        match event:
            case SessionScheduled() | SessionStarted() | SessionEnded():
                self._apply_session(event)
            case ExerciseCompleted() | MoodCheckin():
                self._activity[f"e:{event.id}"] = event.at
                self._other[event.id] = event
            case ProgressMarker() | GoalUpdated() | ActionItemUpdated():
                self._other[event.id] = event
        return [StateChanged()]

    def _apply_session(self, event: SessionScheduled | SessionStarted | SessionEnded) -> None:
        facts = self._sessions.setdefault(event.session_id, _SessionFacts())
        match event:
            case SessionScheduled():
                facts.scheduled = _later(facts.scheduled, event)
            case SessionStarted():
                facts.started = _later(facts.started, event)
            case SessionEnded():
                facts.ended = _later(facts.ended, event)
                key = f"s:{event.session_id}"
                if facts.ended.status == "completed":
                    self._activity[key] = facts.ended.at
                else:
                    self._activity.pop(key, None)

    def _completed(self) -> list[SessionEnded]:
        return [
            facts.ended
            for facts in self._sessions.values()
            if facts.ended is not None and facts.ended.status == "completed"
        ]

    def active_days(self) -> set[date]:
        local_day = self._patient.local_day
        return {local_day(instant) for instant in self._activity.values()}

    def streak(self, now: datetime) -> Streak:
        return streak_of(self.active_days(), self._patient.today(now))

    def snapshot(self, now: datetime) -> dict[str, Any]:
        """The patient's progress document (REST ``progress``, WebSocket ``state``)."""
        completed = self._completed()
        ended = [facts.ended for facts in self._sessions.values() if facts.ended is not None]
        by_status = {"completed": 0, "cancelled": 0, "no_show": 0}
        for end in ended:
            by_status[end.status] += 1
        total_seconds = sum(end.duration_s for end in completed)
        days = sorted(self._patient.local_day(end.at) for end in completed)
        return {
            "patient_id": self._patient.patient_id,
            "therapist_id": self._patient.therapist_id,
            "timezone": self._patient.timezone,
            "total_sessions": len(completed),
            "first_session_date": days[0].isoformat() if days else None,
            "last_session_date": days[-1].isoformat() if days else None,
            "engagement": {
                "total_sessions": len(completed),
                "sessions_by_status": by_status,
                "total_minutes": round(total_seconds / 60, 2),
                "average_duration_minutes": (
                    round(total_seconds / 60 / len(completed), 2) if completed else 0.0
                ),
            },
            "streak": self.streak(now).to_wire(),
        }
