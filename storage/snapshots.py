"""Snapshot rows: each tracker's state as of an event ``seq``, so a restart replays only the
events after it. The store keeps the bytes; what they mean is the shell's business.

A snapshot is written in parts (one row per patient, in batches, through the same group-commit
writer as events) and only counts once it is marked complete; older snapshots are deleted then.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import aiosqlite

from storage.writer import GroupCommitWriter

_INSERT_PART = "INSERT INTO snapshot_parts (snapshot_id, patient_id, body) VALUES (?, ?, ?)"
_READ_CHUNK = 2_000


@dataclass(frozen=True, slots=True)
class SnapshotInfo:
    id: int
    through_seq: int
    state_version: str
    format: int  # the state format its parts hold; 0 for the old pickled trackers
    taken_at: datetime
    patients: int


class SnapshotRows:
    """Reads and writes snapshot rows on the store's connection and writer."""

    def __init__(self, connection: aiosqlite.Connection, writer: GroupCommitWriter) -> None:
        self._connection = connection
        self._writer = writer

    async def max_event_seq(self) -> int:
        async with self._connection.execute("SELECT coalesce(max(seq), 0) FROM events") as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def begin(
        self, through_seq: int, state_version: str, now: datetime, state_format: int = 0
    ) -> int:
        # Through the writer, the file's only writing connection; the id is chosen here, which
        # is safe because one hub writes a file and takes one snapshot at a time.
        rows = await self._writer.read("SELECT coalesce(max(id), 0) + 1 FROM snapshots")
        snapshot_id = int(rows[0][0])
        await self._writer.write(
            "INSERT INTO snapshots (id, taken_at, through_seq, state_version, format) "
            "VALUES (?, ?, ?, ?, ?)",
            [
                (
                    snapshot_id,
                    now.astimezone(UTC).isoformat(),
                    through_seq,
                    state_version,
                    state_format,
                )
            ],
        )
        return snapshot_id

    async def add_parts(self, snapshot_id: int, parts: Sequence[tuple[str, bytes]]) -> None:
        await self._writer.write(
            _INSERT_PART, [(snapshot_id, patient_id, body) for patient_id, body in parts]
        )

    async def finish(self, snapshot_id: int, patients: int) -> None:
        """Mark the snapshot complete and drop every older one."""
        await self._writer.write(
            "UPDATE snapshots SET complete = 1, patients = ? WHERE id = ?",
            [(patients, snapshot_id)],
        )
        await self._writer.write(
            "DELETE FROM snapshot_parts WHERE snapshot_id < ?", [(snapshot_id,)]
        )
        await self._writer.write("DELETE FROM snapshots WHERE id < ?", [(snapshot_id,)])

    async def latest(self) -> SnapshotInfo | None:
        async with self._connection.execute(
            "SELECT id, through_seq, state_version, format, taken_at, patients FROM snapshots "
            "WHERE complete = 1 ORDER BY id DESC LIMIT 1"
        ) as cursor:
            row = await cursor.fetchone()
        if row is None:
            return None
        return SnapshotInfo(
            int(row[0]),
            int(row[1]),
            str(row[2]),
            int(row[3]),
            datetime.fromisoformat(row[4]),
            int(row[5]),
        )

    async def parts(self, snapshot_id: int) -> AsyncIterator[tuple[str, bytes]]:
        last = ""
        while True:
            async with self._connection.execute(
                "SELECT patient_id, body FROM snapshot_parts "
                "WHERE snapshot_id = ? AND patient_id > ? ORDER BY patient_id LIMIT ?",
                (snapshot_id, last, _READ_CHUNK),
            ) as cursor:
                rows = list(await cursor.fetchall())
            if not rows:
                return
            for patient_id, body in rows:
                yield patient_id, bytes(body)
            last = rows[-1][0]
