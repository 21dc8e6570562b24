"""The audit trail: who read which patient's data, and when.

Entries are buffered and written in one transaction every ``flush_s`` (or ``max_buffer``
entries), so a read never waits for a disk flush; the price is that a crash can lose the
entries of the last ``flush_s``. Every entry names the principal (role and sub), the action
(``progress``, ``series``, ``subscribe`` …) and the patient, or the scope of a practice-wide
read (``therapist:t1``, ``all``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass, field
from datetime import datetime

from realtime.auth import Principal
from storage.records import AuditEntry
from storage.store import ProgressStore

DEFAULT_FLUSH_S = 0.05
DEFAULT_MAX_BUFFER = 500

log = logging.getLogger("progress_hub.audit")


# No generated repr: the buffer names patients, and reprs end up in logs.
@dataclass(eq=False, repr=False, slots=True)
class AuditTrail:
    """Collects audit entries and writes them in batches."""

    store: ProgressStore
    clock: Callable[[], datetime]
    _: KW_ONLY
    flush_s: float = DEFAULT_FLUSH_S
    max_buffer: int = DEFAULT_MAX_BUFFER
    _buffer: list[AuditEntry] = field(default_factory=list, init=False)
    _flusher: asyncio.Task[None] | None = field(default=None, init=False)
    _writes: set[asyncio.Task[None]] = field(default_factory=set, init=False)
    _writing: asyncio.Lock = field(default_factory=asyncio.Lock, init=False)

    def record(
        self,
        principal: Principal,
        action: str,
        *,
        patient_id: str | None = None,
        scope: str | None = None,
    ) -> None:
        self._buffer.append(
            AuditEntry(self.clock(), principal.role.value, principal.sub, action, patient_id, scope)
        )
        if len(self._buffer) >= self.max_buffer:
            self._spawn(delay=0.0)
        elif self._flusher is None:
            self._spawn(delay=self.flush_s)

    def _spawn(self, delay: float) -> None:
        if self._flusher is not None and not self._flusher.done():
            if delay > 0:
                return
            self._flusher.cancel()
        self._flusher = asyncio.get_running_loop().create_task(self._flush_later(delay))

    async def _flush_later(self, delay: float) -> None:
        if delay:
            await asyncio.sleep(delay)
        self._flusher = None
        await self.flush()

    async def flush(self) -> None:
        """Write everything buffered now, after any flush already under way."""
        # Taking the buffer under the lock keeps the table's order the order of the reads.
        async with self._writing:
            entries, self._buffer = self._buffer, []
            if not entries:
                return
            try:
                await self.store.append_audit(entries)
            except Exception:
                log.exception("event=audit_write_failed entries=%d", len(entries))

    async def close(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
            self._flusher = None
        if self._writes:
            await asyncio.gather(*self._writes, return_exceptions=True)
        await self.flush()
