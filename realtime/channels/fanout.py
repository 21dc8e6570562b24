"""Turns the domain's effects into channel messages (``PROTOCOL.md`` section 4, ``message``).

Chart deltas and ``state`` are coalesced per channel: the first change in a quiet channel goes
out at once; further changes within ``coalesce_s`` (100 ms by default) are folded together and
sent when the window ends, computed then, so a burst of events costs a dashboard one message
per window that always carries the latest values. Celebrations and insights are never merged.
Alerts are not sent from here: the alert inbox (``realtime.service.alerts``) publishes them, with
their whole alert object, the moment their commit is done, before this fan-out runs.

Gamification apart (section 7): while a patient's crisis is open, the ``rewards`` gate holds
back celebrations (they stay pending and are delivered on release) and positive insights.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from domain.effects import (
    AlertRaised,
    Effect,
    InsightRaised,
    MilestoneReached,
    SeriesDelta,
    StateChanged,
)
from domain.progress import PatientProgress
from realtime.channels.bus import Bus
from realtime.protocol import celebration_message, patient_channel

SeriesValues = dict[str, float | None]


class RewardGate(Protocol):
    """Holds celebrations and positive insights back while a patient's crisis is open."""

    def hold_celebrations(self, patient_id: str) -> bool: ...

    def hold_insight(self, patient_id: str, code: str, message: dict[str, Any]) -> bool: ...


class _NoGate:
    def hold_celebrations(self, patient_id: str) -> bool:
        return False

    def hold_insight(self, patient_id: str, code: str, message: dict[str, Any]) -> bool:
        return False


@dataclass(slots=True)
class _Window:
    """What one patient channel owes its subscribers when the current window closes."""

    tracker: PatientProgress
    last_sent: float = float("-inf")
    state_due: bool = False
    series_due: dict[str, SeriesValues] = field(default_factory=dict)
    flush: asyncio.TimerHandle | None = None
    # Made once per channel and shared by all its retained `state` messages (see _flush).
    state: Callable[[], dict[str, Any]] | None = None


class Fanout:
    """Publishes what one patient's change means to the channels that care.

    Args:
        bus: where messages go.
        clock: the current instant, for snapshots computed when a window closes.
        coalesce_s: the window; 0 sends every change at once.
        monotonic: the window's own clock.
    """

    def __init__(
        self,
        bus: Bus,
        clock: Callable[[], datetime],
        *,
        coalesce_s: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._bus = bus
        self._clock = clock
        self._coalesce_s = coalesce_s
        self._monotonic = monotonic
        self._windows: dict[str, _Window] = {}
        self.rewards: RewardGate = _NoGate()

    def patient_changed(self, tracker: PatientProgress, effects: Sequence[Effect]) -> None:
        if not effects:
            return
        patient = tracker.patient
        channel = patient_channel(patient.patient_id)
        # `state` and `series` only serve listeners and recovery; a channel nobody has ever
        # subscribed to in this epoch has neither (Bus.has_audience), so they are not even
        # built: its first subscriber gets the snapshot, as the contract says.
        audience = self._bus.has_audience(channel)
        state_due = False
        series_due: dict[str, SeriesValues] = {}
        for effect in effects:
            match effect:
                case StateChanged():
                    state_due = audience
                case SeriesDelta():
                    # Its date and values are built only when read: not for a channel
                    # nobody listens to (a class pattern's keywords would read them first).
                    if audience:
                        series_due[effect.bucket.isoformat()] = effect.values
                case MilestoneReached(milestone=milestone):
                    if not self.rewards.hold_celebrations(patient.patient_id):
                        self._bus.publish(channel, dict(celebration_message(milestone)))
                case AlertRaised():
                    pass  # published by the alert inbox once stored (see the module doc)
                case InsightRaised(code=code, message=message):
                    insight = {"kind": "insight", "code": code, "message": message}
                    if not self.rewards.hold_insight(patient.patient_id, code, insight):
                        self._bus.publish(channel, insight)
        if not (state_due or series_due):
            return
        window = self._windows.get(channel)
        if window is None:
            window = self._windows[channel] = _Window(tracker)
        window.tracker = tracker
        window.state_due = window.state_due or state_due
        window.series_due.update(series_due)
        if window.flush is not None:
            return
        wait = window.last_sent + self._coalesce_s - self._monotonic()
        if wait <= 0:
            self._flush(channel)
        else:
            window.flush = asyncio.get_running_loop().call_later(wait, self._flush, channel)

    def _flush(self, channel: str) -> None:
        window = self._windows.get(channel)
        if window is None:
            return
        window.flush = None
        series, window.series_due = window.series_due, {}
        for bucket, values in series.items():
            self._bus.publish(channel, {"kind": "series", "bucket": bucket, "values": values})
        if window.state_due:
            window.state_due = False
            if window.state is None:
                window.state = self._state_of(window)
            self._bus.publish_lazy(channel, window.state)
        window.last_sent = self._monotonic()

    def _state_of(self, window: _Window) -> Callable[[], dict[str, Any]]:
        clock = self._clock

        def state() -> dict[str, Any]:
            # Computed when first read, with the figures of that moment. One function per
            # channel, not one closure per message: every retained message used to hold a
            # function and two cells, objects each full collection had to walk.
            return {"kind": "state", **window.tracker.snapshot(clock())}

        return state

    def flush_all(self) -> None:
        """Send everything still held back (at shutdown)."""
        for channel, window in list(self._windows.items()):
            if window.flush is not None:
                window.flush.cancel()
                self._flush(channel)
