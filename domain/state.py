"""A tracker's whole state as builtins: versioned, compact, independent of class layouts.

``PatientProgress.to_state()`` assembles its state from the parts built here: a dict made
only of ``str``, ``int``, ``float``, ``bool``, ``None``, ``list``, ``tuple``, ``dict`` and
``set``, so it pickles with no class reference (a restricted unpickler that refuses every
global can read it) and survives any refactoring that keeps the format. ``STATE_FORMAT`` is
bumped whenever the meaning or shape of any field changes; ``from_state`` refuses any other
number with :class:`StateFormatError` (the caller then replays events instead). The layout is
documented in docs/domain.md, section 12.

Tuples matter: event-time keys are ``(timestamp, event id)`` tuples compared with ``<``, and
day and month keys are ints. A round trip through JSON (lists, string keys) is not supported.

Restoring must be fast (a hub restores ~1,000,000 events' worth at start-up), so containers are
copied in bulk and objects are built only where the tracker needs them (one per session and
per day bucket); fields are trusted after a cheap shape check, because the storage layer seals
what it wrote.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime
from typing import Any, Final

from domain.achievements import MilestoneBook
from domain.days import DayBucket
from domain.errors import StateFormatError
from domain.everfacts import EverFacts
from domain.ledger import Ledger
from domain.patients import Patient, ZoneChange
from domain.sessions import SessionFacts, session_row
from domain.zoneclock import ZoneClock

STATE_FORMAT: Final = 2
"""The version of the layout ``to_state`` writes; bumped on any change to it."""

SESSION_FIELDS: Final = len(fields(SessionFacts))

# The plain fields saved under their own names, with their type (copied on the way out and in).
_LEDGER_FIELDS: Final[dict[str, type]] = {
    "active_days": list,
    "completed_days": list,
    "ended_order": list,
    "completed_order": list,
    "reading_keys": list,
    "reading_scores": list,
    "mindful_days": list,
    "superseded_spans": list,
    "activity_qh": dict,
    "by_status": dict,
    "markers": dict,
    "topics": dict,
    "goals": dict,
    "items": dict,
    "upcoming": dict,
    "version": int,
    "completed_ms": int,
    "change_sum": int,
    "change_n": int,
    "exercises": int,
    "exercise_ms": int,
}
_EVER_FIELDS: Final[dict[str, type]] = {
    "skills": list,
    "ever_sessions": dict,
    "ever_days": dict,
    "run_end": dict,
    "run_start": dict,
    "ever_goals": dict,
    "longest_ever_run": int,
}
_ARTICLE: Final = {list: "a list", dict: "a dict", int: "an int"}


def patient_state(patient: Patient) -> dict[str, Any]:
    return {
        "patient_id": patient.patient_id,
        "therapist_id": patient.therapist_id,
        "zone_history": [
            (change.effective_from.isoformat(), change.timezone) for change in patient.zone_history
        ],
    }


def restore_patient(data: dict[str, Any]) -> Patient:
    history = tuple(
        ZoneChange(datetime.fromisoformat(at), timezone) for at, timezone in data["zone_history"]
    )
    return Patient(data["patient_id"], data["therapist_id"], history)


def ledger_state(ledger: Ledger) -> dict[str, Any]:
    """The ledger's facts as builtins (copies: the ledger keeps changing)."""
    state = {name: kind(getattr(ledger, name)) for name, kind in _LEDGER_FIELDS.items()}
    state.update((name, kind(getattr(ledger.ever, name))) for name, kind in _EVER_FIELDS.items())
    state["last_activity_qh"] = ledger.last_activity_qh
    state["sessions"] = {
        session_id: session_row(facts) for session_id, facts in ledger.sessions.items()
    }
    # Day buckets share their month's mood sums: keep them grouped so a restore re-links them
    # without a calendar conversion per day.
    months: dict[int, tuple[list[int], dict[int, tuple[int, ...]]]] = {
        month_key: (list(sums), {}) for month_key, sums in ledger.months.items()
    }
    by_identity = {id(sums): month_key for month_key, sums in ledger.months.items()}
    for day, bucket in ledger.days.items():
        months[by_identity[id(bucket.month)]][1][day] = bucket.counts()
    state["months"] = months
    return state


def _copied(state: dict[str, Any], types: dict[str, type]) -> dict[str, Any]:
    copies = {}
    for name, kind in types.items():
        value = state[name]
        if not isinstance(value, kind):
            raise StateFormatError(f"ledger.{name}: expected {_ARTICLE[kind]}")
        copies[name] = kind(value)
    return copies


def restore_ledger(clock: ZoneClock, state: dict[str, Any]) -> Ledger:
    """A ledger holding the facts of ``state`` (see :func:`ledger_state`)."""
    ever = EverFacts(**_copied(state, _EVER_FIELDS))
    plain = _copied(state, _LEDGER_FIELDS)
    last = state["last_activity_qh"]
    if last is not None and not isinstance(last, int):
        raise StateFormatError("ledger.last_activity_qh: expected an int or None")
    rows = state["sessions"]
    if any(len(row) != SESSION_FIELDS for row in rows.values()):
        raise StateFormatError(f"ledger.sessions: expected rows of {SESSION_FIELDS} fields")
    months: dict[int, list[int]] = {}
    days: dict[int, DayBucket] = {}
    for month_key, (sums, month_days) in state["months"].items():
        month = months[month_key] = list(sums)
        if len(month) != 4:
            raise StateFormatError("ledger.months: expected four sums per month")
        for day, counts in month_days.items():
            days[day] = DayBucket(month, *counts)
    ledger = Ledger(
        clock,
        ever,
        sessions={session_id: SessionFacts(*row) for session_id, row in rows.items()},
        days=days,
        months=months,
        last_activity_qh=last,
        **plain,
    )
    ledger.restore_readings()
    return ledger


def book_state(book: MilestoneBook) -> dict[str, Any]:
    return {
        "reached": {rule: at.timestamp() for rule, at in book.reached.items()},
        "celebrated": set(book.celebrated),
    }


def restore_book(patient_id: str, state: dict[str, Any]) -> MilestoneBook:
    book = MilestoneBook(patient_id)
    book.restore(
        {rule: datetime.fromtimestamp(ts, UTC) for rule, ts in state["reached"].items()},
        set(state["celebrated"]),
    )
    return book


def read_state(state: object, patient: Patient) -> tuple[dict[str, Any], Patient]:
    """Check a saved tracker state's format and patient; the state and its registration.

    ``state`` is typed ``object``: it comes from storage, and anything else than this code's
    format must be refused clearly.

    Raises:
        StateFormatError: for another ``format`` or another patient, or a garbled patient.
    """
    if not isinstance(state, dict):
        raise StateFormatError("tracker state: expected a dict")
    found = state.get("format")
    if found != STATE_FORMAT:
        raise StateFormatError(
            f"tracker state: format {found!r} is not {STATE_FORMAT}, the one this code reads"
        )
    try:
        saved = restore_patient(state["patient"])
    except (KeyError, TypeError, ValueError, IndexError) as error:
        raise StateFormatError(f"tracker state garbled: patient ({error!r})") from None
    if saved.patient_id != patient.patient_id:
        raise StateFormatError(
            f"tracker state: it is patient {saved.patient_id!r}'s, not {patient.patient_id!r}'s"
        )
    return state, saved
