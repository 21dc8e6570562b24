"""The hub's durable store: an append-only event log, patients and marks, in one SQLite file.

Durability promise: :meth:`SqliteStore.append_events` returns only after the transaction that
holds the events has committed with ``synchronous=FULL`` in WAL mode, so an acknowledged event
survives a crash of the process or the machine. One process at a time may open a file; a second
one is refused with :class:`~storage.errors.DatabaseInUse` before it touches anything.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol

import aiosqlite

from domain.events import Event
from domain.patients import Patient
from storage.alerts import AlertRows
from storage.batch import Batch
from storage.errors import SchemaTooNew, StorageError
from storage.eventlog import Unreadable, known_ids, known_ids_at_once, read_events
from storage.filters import where
from storage.lock import DatabaseLock
from storage.records import (
    AlertRecord,
    AuditEntry,
    StoredState,
    patient_from_row,
    zone_history_to_json,
)
from storage.retention import RetentionRows
from storage.schema import migrate, refuse_newer
from storage.snapshots import SnapshotRows
from storage.together import audit_steps, marks_steps
from storage.writer import BUSY_TIMEOUT_MS, GroupCommitWriter

Synchronous = Literal["OFF", "NORMAL", "FULL", "EXTRA"]
DEFAULT_SYNCHRONOUS: Synchronous = "FULL"

# ``at`` is taken from the body inside SQLite (its text is the event's own instant, offset
# kept), which is cheaper than formatting it in Python for every row.
_LOG_POSITION = "SELECT max(seq) FROM events"
LANE_BUSY_TIMEOUT_MS = 20  # a WAL reader is rarely busy; the event loop must not wait long
_INSERT_EVENT = (
    "INSERT OR IGNORE INTO events (id, patient_id, kind, at, received_at, body) "
    "VALUES (?1, ?2, ?3, json_extract(?5, '$.at'), ?4, ?5)"
)
_UPSERT_PATIENT = (
    "INSERT INTO patients (patient_id, therapist_id, zone_history, updated_at) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (patient_id) DO UPDATE SET therapist_id = excluded.therapist_id, "
    "zone_history = excluded.zone_history, updated_at = excluded.updated_at"
)


class ProgressStore(Protocol):
    """What the hub needs from persistence; :class:`SqliteStore` is the implementation."""

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def append_events(self, batch: Batch) -> int: ...

    async def put_patient(self, patient: Patient, now: datetime) -> None: ...

    async def put_marks(self, patient_id: str, marks: dict[str, Any], now: datetime) -> None: ...

    async def load_state(self, *, event_ids: bool = True) -> StoredState: ...

    async def append_audit(self, entries: Sequence[AuditEntry]) -> None: ...

    async def read_audit(
        self, *, limit: int, before_seq: int | None, patient_id: str | None
    ) -> list[AuditEntry]: ...

    async def read_alerts(
        self, patient_id: str, start: datetime, end: datetime
    ) -> list[AlertRecord]: ...

    def events(
        self, after_seq: int = 0, *, on_unreadable: Unreadable | None = None
    ) -> AsyncIterator[Event]: ...

    async def known_event_ids(self, ids: Sequence[str], *, urgent: bool = False) -> set[str]: ...

    @property
    def snapshots(self) -> SnapshotRows | None: ...

    @property
    def retention(self) -> RetentionRows | None: ...

    @property
    def alerts(self) -> AlertRows | None: ...

    @property
    def queued_rows(self) -> int: ...


class SqliteStore:
    """The production store.

    Args:
        path: the database file; its folder is created if missing.
        synchronous: SQLite's ``synchronous`` pragma; ``FULL`` makes every commit durable.
        on_commit: told the row count of every committed transaction (for metrics).
        read_only: open for reading only (export, inspection): no lock, no migration, no
            writer; works beside a running hub.
    """

    def __init__(
        self,
        path: Path,
        *,
        synchronous: Synchronous = DEFAULT_SYNCHRONOUS,
        on_commit: Callable[[int], None] | None = None,
        read_only: bool = False,
    ) -> None:
        self.path = path
        self._on_commit = on_commit
        self._synchronous = synchronous
        self._connection: aiosqlite.Connection | None = None
        self._lane: sqlite3.Connection | None = None  # urgent id lookups, on the event loop
        self._writer: GroupCommitWriter | None = None
        self._read_only = read_only
        self._lock = DatabaseLock(path)
        # Whether the file has ``purged_ids``: asked once, as no schema changes while open.
        self._has_purged_ids: bool | None = None

    @property
    def writer(self) -> GroupCommitWriter:
        if self._writer is None:
            raise StorageError("the store is not open")
        return self._writer

    @property
    def queued_rows(self) -> int:
        return self._writer.queued_rows if self._writer else 0

    @property
    def snapshots(self) -> SnapshotRows | None:
        """Snapshot rows; ``None`` before ``open`` and on a read-only store."""
        if self._connection is None or self._writer is None:
            return None
        return SnapshotRows(self._connection, self._writer)

    @property
    def retention(self) -> RetentionRows | None:
        """Purge rows; ``None`` before ``open`` and on a read-only store."""
        if self._connection is None or self._writer is None:
            return None
        return RetentionRows(self._connection, self._writer)

    @property
    def alerts(self) -> AlertRows | None:
        """Alert and webhook outbox rows; ``None`` before ``open`` and on a read-only store."""
        if self._connection is None or self._writer is None:
            return None
        return AlertRows(self._connection, self._writer)

    async def open(self) -> None:
        """Lock the file, migrate the schema, start the writer.

        Raises:
            DatabaseInUse: another process serves this file.
            SchemaTooNew: the file comes from a newer progress-hub.
            StorageError: the file cannot be opened or is not a database.
        """
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StorageError(f"cannot create {self.path.parent}: {error.strerror}") from None
        if self._read_only:
            await self._open_read_only()
            return
        self._lock.acquire()
        try:
            connection = await aiosqlite.connect(self.path, isolation_level=None)
        except Exception as error:
            self._lock.release()
            raise StorageError(f"cannot open database {self.path}: {error}") from None
        self._connection = connection
        try:
            await connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            await connection.execute("PRAGMA journal_mode=WAL")
            await connection.execute(f"PRAGMA synchronous={self._synchronous}")
            await connection.execute("PRAGMA foreign_keys=ON")
            await migrate(connection, self.path)
            self._lane = sqlite3.connect(self.path, isolation_level=None)
            self._lane.execute(f"PRAGMA busy_timeout={LANE_BUSY_TIMEOUT_MS}")
        except StorageError:
            await self.close()
            raise
        except Exception as error:
            await self.close()
            raise StorageError(f"cannot use database {self.path}: {error}") from None
        self._writer = GroupCommitWriter(
            self.path,
            synchronous=self._synchronous,
            on_commit=self._on_commit,
            position_query=_LOG_POSITION,
        )
        try:
            await self._writer.start()
        except Exception as error:
            await self.close()
            raise StorageError(f"cannot use database {self.path}: {error}") from None

    async def _open_read_only(self) -> None:
        # A reader needs no lock: WAL lets it read beside a running hub, and it writes nothing.
        if not self.path.exists():
            raise StorageError(f"no database at {self.path}")
        try:
            self._connection = await aiosqlite.connect(
                f"file:{self.path}?mode=ro", uri=True, isolation_level=None
            )
            async with self._connection.execute("PRAGMA user_version") as cursor:
                row = await cursor.fetchone()
        except Exception as error:
            await self.close()
            raise StorageError(f"cannot read database {self.path}: {error}") from None
        try:
            refuse_newer(int(row[0]) if row else 0, self.path)
        except SchemaTooNew:
            await self.close()
            raise

    async def close(self) -> None:
        """Commit what is queued, close the file, release the lock."""
        if self._writer is not None:
            await self._writer.close()
            self._writer = None
        if self._lane is not None:
            self._lane.close()
            self._lane = None
        if self._connection is not None:
            await self._connection.close()
            self._connection = None
        self._has_purged_ids = None
        self._lock.release()

    async def append_events(self, batch: Batch) -> int:
        """Commit the events and ``together`` (their patients' alerts, marks, outbox) in one
        transaction; the log position (``seq``) it reached. The lane: see storage.writer."""
        events = batch.events
        received = batch.received_at.astimezone(UTC).isoformat()
        # The model's own serializer, called directly: the same JSON as ``model_dump_json``
        # without its per-call wrapper (measured about a quarter cheaper per row).
        rows = [
            (
                event.id,
                event.patient_id,
                event.kind,
                received,
                event.__pydantic_serializer__.to_json(event, exclude_none=True).decode(),
            )
            for event in events
        ]
        keys = frozenset(event.patient_id for event in events)
        steps = [(_INSERT_EVENT, rows), *batch.together]
        return await self.writer.write_together(steps, batch.lane, keys=keys)

    async def put_patient(self, patient: Patient, now: datetime) -> None:
        row = (
            patient.patient_id,
            patient.therapist_id,
            zone_history_to_json(patient),
            now.astimezone(UTC).isoformat(),
        )
        await self.writer.write(_UPSERT_PATIENT, [row])

    async def put_marks(self, patient_id: str, marks: dict[str, Any], now: datetime) -> None:
        await self.writer.write_together(marks_steps([(patient_id, marks)], now))

    async def append_audit(self, entries: Sequence[AuditEntry]) -> None:
        if entries:
            await self.writer.write_together(audit_steps(entries))

    async def read_audit(
        self, *, limit: int, before_seq: int | None, patient_id: str | None
    ) -> list[AuditEntry]:
        """The newest entries first, older than ``before_seq``, optionally for one patient."""
        filters, params = where({"seq < ?": before_seq, "patient_id = ?": patient_id})
        query = (
            "SELECT seq, at, role, sub, action, patient_id, scope FROM audit "
            f"{filters} ORDER BY seq DESC LIMIT ?"
        )
        async with self._require_connection().execute(query, (*params, limit)) as cursor:
            return [
                AuditEntry(datetime.fromisoformat(at), role, sub, action, patient, scope, seq)
                async for seq, at, role, sub, action, patient, scope in cursor
            ]

    async def read_alerts(
        self, patient_id: str, start: datetime, end: datetime
    ) -> list[AlertRecord]:
        """Alerts raised for a patient in ``[start, end)``, oldest first."""
        query = (
            "SELECT therapist_id, code, severity, detail, raised_at FROM alerts "
            "WHERE patient_id = ? AND raised_at >= ? AND raised_at < ? ORDER BY raised_at, seq"
        )
        bounds = (start.astimezone(UTC).isoformat(), end.astimezone(UTC).isoformat())
        async with self._require_connection().execute(query, (patient_id, *bounds)) as cursor:
            return [
                AlertRecord(
                    patient_id, therapist, code, severity, detail, datetime.fromisoformat(at)
                )
                async for therapist, code, severity, detail, at in cursor
            ]

    def _require_connection(self) -> aiosqlite.Connection:
        if self._connection is None:
            raise StorageError("the store is not open")
        return self._connection

    async def load_state(self, *, event_ids: bool = True) -> StoredState:
        """Patients, marks, and the id of every event ever stored (purged ones included).

        Args:
            event_ids: read the ids too (``False`` leaves ``event_ids`` empty, for a start-up
                that learns them from a snapshot and the replay instead).
        """
        connection = self._require_connection()
        # execute_fetchall: one hop to aiosqlite's thread per query, not one per 64 rows.
        patients = [
            patient_from_row(*row)
            for row in await connection.execute_fetchall(
                "SELECT patient_id, therapist_id, zone_history FROM patients"
            )
        ]
        marks = {
            row[0]: json.loads(row[1])
            for row in await connection.execute_fetchall("SELECT patient_id, body FROM marks")
        }
        ids: set[str] = set()
        if event_ids:
            ids.update(row[0] for row in await connection.execute_fetchall("SELECT id FROM events"))
            if await self._has_table(connection, "purged_ids"):
                ids.update(
                    row[0] for row in await connection.execute_fetchall("SELECT id FROM purged_ids")
                )
        return StoredState(patients, marks, ids)

    async def purged_events(self) -> int:
        """How many events retention has purged from this file (works read-only too)."""
        connection = self._require_connection()
        if not await self._has_table(connection, "retention"):
            return 0
        rows = list(await connection.execute_fetchall("SELECT purged_events FROM retention"))
        return int(rows[0][0]) if rows else 0

    async def _has_table(self, connection: aiosqlite.Connection, name: str) -> bool:
        # A read-only store (export) may open a file from before the table existed.
        rows = await connection.execute_fetchall(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
        )
        return bool(list(rows))

    async def events(
        self, after_seq: int = 0, *, on_unreadable: Unreadable | None = None
    ) -> AsyncIterator[Event]:
        """Every stored event after ``after_seq``, in commit order (see ``read_events``)."""
        async for event, _ in self.events_with_receipt(after_seq, on_unreadable=on_unreadable):
            yield event

    async def events_with_receipt(
        self, after_seq: int = 0, *, on_unreadable: Unreadable | None = None
    ) -> AsyncIterator[tuple[Event, str]]:
        """Every stored event with the instant the hub received it, in commit order."""
        async for row in read_events(self._require_connection(), after_seq, on_unreadable):
            yield row

    async def known_event_ids(self, ids: Sequence[str], *, urgent: bool = False) -> set[str]:
        """Those of ``ids`` already committed, or purged by retention. ``urgent``: asked at
        once on a connection of the caller's thread, not behind the bulk lookups."""
        connection = self._require_connection()
        if self._has_purged_ids is None:
            self._has_purged_ids = await self._has_table(connection, "purged_ids")
        if urgent and self._lane is not None:
            with contextlib.suppress(sqlite3.OperationalError):  # busy: take the shared one
                return known_ids_at_once(self._lane, ids, purged=self._has_purged_ids)
        return await known_ids(connection, ids, purged=self._has_purged_ids)
