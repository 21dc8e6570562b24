"""An in-memory twin of :class:`~storage.store.SqliteStore` for fast tests of the shell.

It keeps the same contract (idempotent event ids, upserted patients and marks) but promises
no durability: everything is gone when the process ends.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

from domain.events import Event
from domain.patients import Patient
from storage.errors import StorageClosed
from storage.store import StoredState


class MemoryStore:
    """A :class:`~storage.store.ProgressStore` that lives in a few dicts."""

    def __init__(self) -> None:
        self._events: dict[str, Event] = {}
        self._patients: dict[str, Patient] = {}
        self._marks: dict[str, dict[str, Any]] = {}
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

    async def append_events(self, events: Sequence[Event], received_at: datetime) -> None:
        self._check_open()
        for event in events:
            self._events.setdefault(event.id, event)

    async def put_patient(self, patient: Patient, now: datetime) -> None:
        self._check_open()
        self._patients[patient.patient_id] = patient

    async def put_marks(self, patient_id: str, marks: dict[str, Any], now: datetime) -> None:
        self._check_open()
        self._marks[patient_id] = dict(marks)

    async def load_state(self) -> StoredState:
        return StoredState(
            list(self._patients.values()),
            {key: dict(value) for key, value in self._marks.items()},
            set(self._events),
        )

    async def events(self) -> AsyncIterator[Event]:
        for event in list(self._events.values()):
            yield event
