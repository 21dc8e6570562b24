"""A zone change without the event history: move the few facts whose local day changes.

Why a tracker keeps only recent events
--------------------------------------
A patient's day is the calendar day of each event's instant in the zone the patient had *at
that instant* (``Patient.zone_at``). ``Patient.reassigned(..., now)`` appends a zone change
effective from ``now``, so it changes the day of events dated at or after ``now`` and of no
other. The hub dates a change at its own clock, the same clock that gives every ``apply`` its
``now``; so the events a change can move are those dated after the latest ``now``: the
future-dated ones the service accepts within its clock-skew allowance.

The domain API lets a caller date a change in the past too (a test does), and a wall clock can
step back. The tracker therefore keeps a compact record of every day-bearing event (session
start and end, exercise, check-in) dated after ``cutoff = latest now - REZONE_WINDOW_S`` (48 h),
and only those. A change effective after the cutoff is re-folded exactly as if every event had
been applied under the new history; events dated between an older change and the cutoff keep
the day they had (documented in docs/domain.md).

Ever-active days (milestones) need care: a day's first-activity key is the minimum over every
event that made it active, and those events are not kept. But every contributor dated after
the cutoff *is* kept, and every other contributor is dated at or before it; so a day whose key
is dated after the cutoff has only kept contributors and is recomputed from them, while a day
whose key is older keeps it (no kept record can carry a smaller key).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final, NamedTuple, cast

from domain.ledger import Ledger
from domain.patients import Patient
from domain.sessions import event_key


class RecentRecord(NamedTuple):
    """``(timestamp, event id, kind, session id or "", value, local day)`` of one kept event.

    ``value``: 1 when a session end reports it completed (else 0); an exercise's duration in
    integer ms; a check-in's score; 0 for a session start. Records are plain tuples (builtins
    only: they are part of the state), made by :func:`recent_record` and read by index; the
    NamedTuple keeps them boxed in compiled code (see ``domain.sessions.Key``).
    """

    ts: float
    event_id: str
    kind: int
    ref: str
    value: int
    day: int


def recent_record(
    ts: float, event_id: str, kind: int, ref: str, value: int, day: int
) -> RecentRecord:
    """The record of one kept event (see :class:`RecentRecord`)."""
    return cast(RecentRecord, (ts, event_id, kind, ref, value, day))


STARTED: Final = 0
ENDED: Final = 1
EXERCISE: Final = 2
MINDFUL_EXERCISE: Final = 3
CHECKIN: Final = 4

REZONE_WINDOW_S: Final = 48 * 3600.0
"""How far before the latest ``now`` a zone change can be dated and still move events exactly."""


def _makes_active(record: RecentRecord) -> bool:
    kind = record[2]
    return kind != STARTED and (kind != ENDED or record[4] == 1)


def rezone(
    ledger: Ledger, patient: Patient, recent: list[RecentRecord], cutoff: float
) -> list[RecentRecord]:
    """Adopt ``patient``'s zone history, moving kept events whose local day changed.

    Args:
        ledger: the facts, changed in place.
        patient: the new registration.
        recent: every day-bearing event dated after ``cutoff``.
        cutoff: see the module docstring.

    Returns:
        ``recent`` with each record's new local day.
    """
    ledger.reassigned(patient)
    ledger.version += 1
    moved: list[RecentRecord] = []
    any_moved = False
    for record in recent:
        ts, event_id, kind, ref, value, old = record
        new = ledger.local_day(datetime.fromtimestamp(ts, UTC))
        if new == old:
            moved.append(record)
            continue
        any_moved = True
        moved.append(recent_record(ts, event_id, kind, ref, value, new))
        key = event_key(ts, event_id)
        if kind == STARTED:
            facts = ledger.sessions.get(ref)
            if facts is not None and facts.started_key == key:
                ledger.redate_started(facts, new)
        elif kind == ENDED:
            facts = ledger.sessions.get(ref)
            if facts is not None and facts.ended_key == key:
                ledger.redate_ended(facts, new)
        elif kind == CHECKIN:
            ledger.redate_checkin(ts, value, old, new)
        else:
            ledger.redate_exercise(ts, value, kind == MINDFUL_EXERCISE, old, new)
    if any_moved:
        _recount_ever_days(ledger, moved, cutoff)
    return moved


def _recount_ever_days(ledger: Ledger, recent: list[RecentRecord], cutoff: float) -> None:
    ever = ledger.ever_days
    for day in [day for day, key in ever.items() if key[0] > cutoff]:
        del ever[day]
    for record in recent:
        if _makes_active(record):
            key = event_key(record[0], record[1])
            day = record[5]
            first = ever.get(day)
            if first is None or key < first:
                ever[day] = key
    ledger.rebuild_runs()
