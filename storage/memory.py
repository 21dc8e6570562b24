"""An in-memory twin of :class:`~storage.store.SqliteStore` for fast tests of the shell.

It keeps the same contract (idempotent event ids, upserted patients and marks) but promises
no durability: everything is gone when the process ends.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from domain.events import Event
from domain.patients import Patient
from storage.alerts import AlertRows
from storage.errors import StorageClosed
from storage.records import AlertRecord, AuditEntry, StoredState
from storage.retention import RetentionRows
from storage.snapshots import SnapshotRows
from storage.writer import Step


class MemoryStore:
    """A :class:`~storage.store.ProgressStore` that lives in a few dicts."""

    def __init__(self) -> None:
        self._events: dict[str, Event] = {}
        self._patients: dict[str, Patient] = {}
        self._marks: dict[str, dict[str, Any]] = {}
        self._audit: list[AuditEntry] = []
        self._alerts: list[AlertRecord] = []
        self._open = False

    @property
    def queued_rows(self) -> int:
        return 0

    async def open(self) -> None:
        self._open = True

    async def close(self) -> None:
        self._open = False

    def _check_open(self) -> None:
        if not self._open:
            raise StorageClosed("the store is closed")

    @property
    def alerts(self) -> AlertRows | None:
        return None  # the alert inbox needs SQLite

    async def append_events(
        self, events: Sequence[Event], received_at: datetime, together: Sequence[Step] = ()
    ) -> None:
        self._check_open()
        for event in events:
            self._events.setdefault(event.id, event)

    async def put_patient(self, patient: Patient, now: datetime) -> None:
        self._check_open()
        self._patients[patient.patient_id] = patient

    async def put_marks(self, patient_id: str, marks: dict[str, Any], now: datetime) -> None:
        self._check_open()
        self._marks[patient_id] = dict(marks)

    async def load_state(self, *, event_ids: bool = True) -> StoredState:
        return StoredState(
            list(self._patients.values()),
            {key: dict(value) for key, value in self._marks.items()},
            set(self._events) if event_ids else set(),
        )

    async def events(self, after_seq: int = 0) -> AsyncIterator[Event]:
        for event in list(self._events.values())[after_seq:]:
            yield event

    @property
    def snapshots(self) -> SnapshotRows | None:
        return None  # nothing to restart from: memory does not survive the process

    @property
    def retention(self) -> RetentionRows | None:
        return None  # nothing outlives the process, so nothing needs purging

    async def append_audit(self, entries: Sequence[AuditEntry]) -> None:
        self._check_open()
        for entry in entries:
            self._audit.append(replace(entry, seq=len(self._audit) + 1))

    async def read_audit(
        self, *, limit: int, before_seq: int | None, patient_id: str | None
    ) -> list[AuditEntry]:
        entries = [
            entry
            for entry in reversed(self._audit)
            if (before_seq is None or (entry.seq or 0) < before_seq)
            and (patient_id is None or entry.patient_id == patient_id)
        ]
        return entries[:limit]

    async def read_alerts(
        self, patient_id: str, start: datetime, end: datetime
    ) -> list[AlertRecord]:
        return sorted(
            (a for a in self._alerts if a.patient_id == patient_id and start <= a.raised_at < end),
            key=lambda a: a.raised_at,
        )
