"""Everything one running hub holds, wired once: store, service, channels, connections, metrics."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from prometheus_client import Counter

from realtime.auth import Principal, Role
from realtime.channels.fanout import Fanout, milestone_to_wire, patient_channel
from realtime.channels.hub import Hub
from realtime.errors import UnknownPatient
from realtime.jobs.retention import Purger
from realtime.jobs.snapshots import TrackerSnapshots
from realtime.metrics import HubMetrics
from realtime.protocol import CLOSE_GOING_AWAY, ChannelName, FrameError
from realtime.ratelimit import RequestLimiter
from realtime.service.audit import AuditTrail
from realtime.service.progress import ProgressService
from realtime.settings import Settings
from storage.errors import LogIncomplete
from storage.store import ProgressStore

if TYPE_CHECKING:
    from realtime.ws.connection import Connection

log = logging.getLogger("progress_hub.runtime")


class Runtime:
    """The live hub behind one app.

    Args:
        settings: the configuration.
        store: persistence (opened by :meth:`start`, closed by :meth:`stop`).
        clock: the current instant; tests pass a controllable one.
        metrics: where to count; a fresh registry when omitted.
    """

    def __init__(
        self,
        settings: Settings,
        store: ProgressStore,
        clock: Callable[[], datetime],
        metrics: HubMetrics,
    ) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock
        self.metrics = metrics
        self.hub = Hub(
            history_size=settings.history_size,
            history_ttl_s=settings.history_ttl_s,
            history_max_bytes=settings.history_max_bytes,
        )
        self.fanout = Fanout(self.hub, clock, coalesce_s=settings.coalesce_s)
        self.service = ProgressService(
            store, self.fanout, clock, max_future_skew_s=settings.max_future_skew_s
        )
        self.snapshots = TrackerSnapshots(self.service, store, settings.secret, clock)
        self.events_purged = Counter(
            "progress_hub_events_purged",
            "Raw events purged under retention (their figures live on in snapshots)",
            registry=metrics.registry,
        )
        self.purger = (
            Purger(
                store,
                settings.retention_days,
                self.snapshots.state_format,
                clock,
                on_purged=self.events_purged.inc,
            )
            if settings.retention_days is not None
            else None
        )
        self.audit = AuditTrail(store, clock)
        self.request_limiter = RequestLimiter(settings.rest_rate_per_s, settings.rest_rate_burst)
        self.connections: set[Connection] = set()
        self.draining = False
        self._started = False
        self._stopped = False
        self._ticker: asyncio.Task[None] | None = None
        self._snapshotter: asyncio.Task[None] | None = None
        self._purging: asyncio.Task[None] | None = None

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
        except BaseException:
            await self.store.close()
            raise
        finally:
            if collecting:
                gc.enable()
        self.snapshots.events_at_last_snapshot = self.service.events_accepted
        if self.settings.tick_interval_s > 0:
            self._ticker = asyncio.create_task(self._tick_forever(), name="progress-hub-ticker")
        if self.settings.snapshot_interval_s > 0:
            self._snapshotter = asyncio.create_task(
                self._snapshot_forever(), name="progress-hub-snapshots"
            )
        if self.purger is not None and self.settings.purge_interval_s > 0:
            self._purging = asyncio.create_task(self._purge_forever(), name="progress-hub-purge")

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

    async def _purge_forever(self) -> None:
        while True:
            await asyncio.sleep(self.settings.purge_interval_s)
            try:
                await self.purge()
            except Exception:
                log.exception("event=purge_failed")

    def _snapshot_due(self) -> bool:
        return self.service.events_accepted != self.snapshots.events_at_last_snapshot

    async def _snapshot_forever(self) -> None:
        while True:
            await asyncio.sleep(self.settings.snapshot_interval_s)
            if self._snapshot_due():
                try:
                    await self.snapshots.take()
                except Exception:
                    log.exception("event=snapshot_failed")

    async def _tick_forever(self) -> None:
        # Streaks end at local midnights and dropout risk grows in silence: neither waits for
        # an event, so time itself is an input, sampled every tick.
        while True:
            await asyncio.sleep(self.settings.tick_interval_s)
            try:
                changed = await self.service.tick()
            except Exception:
                log.exception("event=tick_failed")
            else:
                log.debug("event=tick changed=%d", changed)

    async def drain(self) -> None:
        """Stop taking work and close every socket with 1001 after flushing its queue."""
        if self.draining:
            return
        self.draining = True
        for task in (self._ticker, self._snapshotter, self._purging):
            if task is not None:
                task.cancel()
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

    # -- channel access ---------------------------------------------------------------------

    def channel_snapshot(self, principal: Principal, channel: ChannelName) -> dict[str, Any]:
        """The snapshot a ``subscribed`` frame carries, after checking the principal's rights.

        Raises:
            FrameError: ``forbidden`` or ``unknown_patient``.
        """
        now = self.clock()
        if channel.kind == "patient":
            tracker = self.service.tracker(channel.owner)
            if not principal.may_read_patient(tracker.patient if tracker else None, channel.owner):
                raise FrameError("forbidden", f"not allowed to read {channel}")
            if tracker is None:
                raise FrameError("unknown_patient", f"no patient {channel.owner!r}")
            self.audit.record(principal, "subscribe", patient_id=channel.owner)
            return tracker.snapshot(now)
        if not principal.may_read_therapist(channel.owner):
            raise FrameError("forbidden", f"not allowed to read {channel}")
        self.audit.record(principal, "subscribe", scope=str(channel))
        return self.therapist_snapshot(channel.owner)

    def therapist_snapshot(self, therapist_id: str) -> dict[str, Any]:
        patients = sorted(t.patient.patient_id for t in self.service.trackers_of(therapist_id))
        return {"therapist_id": therapist_id, "patients": patients}

    # -- celebrations -----------------------------------------------------------------------

    def redeliver_celebrations(self, patient_id: str) -> None:
        """Publish again every celebration the patient has not acknowledged."""
        tracker = self.service.tracker(patient_id)
        if tracker is None:
            return
        for milestone in tracker.pending_celebrations():
            self.hub.publish(
                patient_channel(patient_id),
                {"kind": "celebration", "milestone": milestone_to_wire(milestone)},
            )

    async def celebrated(self, principal: Principal, milestone_ids: list[str]) -> list[str]:
        """Mark the patient's celebrations shown; returns the ids newly marked.

        Raises:
            FrameError: ``forbidden`` for anyone but the patient itself.
        """
        if principal.role is not Role.PATIENT:
            raise FrameError("forbidden", "only the patient's own client acknowledges celebrations")
        try:
            return await self.service.celebrate(principal.sub, milestone_ids)
        except UnknownPatient as error:
            raise FrameError("unknown_patient", str(error)) from None

    def refresh_gauges(self) -> None:
        self.metrics.messages_pushed.set(self.hub.messages_published)
        self.metrics.frames_delivered.set(self.hub.frames_delivered)
        self.metrics.writer_queued_rows.set(self.store.queued_rows)
        self.metrics.events_unapplied.set(self.service.unapplied.count)
