"""Stored events the trackers cannot fold: kept in the log, left out of figures, never fatal.

Validation is meant to stop every event a tracker cannot fold, but should one get through (or
sit in a log written by an older hub), it must cost only itself: the events beside it are
applied, start-up goes on, and the event is named in one log line and counted
(``progress_hub_events_unapplied``). Its id is held so a re-send is refused as
``invalid_event`` rather than answered ``duplicate``: a duplicate always means applied.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from domain.effects import Effect
from domain.events import Event
from domain.progress import PatientProgress

log = logging.getLogger("progress_hub.quarantine")

UNAPPLIED_DETAIL = "stored, but could not be applied; kept and left out of every figure"


class Quarantine:
    """The ids of stored events that could not be applied (few: each one is a defect)."""

    def __init__(self) -> None:
        self.ids: set[str] = set()

    @property
    def count(self) -> int:
        return len(self.ids)

    def hold(self, event_id: str, patient_id: str, reason: str) -> None:
        """Record one event that could not be applied, in one log line."""
        if event_id not in self.ids:
            self.ids.add(event_id)
            log.error(
                "event=event_unapplied id=%s patient=%s reason=%s", event_id, patient_id, reason
            )

    def apply(
        self, tracker: PatientProgress, events: Sequence[Event], now: datetime
    ) -> tuple[list[Effect], list[str]]:
        """Apply a patient's batch, holding any event that raises. Returns effects, held ids."""
        version = tracker.ledger.version
        try:
            return tracker.apply_many(events, now), []
        except Exception as error:  # noqa: BLE001 - one bad event must not cost the others
            rest = self._skip_culprit(tracker, events, version, error)
        effects: list[Effect] = []
        failed = [] if rest is events else [events[len(events) - len(rest) - 1].id]
        for event in rest:
            try:
                effects.extend(tracker.apply(event, now))
            except Exception as error:  # noqa: BLE001 - see above
                self.hold(event.id, event.patient_id, type(error).__name__)
                failed.append(event.id)
        return effects, failed

    def replay(self, tracker: PatientProgress, events: Sequence[Event], now: datetime) -> None:
        """``apply`` for start-up: no effects, and never raises."""
        version = tracker.ledger.version
        try:
            tracker.replay(events, now)
            return
        except Exception as error:  # noqa: BLE001 - start-up goes on whatever one event holds
            rest = self._skip_culprit(tracker, events, version, error)
        for event in rest:
            try:
                tracker.replay((event,), now)
            except Exception as error:  # noqa: BLE001 - see above
                self.hold(event.id, event.patient_id, type(error).__name__)

    def _skip_culprit(
        self, tracker: PatientProgress, events: Sequence[Event], version: int, error: Exception
    ) -> Sequence[Event]:
        """Hold the event a batch raised on; return the events after it, not yet folded.

        A tracker counts each event it starts to fold (``ledger.version``), and the hub hands
        it only ids it has not folded, so the count names the culprit. When it cannot (some
        were already folded: a snapshot's overlap at start-up), every event is tried again
        alone; those already folded are ignored by id.
        """
        folded = tracker.ledger.version - version
        if not 1 <= folded <= len(events):
            return events
        culprit = events[folded - 1]
        self.hold(culprit.id, culprit.patient_id, type(error).__name__)
        return events[folded:]
