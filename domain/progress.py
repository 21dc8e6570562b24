"""A patient's progress: events and the current instant in, figures and effects out.

Theory of operation
-------------------
:class:`PatientProgress` wraps a :class:`~domain.ledger.Ledger` (the order-independent facts)
and decides the effects the shell must carry out:

- ``apply(event, now)`` folds one event in O(log n) and returns its effects: ``StateChanged``,
  a ``SeriesDelta`` per touched day bucket, ``AlertRaised`` for a mood crisis (at once, every
  time) or a dropout risk crossing into high, ``MilestoneReached`` when a milestone is newly
  reached and ``InsightRaised`` when an insight becomes true. Only the checks an event can
  affect run (:class:`~domain.folding.EventFolding`, the tracker's part that holds the facts
  and effect state); nothing else is recomputed. ``apply_many(events, now)``
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
can move: their compact records (:class:`~domain.rezone.RecentEvents`) are all it keeps.

No clock is read and no I/O is done: ``now`` is always passed in.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Final

from domain.achievements import MilestoneBook
from domain.days import EMPTY_DAY
from domain.dropout import DropoutAlertGate
from domain.dropout_series import UNIT as DROPOUT_UNIT
from domain.dropout_series import dropout_column
from domain.effects import Effect, Milestone, MilestoneReached, SeriesDelta, StateChanged
from domain.errors import StateFormatError
from domain.events import Event
from domain.folding import EventFolding
from domain.insights import INSIGHT_RULES, ON_RISK, RULES_BY_CODE, Figures
from domain.ledger import Ledger
from domain.measures import MeasureBook, series_columns
from domain.outcomes import Outcome, measures_document
from domain.patients import Patient
from domain.rezone import RecentEvents, RecentRecord, rezone
from domain.series import DEFAULT_SERIES_DAYS, daily_series
from domain.snapshot import progress_document
from domain.state import (
    STATE_FORMAT,
    book_state,
    ledger_state,
    patient_state,
    read_state,
    restore_book,
    restore_ledger,
)
from domain.zoneclock import ZoneClock

STATE_CHANGED: Final = StateChanged()
MARKS_VERSION: Final = 1

# The ids a tracker remembers, newest last. The hub never hands a tracker an id twice (its event
# log decides); the window only absorbs a snapshot's overlap with the replay after it (events
# applied while the snapshot was being written), so memory stays flat per patient.
SEEN_WINDOW: Final = 1024


class PatientProgress:
    """Everything the hub knows about one patient's progress.

    Args:
        patient: the registration (therapist, time zone history).
    """

    __slots__ = ("_folding", "_seen", "_published_at", "_baseline")

    def __init__(self, patient: Patient) -> None:
        self._folding = EventFolding(
            Ledger(ZoneClock(patient)),
            RecentEvents(),
            MilestoneBook(patient.patient_id),
            DropoutAlertGate(),
            set(),
        )
        # The ids of the events applied. A dict of str keys and None values is never tracked
        # by the cyclic collector (a set always is, and a full collection walks every id in it).
        self._seen: dict[str, None] = {}
        self._published_at: datetime | None = None  # ``now`` of the last apply
        self._baseline: dict[str, Any] | None = None  # snapshot at the last tick

    @property
    def patient(self) -> Patient:
        """The current registration."""
        return self._folding.ledger.patient

    @property
    def ledger(self) -> Ledger:
        """The fact store, for practice analytics; treat it as read-only."""
        return self._folding.ledger

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
        folding = self._folding
        if patient.zone_history == folding.ledger.patient.zone_history:
            folding.ledger.clock.reassigned(patient)
            return effects
        rezone(folding.ledger, patient, folding.recent)
        folding.book.reach(folding.ledger, "streak_days", effects)
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
        return self.apply_many((event,), now)

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
        days = self.ledger.days
        folding = self._folding
        touched = folding.touched
        measures = folding.measures
        by_day = measures.totals_by_day(folding.ledger.clock.local_day)
        empty = measures.empty()
        effects[1:1] = [
            SeriesDelta(day, days.get(day, EMPTY_DAY).chart_sums(), by_day.get(day, empty))
            for day in touched
            if day in days or day in by_day
        ]
        touched.clear()
        return self._final_milestones(effects)

    def _final_milestones(self, effects: list[Effect]) -> list[Effect]:
        """Celebrations carry the ``achieved_at`` the batch's final facts give (REST's too).

        A milestone reached mid-batch was dated by the events folded so far; a later event of
        the same batch can date it earlier, and the live celebration must not depend on the
        order the batch listed its events in.
        """
        if not any(isinstance(effect, MilestoneReached) for effect in effects):
            return effects
        final = {item.id: item for item in self.milestones()}
        return [
            MilestoneReached(final[effect.milestone.id])
            if isinstance(effect, MilestoneReached)
            else effect
            for effect in effects
        ]

    def replay(self, events: Iterable[Event], now: datetime) -> None:
        """``apply_many`` without building effects: start-up replays the log this way."""
        self._fold_all(events, now, [])
        self._folding.touched.clear()

    def _fold_all(self, events: Iterable[Event], now: datetime, effects: list[Effect]) -> bool:
        """Fold the events not seen before; whether there was any."""
        applied, seen, fold = False, self._seen, self._folding.fold
        for event in events:
            if event.id in seen:
                continue
            if len(seen) >= SEEN_WINDOW:
                del seen[next(iter(seen))]  # the oldest: dicts keep insertion order
            seen[event.id] = None
            fold(event, now, effects)
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
        folding = self._folding
        if folding.recent.records:
            folding.recent.prune(now.timestamp())
        current = self.snapshot(now)
        baseline = self._baseline
        if baseline is None and self._published_at is not None:
            # Facts have not changed since that apply: its figures can be recomputed exactly.
            baseline = self.snapshot(self._published_at)
        if baseline is not None and baseline != current:
            effects.append(STATE_CHANGED)
        self._baseline = current
        codes = tuple(rule.code for rule in INSIGHT_RULES if rule.code not in ON_RISK)
        folding.observe_risk(folding.ledger.clock.today(now), effects, codes)
        return effects

    # -- reading ----------------------------------------------------------------------------

    def snapshot(self, now: datetime) -> dict[str, Any]:
        """The patient's progress document (REST ``progress``, WebSocket ``state``)."""
        ledger = self.ledger
        today = ledger.clock.today(now)
        document = progress_document(ledger, today)
        figures = Figures(ledger, today, document["dropout_risk"]["score"])
        document["measures"] = measures_document(self._folding.measures.outcomes(), False)
        document["milestones"] = [self._folding.book.to_wire(item) for item in self.milestones()]
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
        ledger = self.ledger
        today = ledger.clock.today(now)
        series = daily_series(ledger, today, days)
        ordinals = range(today - days + 1, today + 1)
        columns = series_columns(self._folding.measures, ordinals, ledger.clock.local_day)
        series["series"].update(columns)
        series["meta"]["units"].update(dict.fromkeys(columns, "total score"))
        series["series"]["dropout_score"] = dropout_column(ledger, ordinals, today)
        series["meta"]["units"]["dropout_score"] = DROPOUT_UNIT
        return series

    def outcomes(self) -> dict[str, Outcome]:
        """The patient's outcome on each instrument with a score (PROTOCOL.md section 8)."""
        return self._folding.measures.outcomes()

    def insights(self, now: datetime) -> list[dict[str, str]]:
        """The recommendations that hold now: ``[{"code", "message"}]``."""
        result: list[dict[str, str]] = self.snapshot(now)["insights"]
        return result

    # -- milestones and celebrations ----------------------------------------------------------

    def milestones(self) -> list[Milestone]:
        """Every milestone reached, oldest first; ``achieved_at`` is in event-time order."""
        return self._folding.book.milestones(self.ledger)

    def mark_celebrated(self, milestone_ids: Iterable[str]) -> list[str]:
        """Record that the patient's app showed these celebrations.

        Returns:
            The ids newly marked, in the order given; unknown or already marked ids are skipped.
        """
        return self._folding.book.mark_celebrated(self.ledger, milestone_ids)

    def pending_celebrations(self) -> list[Milestone]:
        """Milestones reached and not yet celebrated, oldest first."""
        celebrated = self._folding.book.celebrated
        return [item for item in self.milestones() if item.id not in celebrated]

    # -- marks (what events cannot rebuild) -----------------------------------------------------

    def marks(self) -> dict[str, Any]:
        """JSON-ready state not derivable from events; persist it whenever it changes."""
        return {
            "version": MARKS_VERSION,
            "celebrated": sorted(self._folding.book.celebrated),
            "dropout_alert": {"armed": self._folding.gate.armed},
        }

    def restore_marks(self, marks: dict[str, Any]) -> None:
        """Adopt persisted marks after replaying the events (unknown keys are ignored)."""
        celebrated = marks.get("celebrated", [])
        self._folding.book.celebrated = {item for item in celebrated if isinstance(item, str)}
        alert = marks.get("dropout_alert", {})
        armed = alert.get("armed", True) if isinstance(alert, dict) else True
        self._folding.gate.armed = armed if isinstance(armed, bool) else True
        self._baseline = None

    # -- state (snapshots) ---------------------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        """The whole tracker as builtins, versioned by ``STATE_FORMAT`` (docs/domain.md §12).

        The result shares no mutable container with the tracker, so it can be serialised later
        while the tracker goes on applying events.
        """
        folding = self._folding
        published = self._published_at
        return {
            "format": STATE_FORMAT,
            "patient": patient_state(folding.ledger.patient),
            "ledger": ledger_state(folding.ledger),
            "seen": set(self._seen),
            "recent": [tuple(record) for record in folding.recent.records],
            "recent_after": folding.recent.after,
            "book": book_state(folding.book),
            "dropout_alert_armed": folding.gate.armed,
            "insights_on": set(folding.insights_on),
            # Absent in states saved before measures existed: those read as no scores.
            "measures": folding.measures.to_state(),
            "published_at": None if published is None else published.isoformat(),
            # The last tick's document (JSON-ready, never mutated): ticks after a restore
            # report StateChanged exactly when the live tracker would.
            "baseline": self._baseline,
        }

    @classmethod
    def from_state(cls, patient: Patient, state: object) -> PatientProgress:
        """Rebuild a tracker from :meth:`to_state`'s output.

        Args:
            patient: the current registration; when it differs from the state's (re-registered
                since), the tracker is reassigned to it, as ``reassign`` would (its effects are
                not returned: milestones it reaches show up as pending celebrations).
            state: the saved state, as storage read it.

        Raises:
            StateFormatError: (a ``ValueError``) for another ``format``, another patient, or a
                garbled state.
        """
        fields, saved = read_state(state, patient)
        try:
            tracker = cls._restored(patient if saved == patient else saved, fields)
        except StateFormatError as error:
            raise StateFormatError(f"tracker state garbled: {error}") from None
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as error:
            raise StateFormatError(f"tracker state garbled: {error!r}") from None
        if patient != tracker.patient:
            tracker.reassign(patient)
        return tracker

    @classmethod
    def _restored(cls, patient: Patient, state: dict[str, Any]) -> PatientProgress:
        armed = state["dropout_alert_armed"]
        if not isinstance(armed, bool):
            raise StateFormatError("dropout_alert_armed: expected a bool")
        baseline = state["baseline"]
        if baseline is not None and not isinstance(baseline, dict):
            raise StateFormatError("baseline: expected a dict or None")
        published = state["published_at"]
        tracker = cls(patient)
        tracker._folding = EventFolding(
            restore_ledger(ZoneClock(patient), state["ledger"]),
            RecentEvents(
                [RecentRecord(*item) for item in state["recent"]], float(state["recent_after"])
            ),
            restore_book(patient.patient_id, state["book"]),
            DropoutAlertGate(armed),
            {code for code in state["insights_on"] if code in RULES_BY_CODE},
            measures=MeasureBook.from_state(state.get("measures")),
        )
        tracker._seen = dict.fromkeys(state["seen"])
        tracker._published_at = None if published is None else datetime.fromisoformat(published)
        tracker._baseline = baseline
        return tracker

    # -- analytics helpers -----------------------------------------------------------------------

    def upcoming_after(self, now: datetime) -> int:
        """Sessions scheduled for after ``now`` that have neither started nor ended."""
        limit = now.timestamp()
        return sum(1 for when in self.ledger.upcoming.values() if when > limit)
