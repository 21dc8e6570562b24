"""Turns the domain's effects into channel messages (``PROTOCOL.md`` section 4, ``message``)."""

from __future__ import annotations

from collections.abc import Sequence
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
from domain.progress import PatientProgress
from realtime.hub import Hub


def patient_channel(patient_id: str) -> str:
    return f"patient:{patient_id}"


def therapist_channel(therapist_id: str) -> str:
    return f"therapist:{therapist_id}"


def milestone_to_wire(milestone: Milestone) -> dict[str, Any]:
    return {
        "id": milestone.id,
        "rule": milestone.rule,
        "title": milestone.title,
        "achieved_at": milestone.achieved_at.isoformat(),
    }


class Fanout:
    """Publishes what one patient's change means to the channels that care.

    Within one call, chart deltas of the same bucket collapse into the latest values and at most
    one ``state`` goes out, last, so subscribers see each figure once per change.
    """

    def __init__(self, hub: Hub) -> None:
        self._hub = hub

    def patient_changed(
        self, tracker: PatientProgress, effects: Sequence[Effect], now: datetime
    ) -> None:
        if not effects:
            return
        patient = tracker.patient
        channel = patient_channel(patient.patient_id)
        state_changed = False
        buckets: dict[str, dict[str, float | None]] = {}
        for effect in effects:
            match effect:
                case StateChanged():
                    state_changed = True
                case SeriesDelta(bucket=day, values=values):
                    buckets[day.isoformat()] = dict(values)
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
        for bucket, values in buckets.items():
            self._hub.publish(channel, {"kind": "series", "bucket": bucket, "values": values})
        if state_changed:
            self._hub.publish(channel, {"kind": "state", **tracker.snapshot(now)})
