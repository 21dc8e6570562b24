"""The alert inbox (``PROTOCOL.md`` section 7): raise, deliver, acknowledge, resolve, escalate.

Theory of operation
-------------------
An alert is born in a commit round: :meth:`AlertInbox.raised` turns the domain's
``AlertRaised`` effects into :class:`~storage.alerts.Alert` rows and :meth:`steps_for` adds them,
with their webhook deliveries, to the transaction that stores the events. Only once that
transaction is durable does :meth:`announce` keep them in memory and publish them (at once,
never coalesced), with support for the patient when critical. Every later change (acknowledge,
resolve, escalate) is committed first, with its audit entry and deliveries, then published as
``alert_updated`` / ``alert_escalated``.

Memory holds every alert not yet resolved (few by nature), so subscriptions, snapshots,
escalation and the gamification hold never read the database; listings page through it.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from domain.alert_codes import ALERT_SEVERITY, POSITIVE_INSIGHTS, is_critical
from domain.effects import AlertRaised, Effect
from domain.patients import Patient
from realtime.auth import Principal, Role
from realtime.channels.bus import Bus, Payload
from realtime.errors import Forbidden, InternalError, UnknownAlert
from realtime.metrics import HubMetrics
from realtime.protocol import ESCALATIONS_CHANNEL, patient_channel, therapist_channel
from realtime.service.outbox import WebhookOutbox
from realtime.service.unresolved import UnresolvedAlerts
from realtime.settings import Alerting
from storage.alerts import Alert, AlertPage, AlertRows, event_alert_id
from storage.lane import Step
from storage.records import AuditEntry
from storage.together import audit_steps

log = logging.getLogger("progress_hub.alerts")

WEBHOOK_TYPES: Final = ("alert.raised", "alert.escalated", "alert.acknowledged", "alert.resolved")


# No generated repr (the settings hold the webhook secret) and identity for equality.
@dataclass(eq=False, repr=False, slots=True)
class AlertInbox:
    """Every alert not yet resolved, and the use cases that change one.

    Args:
        rows: the store's alert and outbox rows.
        bus: where alerts, updates, escalations and support go.
        clock: the current instant.
        settings: escalation, webhooks, support.
        metrics: open alerts, time to acknowledge, escalations, outbox depth.
        therapist_of: a patient's current therapist (``None`` when unknown).
        outbox: the webhook deliveries each change queues.
    """

    rows: Callable[[], AlertRows | None]
    bus: Bus
    clock: Callable[[], datetime]
    settings: Alerting
    metrics: HubMetrics
    therapist_of: Callable[[str], str | None]
    outbox: WebhookOutbox
    _unresolved: UnresolvedAlerts = field(default_factory=UnresolvedAlerts, init=False)
    # One change at a time (acknowledge, resolve, escalate): each reads the alert, commits
    # and publishes before the next reads it, so none can store a state another replaced.
    _changing: asyncio.Lock = field(default_factory=asyncio.Lock, init=False)
    _held_insights: dict[str, list[Payload]] = field(default_factory=dict, init=False)
    # Patients something was held back from (celebrations stay pending in the tracker).
    _holding: set[str] = field(default_factory=set, init=False)
    on_release: Callable[[str], None] = field(default=lambda patient_id: None, init=False)
    on_queued: Callable[[], None] = field(default=lambda: None, init=False)

    def _store(self) -> AlertRows:
        rows = self.rows()
        if rows is None:
            raise InternalError("the alert store is not open")
        return rows

    async def load(self) -> None:
        """Read every unresolved alert and the outbox's depth (start-up)."""
        rows = self.rows()
        if rows is None:
            return
        for alert in await rows.unresolved():
            self._unresolved.put(alert)
            if alert.state == "open" and is_critical(alert.severity):
                self._holding.add(alert.patient_id)  # its celebrations wait, as before the restart
        self.outbox.set_depth(await rows.depth())
        self._count()

    # -- raising, inside a commit round -----------------------------------------------------

    def raised(self, patient: Patient, effects: Iterable[Effect], now: datetime) -> list[Alert]:
        """The alerts a patient's effects raise (nothing is stored or sent yet)."""
        alerts = []
        for effect in effects:
            if not isinstance(effect, AlertRaised):
                continue
            severity = effect.severity or ALERT_SEVERITY.get(effect.code, "warning")
            alert_id = (
                event_alert_id(effect.event_id, effect.code)
                if effect.event_id is not None
                else f"al_{secrets.token_hex(12)}"
            )
            alerts.append(
                Alert(
                    alert_id,
                    patient.patient_id,
                    patient.therapist_id,
                    effect.code,
                    severity,
                    effect.detail,
                    effect.event_id,
                    effect.event_at,
                    now,
                )
            )
        return alerts

    async def commit(self, steps: list[Step]) -> None:
        """Commit rows that go together (a tick's alerts, deliveries and marks)."""
        await self._store().commit(steps)

    def steps_for(self, alerts: Sequence[Alert], now: datetime) -> list[Step]:
        """The rows to commit with the events: the alerts and their webhook deliveries."""
        if not alerts:
            return []
        deliveries = self.outbox.deliveries("alert.raised", alerts)
        return [*AlertRows.raise_steps(alerts), *AlertRows.outbox_steps(deliveries, now)]

    def announce(self, alerts: Sequence[Alert]) -> None:
        """After their commit: keep the alerts and publish them at once, with support."""
        for alert in alerts:
            if alert.alert_id in self._unresolved:
                continue
            self._unresolved.put(alert)
            self.bus.publish(therapist_channel(alert.therapist_id), alert_message(alert))
            if is_critical(alert.severity):
                self._holding.add(alert.patient_id)
                self.bus.publish(patient_channel(alert.patient_id), self.support_message())
        if alerts:
            self._count()
            self.on_queued()

    def support_message(self) -> Payload:
        resources = [{"name": n, "contact": c} for n, c in self.settings.crisis_resources]
        return {
            "kind": "support",
            "message": self.settings.support_message,
            "resources": resources,
        }

    # -- reading ---------------------------------------------------------------------------

    def open_alerts(self, therapist_id: str) -> list[Alert]:
        """The open (unacknowledged) alerts of a therapist's current patients, oldest first."""
        return [
            alert
            for alert in self._unresolved
            if alert.state == "open" and self._owner(alert) == therapist_id
        ]

    def escalated_alerts(self) -> list[Alert]:
        return [alert for alert in self._unresolved if alert.escalations]

    def redeliver(self, therapist_id: str) -> None:
        """Publish the therapist's open alerts again, oldest first (on subscribe), at most
        ``redeliver_max`` (the snapshot lists every one)."""
        alerts = self.open_alerts(therapist_id)
        if len(alerts) > self.settings.redeliver_max:
            log.warning("event=redeliver_capped therapist=%s open=%d", therapist_id, len(alerts))
        for alert in alerts[: self.settings.redeliver_max]:
            self.bus.publish(therapist_channel(therapist_id), alert_message(alert))

    def _owner(self, alert: Alert) -> str:
        return self.therapist_of(alert.patient_id) or alert.therapist_id

    async def page(
        self,
        principal: Principal,
        *,
        states: Sequence[str],
        patient_id: str | None,
        severity: str | None,
        limit: int,
        before: str | None,
        patients_of: Callable[[str], list[str]],
    ) -> AlertPage:
        """A page of alerts the principal may read, newest first.

        Raises:
            Forbidden: a patient or service token, or another therapist's patient.
        """
        patient_ids: list[str] | None
        if principal.role is Role.ADMIN:
            patient_ids = [patient_id] if patient_id is not None else None
        elif principal.role is Role.THERAPIST:
            mine = patients_of(principal.sub)
            if patient_id is not None and patient_id not in mine:
                raise Forbidden("not allowed to read this patient's alerts")
            patient_ids = [patient_id] if patient_id is not None else mine
        else:
            raise Forbidden("alerts are for the patient's therapist and admin")
        return await self._store().page(
            states=states, patient_ids=patient_ids, severity=severity, limit=limit, before=before
        )

    async def _readable(self, principal: Principal, alert_id: str) -> Alert:
        alert = self._unresolved.get(alert_id)
        if alert is None:
            alert = await self._store().get(alert_id)
        allowed = principal.role is Role.ADMIN or (
            principal.role is Role.THERAPIST
            and alert is not None
            and self._owner(alert) == principal.sub
        )
        if not allowed:
            raise Forbidden("not allowed to change this alert")
        if alert is None:
            raise UnknownAlert(f"no alert {alert_id!r}")
        return alert

    # -- changes ---------------------------------------------------------------------------

    async def acknowledge(
        self,
        principal: Principal,
        alert_ids: Sequence[str],
        note: str | None,
        *,
        skip_unknown: bool = False,
    ) -> tuple[list[Alert], list[Alert]]:
        """Acknowledge open alerts; returns (every alert as it now is, those it changed).

        Raises:
            Forbidden: any of them is not the principal's to acknowledge (nothing changes).
            UnknownAlert: (admin only) an id names no alert, unless ``skip_unknown``.
        """
        async with self._changing:
            found = []
            for alert_id in dict.fromkeys(alert_ids):
                try:
                    found.append(await self._readable(principal, alert_id))
                except UnknownAlert:
                    if not skip_unknown:
                        raise
            now = self.clock()
            changed = [
                alert.acknowledged(principal.sub, now, note)
                for alert in found
                if alert.state == "open"
            ]
            await self._change(principal, changed, "alert.acknowledged", "alert_acknowledge", now)
        for alert in changed:
            waited = (now - alert.raised_at).total_seconds()
            self.metrics.alert_time_to_acknowledge.observe(max(waited, 0.0))
        by_id = {alert.alert_id: alert for alert in changed}
        return [by_id.get(alert.alert_id, alert) for alert in found], changed

    async def resolve(self, principal: Principal, alert_id: str, note: str | None) -> Alert:
        """Close an alert; resolving it again answers it as it is.

        Raises:
            Forbidden: not the principal's alert.
            UnknownAlert: (admin only) no such alert.
        """
        async with self._changing:
            alert = await self._readable(principal, alert_id)
            if alert.state == "resolved":
                return alert
            now = self.clock()
            resolved = alert.resolved(principal.sub, now, note)
            await self._change(principal, [resolved], "alert.resolved", "alert_resolve", now)
            return resolved

    async def _change(
        self, principal: Principal, changed: list[Alert], kind: str, action: str, now: datetime
    ) -> None:
        if not changed:
            return
        entries = [
            AuditEntry(now, principal.role.value, principal.sub, action, a.patient_id, a.alert_id)
            for a in changed
        ]
        steps = [
            *AlertRows.update_steps(changed),
            *audit_steps(entries),
            *AlertRows.outbox_steps(self.outbox.deliveries(kind, changed), now),
        ]
        await self._store().commit(steps)
        patients = set()
        for alert in changed:
            self._unresolved.put(alert)
            self.bus.publish(
                therapist_channel(self._owner(alert)), alert_message(alert, "alert_updated")
            )
            patients.add(alert.patient_id)
        self._count()
        self.on_queued()
        for patient_id in sorted(patients):
            self.release_if_free(patient_id, now)

    async def escalate_due(self) -> int:
        """Escalate every critical alert left open too long; returns how many."""
        async with self._changing:
            now = self.clock()
            after = self.settings.alert_escalate_after_s
            due = [
                alert.escalated()
                for alert in self._unresolved
                if alert.state == "open"
                and is_critical(alert.severity)
                and alert.escalations < self.settings.max_escalations
                and now >= alert.raised_at + timedelta(seconds=after * (alert.escalations + 1))
            ]
            if not due:
                return 0
            steps = [
                *AlertRows.update_steps(due),
                *AlertRows.outbox_steps(self.outbox.deliveries("alert.escalated", due), now),
            ]
            await self._store().commit(steps)
            for alert in due:
                self._unresolved.put(alert)
                message = alert_message(alert, "alert_escalated")
                self.bus.publish(therapist_channel(self._owner(alert)), message)
                self.bus.publish(ESCALATIONS_CHANNEL, message)
                log.warning(
                    "event=alert_escalated alert=%s patient=%s escalations=%d",
                    alert.alert_id,
                    alert.patient_id,
                    alert.escalations,
                )
            self.metrics.alert_escalations.inc(len(due))
            self.on_queued()
            return len(due)

    # -- gamification apart ----------------------------------------------------------------

    def holds_rewards(self, patient_id: str, now: datetime) -> bool:
        """Whether a critical alert raised in the last 24 h is still open for the patient."""
        since = now - timedelta(seconds=self.settings.gamification_hold_s)
        return any(
            alert.state == "open" and is_critical(alert.severity) and alert.raised_at > since
            for alert in self._unresolved.of_patient(patient_id)
        )

    def hold_celebrations(self, patient_id: str) -> bool:
        """Whether the patient's celebrations wait (they stay pending, delivered on release)."""
        if not self.holds_rewards(patient_id, self.clock()):
            return False
        self._holding.add(patient_id)
        return True

    def hold_insight(self, patient_id: str, code: str, message: Payload) -> bool:
        """Keep a positive insight back while rewards are held; ``True`` when kept."""
        if code not in POSITIVE_INSIGHTS or not self.holds_rewards(patient_id, self.clock()):
            return False
        self._holding.add(patient_id)
        self._held_insights.setdefault(patient_id, []).append(message)
        return True

    def release_if_free(self, patient_id: str, now: datetime) -> None:
        """Deliver what was held back once nothing holds it any more."""
        if patient_id not in self._holding or self.holds_rewards(patient_id, now):
            return
        self._holding.discard(patient_id)
        for message in self._held_insights.pop(patient_id, []):
            self.bus.publish(patient_channel(patient_id), message)
        self.on_release(patient_id)

    def release_expired(self) -> None:
        """Release the patients whose hold ran out (24 h passed) without an acknowledgement."""
        now = self.clock()
        for patient_id in sorted(self._holding):
            self.release_if_free(patient_id, now)

    def _count(self) -> None:
        for severity, count in self._unresolved.open_by_severity.items():
            self.metrics.alerts_open.labels(severity).set(count)


def alert_message(alert: Alert, kind: str = "alert") -> dict[str, Any]:
    """A channel message carrying the alert object (``alert``, ``alert_updated``, …)."""
    return {"kind": kind, **alert.to_wire()}
