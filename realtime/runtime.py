"""Everything one running hub holds, wired once: store, service, channels, connections, metrics."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import sys
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from prometheus_client import Counter

from realtime.channels.bus import Bus
from realtime.channels.fanout import Fanout
from realtime.channels.hub import Hub
from realtime.jobs.escalation import escalation_pass, pass_interval
from realtime.jobs.periodic import Periodic
from realtime.jobs.retention import Purger
from realtime.jobs.snapshots import TrackerSnapshots
from realtime.jobs.webhooks import WebhookSender
from realtime.metrics import HubMetrics
from realtime.protocol import CLOSE_GOING_AWAY
from realtime.ratelimit import RequestLimiter
from realtime.service.alerts import AlertInbox
from realtime.service.audit import AuditTrail
from realtime.service.channels import ChannelService
from realtime.service.eventlog import SqliteEventLog
from realtime.service.outbox import WebhookOutbox
from realtime.service.progress import ProgressService
from realtime.settings import Settings
from storage.errors import LogIncomplete
from storage.store import ProgressStore

log = logging.getLogger("progress_hub.runtime")

EXIT_DIVERGED = 70
"""The exit status when memory got ahead of the file (a commit failed after its apply)."""


def halt_process(reason: str) -> None:
    """Stop at once, without a snapshot or anything else that would store undurable state."""
    log.critical("event=halt reason=%r", reason)
    logging.shutdown()
    sys.stderr.flush()
    os._exit(EXIT_DIVERGED)


class Client(Protocol):
    """A live connection, as far as shutdown is concerned."""

    async def close(self, code: int, reason: str = "") -> None: ...


class Runtime:
    """The live hub behind one app.

    Args:
        settings: the configuration.
        store: persistence (opened by :meth:`start`, closed by :meth:`stop`).
        clock: the current instant; tests pass a controllable one.
        metrics: where to count; a fresh registry when omitted.
        halt: stops the process when memory got ahead of the file.
    """

    def __init__(
        self,
        settings: Settings,
        store: ProgressStore,
        clock: Callable[[], datetime],
        metrics: HubMetrics,
        halt: Callable[[str], None] = halt_process,
    ) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock
        self.metrics = metrics
        self.bus: Bus = Hub(settings.history)
        self.fanout = Fanout(self.bus, clock, coalesce_s=settings.timers.coalesce_s)
        self.outbox = WebhookOutbox(settings.alerting, metrics)
        self.alerts = AlertInbox(
            lambda: store.alerts,
            self.bus,
            clock,
            settings.alerting,
            metrics,
            self._therapist_of,
            self.outbox,
        )
        self.fanout.rewards = self.alerts
        self.service = ProgressService(
            store,
            SqliteEventLog(store),
            self.fanout,
            clock,
            max_future_skew_s=settings.limits.max_future_skew_s,
            alerts=self.alerts,
            halt=halt,
        )
        self.webhooks = WebhookSender(
            lambda: store.alerts, self.outbox, settings.alerting, metrics, clock
        )
        self.alerts.on_queued = self.webhooks.wake
        self.snapshots = TrackerSnapshots(self.service, store, settings.secret, clock)
        self.events_purged = Counter(
            "progress_hub_events_purged",
            "Raw events purged under retention (their figures live on in snapshots)",
            registry=metrics.registry,
        )
        self.purger = (
            Purger(
                store,
                settings.durability.retention_days,
                self.snapshots.state_format,
                clock,
                on_purged=self.events_purged.inc,
            )
            if settings.durability.retention_days is not None
            else None
        )
        self.audit = AuditTrail(store, clock)
        self.channels = ChannelService(self.service, self.bus, self.audit, clock, self.alerts)
        self.alerts.on_release = self.channels.redeliver_celebrations
        self.request_limiter = RequestLimiter(
            settings.limits.rest_rate_per_s, settings.limits.rest_rate_burst
        )
        self.connections: set[Client] = set()
        self.draining = False
        self._started = False
        self._stopped = False
        self.jobs = Periodic()
        self._delivering: asyncio.Task[None] | None = None

    def _therapist_of(self, patient_id: str) -> str | None:
        patient = self.service.patient(patient_id)
        return patient.therapist_id if patient is not None else None

    async def start(self) -> None:
        """Open the store and rebuild state; a second call does nothing.

        Raises:
            LogIncomplete: events were purged and no snapshot covering them can be read.
            StorageError: the store cannot be opened.
        """
        if self._started:
            return
        self._started = True
        await self.store.open()
        # Start-up builds millions of containers that all live on; the cyclic collector would
        # walk them again and again as they pile up (it halved the time to unpickle a 1M-event
        # snapshot when paused). Nothing else runs yet, and nothing built here is garbage.
        collecting = gc.isenabled()
        gc.disable()
        try:
            state = await self.store.load_state(event_ids=False)
            patients = {patient.patient_id: patient for patient in state.patients}
            restored = await self.snapshots.restore(patients)
            await self._check_log_is_enough(restored.through_seq if restored else None)
            await self.service.load(state, restored)
            await self.alerts.load()
        except BaseException:
            await self.store.close()
            raise
        finally:
            if collecting:
                gc.enable()
        self.snapshots.events_at_last_snapshot = self.service.events_accepted
        timers, durability = self.settings.timers, self.settings.durability
        self.jobs.every(timers.tick_interval_s, self._tick, "tick")
        self.jobs.every(durability.snapshot_interval_s, self._snapshot_if_due, "snapshot")
        if self.purger is not None:
            self.jobs.every(durability.purge_interval_s, self.purge, "purge")
        alerting = self.settings.alerting
        self.jobs.every(
            pass_interval(alerting.alert_escalate_after_s),
            lambda: escalation_pass(self.alerts),
            "escalation",
        )
        if alerting.webhooks:
            self._delivering = asyncio.create_task(
                self.webhooks.run(), name="progress-hub-webhooks"
            )

    async def _check_log_is_enough(self, restored_through: int | None) -> None:
        # After a purge the log alone no longer gives every figure: replaying it from the start
        # would silently drop what was purged, so without the covering snapshot, refuse.
        retention = self.store.retention
        if retention is None:
            return
        status = await retention.status()
        if not status.purged_events:
            return
        if restored_through is not None and restored_through >= status.purged_through_seq:
            return
        reason = self.snapshots.skip_reason or "no snapshot"
        raise LogIncomplete(
            f"{status.purged_events} events up to seq {status.purged_through_seq} were purged "
            f"under retention, and the snapshot that holds their figures cannot be used "
            f"({reason}); refusing to start with figures that would be wrong. Start the "
            "progress-hub version that wrote the snapshot, or restore a backup of the database "
            "(see docs/storage.md, Retention)"
        )

    async def purge(self) -> int:
        """Purge old, covered events now; returns how many went (0 without retention)."""
        if self.purger is None:
            return 0
        return await self.purger.purge()

    def _snapshot_due(self) -> bool:
        return self.service.events_accepted != self.snapshots.events_at_last_snapshot

    async def _snapshot_if_due(self) -> None:
        if self._snapshot_due():
            await self.snapshots.take()

    async def _tick(self) -> None:
        # Streaks end at local midnights and dropout risk grows in silence: neither waits for
        # an event, so time itself is an input, sampled every tick.
        changed = await self.service.tick()
        log.debug("event=tick changed=%d", changed)

    async def drain(self) -> None:
        """Stop taking work and close every socket with 1001 after flushing its queue."""
        if self.draining:
            return
        self.draining = True
        self.jobs.cancel()
        if self._delivering is not None:
            self._delivering.cancel()
        self.fanout.flush_all()
        connections = list(self.connections)
        if connections:
            log.info("event=draining connections=%d", len(connections))
            await asyncio.gather(
                *(conn.close(CLOSE_GOING_AWAY, "server shutting down") for conn in connections),
                return_exceptions=True,
            )

    async def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        await self.drain()
        await self.audit.close()
        if self._snapshot_due():
            # A snapshot at shutdown makes the next start-up replay almost nothing.
            try:
                await self.snapshots.take()
            except Exception:
                log.exception("event=snapshot_failed")
        await self.store.close()
        log.info("event=stopped")

    def refresh_gauges(self) -> None:
        self.metrics.messages_pushed.set(self.bus.messages_published)
        self.metrics.frames_delivered.set(self.bus.frames_delivered)
        self.metrics.writer_queued_rows.set(self.store.queued_rows)
        self.metrics.events_unapplied.set(self.service.unapplied.count)
