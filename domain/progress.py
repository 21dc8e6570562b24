"""A patient's progress: events and the current instant in, figures and effects out.

Theory of operation
-------------------
:class:`PatientProgress` wraps a :class:`~domain.ledger.Ledger` (the order-independent facts)
and decides the effects the shell must carry out:

- ``apply(event, now)`` folds one event in O(log n) and returns its effects: ``StateChanged``,
  a ``SeriesDelta`` per touched day bucket, ``AlertRaised`` for a mood crisis (at once, every
  time) or a dropout risk crossing into high, ``MilestoneReached`` when a milestone is newly
  reached and ``InsightRaised`` when an insight becomes true. Only the checks an event can
  affect run (:mod:`domain.folding`); nothing else is recomputed. ``apply_many(events, now)``
  folds a batch with the same result and one ``StateChanged`` and ``SeriesDelta`` per day;
  ``replay(events, now)`` folds without building effects.
- ``snapshot(now)``, ``series(now)`` and ``milestones()`` derive the figures lazily.
- ``tick(now)`` re-evaluates what moves with time alone (silence raises dropout risk; local
  midnight ends a day) and reports ``StateChanged`` only when a figure actually changed.
- ``marks()`` / ``restore_marks()`` carry what events cannot rebuild: celebrated milestones and
  whether the dropout alert is armed. A restart replays events (effects discarded), then marks.
- ``to_state()`` / ``from_state()`` (:mod:`domain.state`) carry the whole tracker as builtins,
  so a snapshot neither grows with the history nor depends on class layouts.

The tracker does not keep its events. A zone change only moves events dated after it to other
days, and the hub dates zone changes at its own clock, so only recent and future-dated events
can move: their compact records (``_recent``, see :mod:`domain.rezone`) are all it keeps.

No clock is read and no I/O is done: ``now`` is always passed in.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from math import inf
from typing import Any, Final

from domain.achievements import MilestoneBook
from domain.days import timestamp
from domain.dropout import DropoutAlertGate
from domain.effects import (
    Effect,
    Milestone,
    SeriesDelta,
    StateChanged,
)
from domain.events import (
    Event,
)
from domain.figures import Figures
from domain.folding import RECENT_MIN, EventFolding
from domain.insights import (
    INSIGHT_RULES,
    ON_RISK,
)
from domain.ledger import Ledger
from domain.patients import Patient
from domain.rezone import (
    rezone,
)
from domain.series import DEFAULT_SERIES_DAYS, daily_series
from domain.snapshot import progress_document
from domain.state import restore_tracker, tracker_state

STATE_CHANGED: Final = StateChanged()
# The ids a tracker remembers, newest last. The hub never hands a tracker an id twice (the
# store's key decides); the window only absorbs a snapshot's overlap with the replay after it
# (events applied while the snapshot was being written), so memory stays flat per patient.
SEEN_WINDOW: Final = 1024
MARKS_VERSION: Final = 1


class PatientProgress(EventFolding):
    """Everything the hub knows about one patient's progress.

    Args:
        patient: the registration (therapist, time zone history).
    """

    __slots__ = ()  # the fields are declared by EventFolding

    def __init__(self, patient: Patient) -> None:
        self._ledger = Ledger(patient)
        # A dict of str keys and None values is never tracked by the cyclic collector (a set
        # always is, and a full collection walks every id in it).
        self._seen = {}
        # Day-bearing events dated after ``_recent_after``, all of them: a zone change can move
        # only those to another day (domain.rezone). Pruned as ``now`` passes them.
        self._recent = []
        self._recent_after = -inf
        self._recent_limit = RECENT_MIN
        self._touched = {}  # day buckets the batch being applied changed
        self._book = MilestoneBook(patient.patient_id)
        self._gate = DropoutAlertGate()
        self._insights_on = set()
        self._published_at = None  # ``now`` of the last apply
        self._baseline = None  # snapshot at the last tick

    @property
    def patient(self) -> Patient:
        """The current registration."""
        return self._ledger.patient

    @property
    def ledger(self) -> Ledger:
        """The fact store, for practice analytics; treat it as read-only."""
        return self._ledger

    # -- registration -----------------------------------------------------------------------

    def reassign(self, patient: Patient) -> list[Effect]:
        """Adopt a new registration (therapist or time zone changed).

        A changed zone history moves the events dated after the change to their day in the new
        zone (exactly, for events dated within ``REZONE_WINDOW_S`` of the latest ``now`` or
        later; see :mod:`domain.rezone`). Milestones already reached stay reached; any newly
        reached are returned as ``MilestoneReached``.
        """
        effects: list[Effect] = [STATE_CHANGED]
        self._baseline = None
        if patient.zone_history == self._ledger.patient.zone_history:
            self._ledger.reassigned(patient)
            return effects
        self._recent = rezone(self._ledger, patient, self._recent, self._recent_after)
        self._book.reach(self._ledger, "streak_days", effects)
        return effects

    # -- events -----------------------------------------------------------------------------

    def apply(self, event: Event, now: datetime) -> list[Effect]:
        """Fold one event in.

        Args:
            event: a validated event for this patient.
            now: the current instant (figures that depend on "today" use it).

        Returns:
            The effects for the shell; empty when the event was already applied.
        """
        # apply_many((event,), now), spelled out: this is the per-event hot path.
        event_id = event.id
        seen = self._seen
        known = len(seen)
        seen[event_id] = None  # one probe: a re-sent id leaves the size unchanged
        if len(seen) == known:
            return []
        if known >= SEEN_WINDOW:
            del seen[next(iter(seen))]
        ledger = self._ledger
        ledger.version += 1
        ledger.became_active = False
        self._published_at = now
        self._baseline = None
        effects: list[Effect] = [STATE_CHANGED]
        self._fold(event, event_id, now, effects)
        if self._touched:
            self._insert_deltas(effects)
        return effects

    def apply_many(self, events: Iterable[Event], now: datetime) -> list[Effect]:
        """Fold a batch of this patient's events that arrived together (one ``now``).

        The result is what applying them one by one in the given order gives — the same
        state, the same alerts, milestones and insights in the same order — with the
        per-batch effects merged: one ``StateChanged``, then one ``SeriesDelta`` per touched
        day with its final values, then the rest in event order.

        Returns:
            The effects for the shell; empty when every event was already applied.
        """
        effects: list[Effect] = [STATE_CHANGED]
        if not self._fold_all(events, now, effects):
            return []
        if self._touched:
            self._insert_deltas(effects)
        return effects

    def _insert_deltas(self, effects: list[Effect]) -> None:
        """Put a ``SeriesDelta`` per touched day right after the leading ``StateChanged``."""
        touched = self._touched
        days = self._ledger.days
        at = 1
        for day in touched:
            bucket = days.get(day)
            if bucket is not None:
                effects.insert(
                    at,
                    SeriesDelta(
                        day,
                        (
                            bucket.activity,
                            bucket.millis,
                            bucket.pre_sum,
                            bucket.pre_n,
                            bucket.post_sum,
                            bucket.post_n,
                        ),
                    ),
                )
                at += 1
        touched.clear()

    def replay(self, events: Iterable[Event], now: datetime) -> None:
        """``apply_many`` without building effects: start-up replays the log this way."""
        if self._fold_all(events, now, []):
            self._touched.clear()

    def _fold_all(self, events: Iterable[Event], now: datetime, effects: list[Effect]) -> bool:
        seen = self._seen
        ledger = self._ledger
        applied = False
        for event in events:
            event_id = event.id
            known = len(seen)
            seen[event_id] = None
            if len(seen) == known:
                continue
            if known >= SEEN_WINDOW:
                del seen[next(iter(seen))]
            ledger.version += 1
            ledger.became_active = False
            self._fold(event, event_id, now, effects)
            applied = True
        if applied:
            self._published_at = now
            self._baseline = None
        return applied

    # -- time -------------------------------------------------------------------------------

    def tick(self, now: datetime) -> list[Effect]:
        """Re-evaluate what moves with time alone.

        Returns:
            ``StateChanged`` when a figure differs from the last apply or tick, an
            ``AlertRaised("dropout_risk_high")`` when silence pushed the risk into high, and
            ``InsightRaised`` for insights that became true.
        """
        effects: list[Effect] = []
        if self._recent:
            self._prune(timestamp(now))
        current = self.snapshot(now)
        baseline = self._baseline
        if baseline is None and self._published_at is not None:
            # Facts have not changed since that apply: its figures can be recomputed exactly.
            baseline = self.snapshot(self._published_at)
        if baseline is not None and baseline != current:
            effects.append(STATE_CHANGED)
        self._baseline = current
        today = self._ledger.today(now)
        codes = tuple(rule.code for rule in INSIGHT_RULES if rule.code not in ON_RISK)
        self._observe_risk(today, effects, codes)
        return effects

    # -- reading ----------------------------------------------------------------------------

    def snapshot(self, now: datetime) -> dict[str, Any]:
        """The patient's progress document (REST ``progress``, WebSocket ``state``)."""
        today = self._ledger.today(now)
        document = progress_document(self._ledger, today)
        figures = Figures(self._ledger, today, document["dropout_risk"]["score"])
        document["milestones"] = [self._book.to_wire(item) for item in self.milestones()]
        document["insights"] = [
            {"code": rule.code, "message": rule.message}
            for rule in INSIGHT_RULES
            if rule.holds(figures)
        ]
        return document

    def series(self, now: datetime, days: int = DEFAULT_SERIES_DAYS) -> dict[str, Any]:
        """``ProgressVizSeries``: ``days`` daily buckets in the patient's zone ending today.

        Raises:
            InvalidQuery: (a ``ValueError``) when ``days`` is outside ``1..366``.
        """
        return daily_series(self._ledger, self._ledger.today(now), days)

    def insights(self, now: datetime) -> list[dict[str, str]]:
        """The recommendations that hold now: ``[{"code", "message"}]``."""
        result: list[dict[str, str]] = self.snapshot(now)["insights"]
        return result

    # -- milestones and celebrations ----------------------------------------------------------

    def milestones(self) -> list[Milestone]:
        """Every milestone reached, oldest first; ``achieved_at`` is in event-time order."""
        return self._book.milestones(self._ledger)

    def mark_celebrated(self, milestone_ids: Iterable[str]) -> list[str]:
        """Record that the patient's app showed these celebrations.

        Returns:
            The ids newly marked, in the order given; unknown or already marked ids are skipped.
        """
        return self._book.mark_celebrated(self._ledger, milestone_ids)

    def pending_celebrations(self) -> list[Milestone]:
        """Milestones reached and not yet celebrated, oldest first."""
        celebrated = self._book.celebrated
        return [item for item in self.milestones() if item.id not in celebrated]

    # -- marks (what events cannot rebuild) -----------------------------------------------------

    def marks(self) -> dict[str, Any]:
        """JSON-ready state not derivable from events; persist it whenever it changes."""
        return {
            "version": MARKS_VERSION,
            "celebrated": sorted(self._book.celebrated),
            "dropout_alert": {"armed": self._gate.armed},
        }

    def restore_marks(self, marks: dict[str, Any]) -> None:
        """Adopt persisted marks after replaying the events (unknown keys are ignored)."""
        celebrated = marks.get("celebrated", [])
        self._book.celebrated = {item for item in celebrated if isinstance(item, str)}
        alert = marks.get("dropout_alert", {})
        armed = alert.get("armed", True) if isinstance(alert, dict) else True
        self._gate.armed = armed if isinstance(armed, bool) else True
        self._baseline = None

    # -- state (snapshots) ---------------------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        """The whole tracker as builtins, versioned by ``STATE_FORMAT`` (docs/domain.md §12).

        The result shares no mutable container with the tracker, so it can be serialised later
        while the tracker goes on applying events.
        """
        return tracker_state(self)

    @classmethod
    def from_state(cls, patient: Patient, state: object) -> PatientProgress:
        """Rebuild a tracker from :meth:`to_state`'s output.

        Args:
            patient: the current registration; when it differs from the state's (re-registered
                since), the tracker is reassigned to it, as ``reassign`` would (its effects are
                not returned: milestones it reaches show up as pending celebrations).
            state: the saved state.

        Raises:
            StateFormatError: (a ``ValueError``) for another ``format``, another patient, or a
                garbled state.
        """
        # A fresh tracker, then overwritten: compiled classes (mypyc) cannot be made bare.
        tracker = restore_tracker(cls(patient), patient, state)
        if patient != tracker.patient:
            tracker.reassign(patient)
        return tracker

    # -- analytics helpers -----------------------------------------------------------------------

    def upcoming_after(self, now: datetime) -> int:
        """Sessions scheduled for after ``now`` that have neither started nor ended."""
        limit = now.timestamp()
        return sum(1 for when in self._ledger.upcoming.values() if when > limit)
