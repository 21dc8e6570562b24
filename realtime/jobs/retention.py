"""Retention: purge raw events older than the configured age, once a snapshot holds them.

Theory of operation
-------------------
Figures never depend on raw events that are gone, because an event is deleted only when it is
both older than the horizon (its instant ``at`` before ``now - retention_days``) and covered by
the latest complete snapshot in the explicit state format this code writes (``seq`` at most
that snapshot's ``through_seq``). That snapshot holds every tracker with the event folded in,
and its format does not change with the code's layout, so start-up restores the figures from it
and replays only what came after. The ids of purged events are kept (``purged_ids``), so a
client republishing one still hears ``duplicates`` and nothing is counted twice.

A purge walks the covered ``seq`` range in chunks (``chunk_seqs`` seqs per transaction through
the group-commit writer), yielding between chunks, so publishes keep committing while it runs.

What retention does not do: it never deletes a snapshot, a patient, marks, alerts or audit
entries, and it never drops an event the hub has not yet folded into a snapshot. A late event
dated before the horizon is accepted and counted like any other; its raw row goes at the first
purge after a snapshot covers it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from storage.retention import DEFAULT_PURGE_CHUNK_SEQS
from storage.store import ProgressStore

log = logging.getLogger("progress_hub.retention")


class Purger:
    """Purges a store's old, covered events.

    Args:
        store: whose events to purge.
        retention_days: the age beyond which raw events go.
        state_format: the snapshot format this code writes; only a snapshot in it covers events.
        clock: the current instant.
        on_purged: told how many events each purge removed (for metrics).
        chunk_seqs: how many ``seq`` values one transaction examines.
    """

    def __init__(
        self,
        store: ProgressStore,
        retention_days: float,
        state_format: int,
        clock: Callable[[], datetime],
        *,
        on_purged: Callable[[int], None] | None = None,
        chunk_seqs: int = DEFAULT_PURGE_CHUNK_SEQS,
    ) -> None:
        self._store = store
        self._age = timedelta(days=retention_days)
        self._state_format = state_format
        self._clock = clock
        self._on_purged = on_purged
        self._chunk_seqs = chunk_seqs
        self._running = False
        self.longest_chunk_s = 0.0  # of the last purge: how long ingest could wait behind it

    async def purge(self) -> int:
        """Purge once; returns how many events went (0 when nothing is covered yet)."""
        retention, snapshots = self._store.retention, self._store.snapshots
        if retention is None or snapshots is None or self._running:
            return 0
        self._running = True
        try:
            snapshot = await snapshots.latest()
            if snapshot is None or snapshot.format != self._state_format:
                log.info("event=purge_skipped reason=no_covering_snapshot")
                return 0
            now = self._clock()
            horizon = now - self._age
            after = max(await retention.first_seq() - 1, 0)
            purged = 0
            self.longest_chunk_s = 0.0
            while after < snapshot.through_seq:
                through = min(after + self._chunk_seqs, snapshot.through_seq)
                started = time.perf_counter()
                purged += await retention.purge_chunk(after, through, horizon, now)
                self.longest_chunk_s = max(self.longest_chunk_s, time.perf_counter() - started)
                after = through
                await asyncio.sleep(0)  # let publishes commit between chunks
        finally:
            self._running = False
        log.info(
            "event=events_purged count=%d through_seq=%d horizon=%s longest_chunk_ms=%.1f",
            purged,
            snapshot.through_seq,
            horizon.isoformat(),
            self.longest_chunk_s * 1000,
        )
        if self._on_purged is not None and purged:
            self._on_purged(purged)
        return purged
