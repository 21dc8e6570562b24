"""Retention: purge raw events older than a horizon once a snapshot has folded them in.

The store only deletes what it is told is covered: the caller passes the ``through_seq`` of a
complete snapshot, and a chunk deletes rows with ``seq`` at most that and an event instant
(``at``, compared in UTC by SQLite's ``julianday``) before the horizon. Each chunk is one
transaction through the group-commit writer, so ingest interleaves with a purge instead of
waiting behind it. In the same transaction the purged ids move to ``purged_ids`` (a republished
id still answers "duplicate") and the ``retention`` row counts them, so start-up knows the log
alone no longer holds every figure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import aiosqlite

from storage.writer import GroupCommitWriter

DEFAULT_PURGE_CHUNK_SEQS = 2_000
_UNIX_EPOCH_JULIAN_DAY = 2440587.5

_COVERED_AND_OLD = "seq > ?1 AND seq <= ?2 AND julianday(at) < ?3"
_KEEP_IDS = f"INSERT OR IGNORE INTO purged_ids (id) SELECT id FROM events WHERE {_COVERED_AND_OLD}"
_DELETE = f"DELETE FROM events WHERE {_COVERED_AND_OLD}"
# changes() is the DELETE's row count: the statements run in order on one connection.
_COUNT = (
    "UPDATE retention SET purged_events = purged_events + changes(), "
    "purged_through_seq = CASE WHEN changes() > 0 THEN max(purged_through_seq, ?1) "
    "ELSE purged_through_seq END, last_purge_at = ?2 WHERE id = 1"
)


@dataclass(frozen=True, slots=True)
class RetentionStatus:
    """What purges have removed so far."""

    purged_events: int
    purged_through_seq: int
    last_purge_at: datetime | None


def julian_day(instant: datetime) -> float:
    """``instant`` as SQLite's ``julianday`` number (UTC)."""
    return instant.timestamp() / 86_400 + _UNIX_EPOCH_JULIAN_DAY


class RetentionRows:
    """Purges and reports on the store's connection and writer."""

    def __init__(self, connection: aiosqlite.Connection, writer: GroupCommitWriter) -> None:
        self._connection = connection
        self._writer = writer

    async def status(self) -> RetentionStatus:
        async with self._connection.execute(
            "SELECT purged_events, purged_through_seq, last_purge_at FROM retention"
        ) as cursor:
            row = await cursor.fetchone()
        if row is None:
            return RetentionStatus(0, 0, None)
        last = datetime.fromisoformat(row[2]) if row[2] else None
        return RetentionStatus(int(row[0]), int(row[1]), last)

    async def first_seq(self) -> int:
        """The lowest ``seq`` still stored (0 when the log is empty)."""
        async with self._connection.execute("SELECT coalesce(min(seq), 0) FROM events") as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def purge_chunk(
        self, after_seq: int, through_seq: int, horizon: datetime, now: datetime
    ) -> int:
        """Purge covered events older than ``horizon`` with ``after_seq < seq <= through_seq``.

        Returns:
            How many events this chunk removed.
        """
        before = await self.status()
        cutoff = julian_day(horizon)
        await self._writer.write_together(
            [
                (_KEEP_IDS, [(after_seq, through_seq, cutoff)]),
                (_DELETE, [(after_seq, through_seq, cutoff)]),
                (_COUNT, [(through_seq, now.astimezone(UTC).isoformat())]),
            ]
        )
        return (await self.status()).purged_events - before.purged_events
