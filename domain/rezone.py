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
from math import inf
from typing import Final, NamedTuple

from domain.ledger import Ledger
from domain.patients import Patient

STARTED: Final = 0
ENDED: Final = 1
EXERCISE: Final = 2
MINDFUL_EXERCISE: Final = 3
CHECKIN: Final = 4

REZONE_WINDOW_S: Final = 48 * 3600.0
"""How far before the latest ``now`` a zone change can be dated and still move events exactly."""
RECENT_MIN: Final = 32
"""Kept records are pruned at most once per this many (see :meth:`RecentEvents.prune`)."""
RECENT_MAX: Final = 512
"""At most this many records outlive a prune: the newest by date. A patient with more
day-bearing events within 48 h has the cutoff raised past the rest, so memory stays flat per
patient; the hub dates zone changes at its clock, after every record a cap could drop."""


class RecentRecord(NamedTuple):
    """What a zone change needs of one kept day-bearing event."""

    ts: float
    event_id: str
    kind: int  # STARTED, ENDED, EXERCISE, MINDFUL_EXERCISE or CHECKIN
    ref: str  # the session id of a session start or end, else ""
    # 1 when a session end reports it completed (else 0); an exercise's duration in integer
    # ms; a check-in's score; 0 for a session start.
    value: int
    day: int  # the local day it is counted on

    def makes_active(self) -> bool:
        """Whether the event made its day an active day."""
        return self.kind != STARTED and (self.kind != ENDED or self.value == 1)


class RecentEvents:
    """Every day-bearing event dated after ``after``: those a zone change can still move.

    ``after`` trails the latest ``now`` by ``REZONE_WINDOW_S``; records fall out as it passes
    them.
    """

    __slots__ = ("records", "after", "_prune_at")

    def __init__(self, records: list[RecentRecord] | None = None, after: float = -inf) -> None:
        self.records = records if records is not None else []
        self.after = after
        self._prune_at = max(RECENT_MIN, 2 * len(self.records))

    def keep(self, record: RecentRecord, now: datetime) -> None:
        """Keep ``record`` if a zone change could move it."""
        if record.ts > self.after:
            self.records.append(record)
            if len(self.records) >= self._prune_at:
                self.prune(now.timestamp())

    def prune(self, now_ts: float) -> None:
        """Forget the records a zone change dated at ``now_ts`` or later can no longer move."""
        cutoff = now_ts - REZONE_WINDOW_S
        if len(self.records) > RECENT_MAX:
            # Every record dated after the cutoff stays kept: raise it to the newest dropped.
            stamps = sorted(record.ts for record in self.records)
            cutoff = max(cutoff, stamps[-RECENT_MAX - 1])
        if cutoff > self.after:
            self.after = cutoff
            self.records = [record for record in self.records if record.ts > cutoff]
        # Amortised: a prune at most every RECENT_MIN records, or as the kept ones double.
        self._prune_at = max(RECENT_MIN, 2 * len(self.records))


def rezone(ledger: Ledger, patient: Patient, recent: RecentEvents) -> None:
    """Adopt ``patient``'s zone history, moving kept events whose local day changed.

    Args:
        ledger: the facts, changed in place.
        patient: the new registration.
        recent: every day-bearing event a zone change can move; each record gets its new day.
    """
    ledger.clock.reassigned(patient)
    ledger.version += 1
    moved: list[RecentRecord] = []
    any_moved = False
    for record in recent.records:
        new = ledger.clock.local_day(datetime.fromtimestamp(record.ts, UTC))
        old = record.day
        if new == old:
            moved.append(record)
            continue
        any_moved = True
        moved.append(record._replace(day=new))
        key = (record.ts, record.event_id)
        if record.kind == STARTED:
            facts = ledger.sessions.get(record.ref)
            if facts is not None and facts.started_key == key:
                ledger.redate_started(facts, new)
        elif record.kind == ENDED:
            facts = ledger.sessions.get(record.ref)
            if facts is not None and facts.ended_key == key:
                ledger.redate_ended(facts, new)
        elif record.kind == CHECKIN:
            ledger.redate_checkin(record.ts, record.value, old, new)
        else:
            ledger.redate_exercise(
                record.ts, record.value, record.kind == MINDFUL_EXERCISE, old, new
            )
    recent.records = moved
    if any_moved:
        _recount_ever_days(ledger, moved, recent.after)


def _recount_ever_days(ledger: Ledger, recent: list[RecentRecord], cutoff: float) -> None:
    ever = ledger.ever.ever_days
    for day in [day for day, key in ever.items() if key[0] > cutoff]:
        del ever[day]
    for record in recent:
        if record.makes_active():
            key = (record.ts, record.event_id)
            first = ever.get(record.day)
            if first is None or key < first:
                ever[record.day] = key
    ledger.ever.rebuild_runs()
