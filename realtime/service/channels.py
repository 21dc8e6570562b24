"""The channel use cases: what a subscription shows, and the patient's celebrations.

WebSocket subscriptions read through the same access path as REST
(:meth:`ProgressService.readable_patient`, :meth:`Principal.may_read_therapist`) and leave the
same audit trail; refusals are the errors of :mod:`realtime.errors`, answered by the caller.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from realtime.auth import Principal
from realtime.channels.bus import Bus
from realtime.errors import Forbidden
from realtime.protocol import ChannelName, celebration_message, patient_channel
from realtime.service.alerts import AlertInbox
from realtime.service.audit import AuditTrail
from realtime.service.progress import ProgressService


@dataclass(frozen=True, slots=True)
class ChannelService:
    """Subscriptions' snapshots and the celebration round trip.

    Args:
        service: the patients' trackers.
        bus: where celebrations are published again.
        audit: where every read of patient data is recorded.
        clock: the current instant, for snapshots.
        alerts: the alert inbox (open alerts in snapshots, the reward hold).
    """

    _service: ProgressService
    _bus: Bus
    _audit: AuditTrail
    _clock: Callable[[], datetime]
    _alerts: AlertInbox

    def snapshot(self, principal: Principal, channel: ChannelName) -> dict[str, Any]:
        """The snapshot a ``subscribed`` frame carries, after checking the principal's rights.

        Raises:
            Forbidden: the principal may not read the channel.
            UnknownPatient: allowed, but nobody is registered under that id.
        """
        if channel.kind == "patient":
            tracker = self._service.readable_patient(principal, channel.owner)
            self._audit.record(principal, "subscribe", patient_id=channel.owner)
            return tracker.snapshot(self._clock())
        if channel.kind == "clinic":
            if not principal.may_read_audit():  # admin only, as the audit trail
                raise Forbidden(f"{channel} is for admin")
            self._audit.record(principal, "subscribe", scope=str(channel))
            return {"escalated_alerts": [a.to_wire() for a in self._alerts.escalated_alerts()]}
        if not principal.may_read_therapist(channel.owner):
            raise Forbidden(f"not allowed to read {channel}")
        self._audit.record(principal, "subscribe", scope=str(channel))
        return self.therapist_snapshot(channel.owner)

    def therapist_snapshot(self, therapist_id: str) -> dict[str, Any]:
        patients = self._service.trackers_of(therapist_id)
        return {
            "therapist_id": therapist_id,
            "patients": sorted(t.patient.patient_id for t in patients),
            "open_alerts": [a.to_wire() for a in self._alerts.open_alerts(therapist_id)],
        }

    def subscribed(self, principal: Principal, channel: ChannelName) -> None:
        """After a subscription: open alerts again on a therapist's channel (every subscriber,
        section 7); the patient's own client gets its unacknowledged celebrations."""
        if channel.kind == "therapist":
            self._alerts.redeliver(channel.owner)
        elif principal.is_patient(channel.owner) and channel.kind == "patient":
            self.redeliver_celebrations(channel.owner)

    def redeliver_celebrations(self, patient_id: str) -> None:
        """Publish again every celebration the patient has not acknowledged (unless held)."""
        tracker = self._service.tracker(patient_id)
        if tracker is None or self._alerts.hold_celebrations(patient_id):
            return
        for milestone in tracker.pending_celebrations():
            self._bus.publish(patient_channel(patient_id), dict(celebration_message(milestone)))

    async def celebrated(self, principal: Principal, milestone_ids: list[str]) -> list[str]:
        """Mark the patient's celebrations shown; returns the ids newly marked.

        Raises:
            Forbidden: for anyone but the patient itself.
            UnknownPatient: the patient is no longer registered.
        """
        if not principal.is_patient(principal.sub):
            raise Forbidden("only the patient's own client acknowledges celebrations")
        return await self._service.celebrate(principal.sub, milestone_ids)
