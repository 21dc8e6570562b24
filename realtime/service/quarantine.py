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
        """Apply a patient's batch; on failure, each event alone. Returns effects, failed ids."""
        try:
            return tracker.apply_many(events, now), []
        except Exception:  # noqa: BLE001 - one bad event must not cost the others
            pass
        # A tracker ignores ids it has already folded, so events the batch got through before
        # it failed are not counted twice.
        effects: list[Effect] = []
        failed: list[str] = []
        for event in events:
            try:
                effects.extend(tracker.apply(event, now))
            except Exception as error:  # noqa: BLE001 - see above
                self.hold(event.id, event.patient_id, type(error).__name__)
                failed.append(event.id)
        return effects, failed

    def replay(self, tracker: PatientProgress, events: Sequence[Event], now: datetime) -> None:
        """``apply`` for start-up: no effects, and never raises."""
        try:
            tracker.replay(events, now)
            return
        except Exception:  # noqa: BLE001 - start-up goes on whatever one event holds
            pass
        for event in events:
            try:
                tracker.replay((event,), now)
            except Exception as error:  # noqa: BLE001 - see above
                self.hold(event.id, event.patient_id, type(error).__name__)
