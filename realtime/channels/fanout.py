"""Turns the domain's effects into channel messages (``PROTOCOL.md`` section 4, ``message``).

Chart deltas and ``state`` are coalesced per channel: the first change in a quiet channel goes
out at once; further changes within ``coalesce_s`` (100 ms by default) are folded together and
sent when the window ends, computed then, so a burst of events costs a dashboard one message
per window that always carries the latest values. Celebrations, insights and alerts are never
held back or merged: a crisis alert goes out the moment it is known.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from domain.effects import (
    AlertRaised,
    Effect,
    InsightRaised,
    Milestone,
    MilestoneReached,
    SeriesDelta,
    StateChanged,
)
from domain.outcomes import rfc3339_utc
from domain.progress import PatientProgress
from realtime.channels.hub import Hub

SeriesValues = dict[str, float | None]


def patient_channel(patient_id: str) -> str:
    return f"patient:{patient_id}"


def therapist_channel(therapist_id: str) -> str:
    return f"therapist:{therapist_id}"


def milestone_to_wire(milestone: Milestone) -> dict[str, Any]:
    return {
        "id": milestone.id,
        "rule": milestone.rule,
        "title": milestone.title,
        "achieved_at": rfc3339_utc(milestone.achieved_at),
    }


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
        hub: where messages go.
        clock: the current instant, for snapshots computed when a window closes.
        coalesce_s: the window; 0 sends every change at once.
        monotonic: the window's own clock.
    """

    def __init__(
        self,
        hub: Hub,
        clock: Callable[[], datetime],
        *,
        coalesce_s: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._hub = hub
        self._clock = clock
        self._coalesce_s = coalesce_s
        self._monotonic = monotonic
        self._windows: dict[str, _Window] = {}

    def patient_changed(self, tracker: PatientProgress, effects: Sequence[Effect]) -> None:
        if not effects:
            return
        patient = tracker.patient
        channel = patient_channel(patient.patient_id)
        # `state` and `series` only serve listeners and recovery; a channel nobody has ever
        # subscribed to in this epoch has neither (Hub.has_audience), so they are not even
        # built: its first subscriber gets the snapshot, as the contract says.
        audience = self._hub.has_audience(channel)
        state_due = False
        series_due: dict[str, SeriesValues] = {}
        for effect in effects:
            match effect:
                case StateChanged():
                    state_due = audience
                case SeriesDelta(bucket=day, values=values):
                    if audience:
                        series_due[day.isoformat()] = dict(values)
                case MilestoneReached(milestone=milestone):
                    self._hub.publish(
                        channel, {"kind": "celebration", "milestone": milestone_to_wire(milestone)}
                    )
                case AlertRaised(code=code, severity=severity, detail=detail):
                    self._hub.publish(
                        therapist_channel(patient.therapist_id),
                        {
                            "kind": "alert",
                            "code": code,
                            "severity": severity,
                            "patient_id": patient.patient_id,
                            "detail": detail,
                        },
                    )
                case InsightRaised(code=code, message=message):
                    self._hub.publish(
                        channel, {"kind": "insight", "code": code, "message": message}
                    )
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
            self._hub.publish(channel, {"kind": "series", "bucket": bucket, "values": values})
        if window.state_due:
            window.state_due = False
            if window.state is None:
                window.state = self._state_of(window)
            self._hub.publish_lazy(channel, window.state)
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
