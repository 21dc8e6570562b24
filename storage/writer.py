"""Group commit: one task owns every write and commits what arrived together in one transaction.

A durable commit costs a disk flush (``synchronous=FULL``), so one commit per event caps the hub
at a few thousand events per second. Instead, writers enqueue their rows and wait; the writer
task takes everything queued (up to ``max_batch_rows``), lingers up to ``max_delay_s`` for more
while the batch is small, runs it in one transaction and only then wakes the waiters. An
``ack`` is therefore sent only after the commit that holds its events.

The transaction runs on the writer's own ``sqlite3`` connection in one dedicated thread, as one
call: ``BEGIN IMMEDIATE``, every ``executemany``, ``COMMIT``: one hop between the event loop
and the thread per transaction (aiosqlite makes one per statement). SQLite's own work there runs
without the GIL, so callers build the next rows on the event loop meanwhile. (Building rows in
the writer thread instead measured no faster: serialising holds the GIL wherever it runs, and it
would let one bad row fail everybody's transaction.)

Backpressure: when more than ``max_queued_rows`` rows wait, new writers wait for room before
they enqueue, so a publisher that outruns the disk is slowed instead of growing memory.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from storage.errors import StorageClosed

DEFAULT_MAX_BATCH_ROWS = 5_000
DEFAULT_MAX_DELAY_S = 0.002
DEFAULT_MAX_QUEUED_ROWS = 50_000
# How long a write waits for SQLite's lock before failing: only a reader's checkpoint or an
# external tool (the hub itself is the only writer) can hold it.
BUSY_TIMEOUT_MS = 5_000

log = logging.getLogger("progress_hub.storage")

Row = tuple[Any, ...]


Step = tuple[str, Sequence[Row]]


@dataclass(slots=True)
class _Write:
    steps: list[Step]
    rows: int
    done: asyncio.Future[None] = field(repr=False)


def _transaction(connection: sqlite3.Connection, batch: list[_Write]) -> None:
    """Run the batch as one transaction; called in the writer thread."""
    steps = [step for write in batch for step in write.steps]
    connection.execute("BEGIN IMMEDIATE")
    try:
        index = 0
        while index < len(steps):
            # Adjacent steps of the same statement go down in one executemany.
            statement = steps[index][0]
            merged: list[Row] = []
            while index < len(steps) and steps[index][0] == statement:
                merged.extend(steps[index][1])
                index += 1
            connection.executemany(statement, merged)
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            try:
                connection.execute("ROLLBACK")
            except sqlite3.Error:  # the original error is what callers need
                log.exception("event=rollback_failed")
        raise


class GroupCommitWriter:
    """Serialises all writes to one SQLite file, committing in groups.

    Args:
        path: the database file (already migrated); the writer opens its own connection.
        synchronous: SQLite's ``synchronous`` pragma for that connection.
        max_batch_rows: most rows one transaction takes.
        max_delay_s: how long a small batch waits for company before it commits.
        max_queued_rows: queued rows beyond which writers wait for room.
        on_commit: told the row count of every committed transaction (for metrics).
    """

    def __init__(
        self,
        path: Path,
        *,
        synchronous: str = "FULL",
        max_batch_rows: int = DEFAULT_MAX_BATCH_ROWS,
        max_delay_s: float = DEFAULT_MAX_DELAY_S,
        max_queued_rows: int = DEFAULT_MAX_QUEUED_ROWS,
        on_commit: Callable[[int], None] | None = None,
    ) -> None:
        self._path = path
        self._synchronous = synchronous
        self._on_commit = on_commit
        self._max_batch_rows = max_batch_rows
        self._max_delay_s = max_delay_s
        self._max_queued_rows = max_queued_rows
        self._queue: deque[_Write] = deque()
        self._queued_rows = 0
        self._wakeup = asyncio.Event()
        self._room = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        # One thread, so the connection is only ever used where it was made.
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="progress-hub-writer")
        self._connection: sqlite3.Connection | None = None
        self.batches_committed = 0
        self.rows_committed = 0
        self.last_batch_rows = 0

    @property
    def queued_rows(self) -> int:
        return self._queued_rows

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self._path, isolation_level=None)
        connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute(f"PRAGMA synchronous={self._synchronous}")
        connection.execute("PRAGMA foreign_keys=ON")
        return connection

    async def start(self) -> None:
        """Open the writer's connection and start committing."""
        loop = asyncio.get_running_loop()
        self._connection = await loop.run_in_executor(self._thread, self._connect)
        self._task = asyncio.create_task(self._run(), name="progress-hub-writer")

    async def write(self, statement: str, rows: Sequence[Row]) -> None:
        """Enqueue ``rows`` for ``statement`` and return once they are committed.

        Raises:
            StorageClosed: the writer is shutting down.
            sqlite3.Error: the transaction holding these rows failed; nothing of it was kept.
        """
        if rows:
            await self.write_together([(statement, rows)])

    async def write_together(self, steps: Sequence[Step]) -> None:
        """Commit several statements, in order, in the same transaction (all or nothing).

        Raises:
            StorageClosed: the writer is shutting down.
            sqlite3.Error: the transaction failed; nothing of it was kept.
        """
        if self._closing:
            raise StorageClosed("the store is closed")
        rows = sum(len(step_rows) for _, step_rows in steps)
        if self._queued_rows + rows > self._max_queued_rows and self._queued_rows:
            async with self._room:
                await self._room.wait_for(
                    lambda: (
                        self._closing
                        or not self._queued_rows
                        or self._queued_rows + rows <= self._max_queued_rows
                    )
                )
            if self._closing:
                raise StorageClosed("the store is closed")
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append(_Write(list(steps), rows, done))
        self._queued_rows += rows
        self._wakeup.set()
        await done

    async def read(self, query: str, parameters: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run a query on the writer's connection, in order with the writes queued before it.

        For the rare read that must see exactly what this writer has committed so far.
        """
        connection = self._require_connection()
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._thread, lambda: connection.execute(query, parameters).fetchall()
        )

    def _require_connection(self) -> sqlite3.Connection:
        if self._connection is None:
            raise StorageClosed("the store is closed")
        return self._connection

    async def close(self) -> None:
        """Commit everything already queued, then stop."""
        self._closing = True
        self._wakeup.set()
        if self._task is not None:
            await self._task
            self._task = None
        async with self._room:
            self._room.notify_all()
        if self._connection is not None:
            connection, self._connection = self._connection, None
            await asyncio.get_running_loop().run_in_executor(self._thread, connection.close)
        self._thread.shutdown(wait=True)

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            if not self._queue:
                if self._closing:
                    return
                continue
            if self._queued_rows < self._max_batch_rows and not self._closing:
                # Linger briefly so concurrent publishers share one flush to disk.
                await asyncio.sleep(self._max_delay_s)
            while self._queue:
                await self._commit(self._take_batch())
            async with self._room:
                self._room.notify_all()

    def _take_batch(self) -> list[_Write]:
        batch: list[_Write] = []
        rows = 0
        while self._queue and (not batch or rows + self._queue[0].rows <= self._max_batch_rows):
            write = self._queue.popleft()
            batch.append(write)
            rows += write.rows
        self._queued_rows -= rows
        return batch

    async def _commit(self, batch: list[_Write]) -> None:
        rows = sum(write.rows for write in batch)
        connection = self._require_connection()
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._thread, _transaction, connection, batch)
        except Exception as error:
            log.error("event=commit_failed rows=%d error=%s", rows, type(error).__name__)
            for write in batch:
                if not write.done.done():
                    write.done.set_exception(error)
            return
        self.batches_committed += 1
        self.rows_committed += rows
        self.last_batch_rows = rows
        if self._on_commit is not None:
            self._on_commit(rows)
        for write in batch:
            if not write.done.done():
                write.done.set_result(None)
