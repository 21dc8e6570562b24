"""A tracker's whole state as builtins: versioned, compact, independent of class layouts.

``PatientProgress.to_state()`` returns a dict made only of ``str``, ``int``, ``float``,
``bool``, ``None``, ``list``, ``tuple``, ``dict`` and ``set``, so it pickles with no class
reference (a restricted unpickler that refuses every global can read it) and survives any
refactoring that keeps the format. ``STATE_FORMAT`` is bumped whenever the meaning or shape of
any field changes; ``from_state`` refuses any other number with :class:`StateFormatError` (the
caller then replays events instead). The layout is documented in docs/domain.md, section 12.

Tuples matter: event-time keys are ``(timestamp, event id)`` tuples compared with ``<``, and
day and month keys are ints. A round trip through JSON (lists, string keys) is not supported.

Restoring must be fast (a hub restores ~1,000,000 events' worth at start-up), so containers are
copied in bulk and objects are built only where the tracker needs them (one per session and
per day bucket); fields are trusted after a cheap shape check, because the storage layer seals
what it wrote.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from domain.achievements import MilestoneBook
from domain.days import DayBucket
from domain.dropout import DropoutAlertGate
from domain.errors import StateFormatError
from domain.folding import RECENT_MIN
from domain.insights import RULES_BY_CODE
from domain.ledger import Ledger
from domain.patients import Patient, ZoneChange
from domain.rezone import recent_record
from domain.sessions import SessionFacts

if TYPE_CHECKING:
    from domain.progress import PatientProgress

STATE_FORMAT: Final = 1
"""The version of the layout ``to_state`` writes; bumped on any change to it."""

SESSION_FIELDS: Final = 11
_LEDGER_LISTS: Final = (
    "active_days",
    "completed_days",
    "ended_order",
    "completed_order",
    "reading_keys",
    "reading_scores",
    "mindful_days",
    "skills",
)
_LEDGER_DICTS: Final = (
    "activity_qh",
    "by_status",
    "markers",
    "topics",
    "goals",
    "items",
    "upcoming",
    "ever_sessions",
    "ever_days",
    "run_end",
    "run_start",
    "ever_goals",
)
_LEDGER_NUMBERS: Final = (
    "version",
    "completed_ms",
    "change_sum",
    "change_n",
    "exercises",
    "exercise_ms",
    "longest_ever_run",
)


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
    state: dict[str, Any] = {name: list(getattr(ledger, name)) for name in _LEDGER_LISTS}
    state.update((name, dict(getattr(ledger, name))) for name in _LEDGER_DICTS)
    state.update((name, getattr(ledger, name)) for name in _LEDGER_NUMBERS)
    state["run_end"], state["run_start"] = ledger.runs()  # with the run kept open
    state["last_activity_qh"] = ledger.last_activity_qh
    state["sessions"] = {
        session_id: (
            facts.scheduled_key,
            facts.scheduled_for,
            facts.started_key,
            facts.started_day,
            facts.mood_pre,
            facts.ended_key,
            facts.ended_day,
            facts.status,
            facts.duration_s,
            facts.mood_post,
            facts.topics,
        )
        for session_id, facts in ledger.sessions.items()
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


def restore_ledger(patient: Patient, state: dict[str, Any]) -> Ledger:
    """A ledger holding the facts of ``state`` (see :func:`ledger_state`)."""
    ledger = Ledger(patient)
    for name in _LEDGER_LISTS:
        value = state[name]
        if not isinstance(value, list):
            raise StateFormatError(f"ledger.{name}: expected a list")
        setattr(ledger, name, list(value))
    for name in _LEDGER_DICTS:
        value = state[name]
        if not isinstance(value, dict):
            raise StateFormatError(f"ledger.{name}: expected a dict")
        setattr(ledger, name, dict(value))
    ledger.restore_runs(ledger.run_end, ledger.run_start)
    for name in _LEDGER_NUMBERS:
        value = state[name]
        if not isinstance(value, int):
            raise StateFormatError(f"ledger.{name}: expected an int")
        setattr(ledger, name, value)
    last = state["last_activity_qh"]
    if last is not None and not isinstance(last, int):
        raise StateFormatError("ledger.last_activity_qh: expected an int or None")
    ledger.last_activity_qh = last
    rows = state["sessions"]
    if any(len(row) != SESSION_FIELDS for row in rows.values()):
        raise StateFormatError(f"ledger.sessions: expected rows of {SESSION_FIELDS} fields")
    ledger.sessions = {session_id: SessionFacts(*row) for session_id, row in rows.items()}
    months: dict[int, list[int]] = {}
    days: dict[int, DayBucket] = {}
    for month_key, (sums, month_days) in state["months"].items():
        month = months[month_key] = list(sums)
        if len(month) != 4:
            raise StateFormatError("ledger.months: expected four sums per month")
        for day, counts in month_days.items():
            days[day] = DayBucket(month, *counts)
    ledger.months = months
    ledger.days = days
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


# The tracker's own fields are read and written here, its one friend: progress.py stays about
# events and effects.


def tracker_state(tracker: PatientProgress) -> dict[str, Any]:
    """``PatientProgress.to_state``."""
    published = tracker._published_at
    return {
        "format": STATE_FORMAT,
        "patient": patient_state(tracker._ledger.patient),
        "ledger": ledger_state(tracker._ledger),
        "seen": set(tracker._seen),
        "recent": list(tracker._recent),
        "recent_after": tracker._recent_after,
        "book": book_state(tracker._book),
        "dropout_alert_armed": tracker._gate.armed,
        "insights_on": set(tracker._insights_on),
        "published_at": None if published is None else published.isoformat(),
        # The last tick's document (JSON-ready, never mutated): ticks after a restore report
        # StateChanged exactly when the live tracker would.
        "baseline": tracker._baseline,
    }


def restore_tracker(tracker: PatientProgress, patient: Patient, state: object) -> PatientProgress:
    """Overwrite a fresh ``tracker`` with ``state`` (``PatientProgress.from_state``).

    ``state`` is typed ``object``: it comes from storage, and the compiled domain checks
    declared types at the call, so a garbled state must get here to be refused clearly.
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
    try:
        _restore_fields(tracker, patient if saved == patient else saved, state)
    except StateFormatError as error:
        raise StateFormatError(f"tracker state garbled: {error}") from None
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as error:
        raise StateFormatError(f"tracker state garbled: {error!r}") from None
    return tracker


def _restore_fields(tracker: PatientProgress, patient: Patient, state: dict[str, Any]) -> None:
    tracker._ledger = restore_ledger(patient, state["ledger"])
    tracker._seen = dict.fromkeys(state["seen"])
    tracker._recent = [recent_record(*item) for item in state["recent"]]
    tracker._recent_after = float(state["recent_after"])
    tracker._recent_limit = max(RECENT_MIN, 2 * len(tracker._recent))
    tracker._touched = {}
    tracker._book = restore_book(patient.patient_id, state["book"])
    armed = state["dropout_alert_armed"]
    if not isinstance(armed, bool):
        raise StateFormatError("dropout_alert_armed: expected a bool")
    tracker._gate = DropoutAlertGate(armed)
    tracker._insights_on = {code for code in state["insights_on"] if code in RULES_BY_CODE}
    published = state["published_at"]
    tracker._published_at = None if published is None else datetime.fromisoformat(published)
    baseline = state["baseline"]
    if baseline is not None and not isinstance(baseline, dict):
        raise StateFormatError("baseline: expected a dict or None")
    tracker._baseline = baseline
