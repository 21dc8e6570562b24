"""Group commit: one thread owns every write and commits what arrived together in one transaction.

A durable commit costs a disk flush (``synchronous=FULL``), so one commit per event caps the hub
at a few thousand events per second. Instead, writers enqueue their rows and wait; the writer
thread takes everything queued (up to ``max_batch_rows``), runs it in one transaction and then
wakes the waiters. An ``ack`` is therefore sent only after the commit that holds its events.

Back to back, never lingering: the thread takes the next batch the moment a commit is done, in
the thread itself, with no trip through the event loop in between, and whatever arrived while
a commit ran is the next batch. Batches grow with the load on their own (at 5,000 publishes/s
a commit carries what came during the last one); a linger would only add its delay to every
publish that finds the writer idle. (It used to wait up to 2 ms for company, then cross to a
thread pool and back for each transaction: at 5,000 single-event publishes/s a publish's commit
took 7 ms at the median for a 0.5 ms transaction.)

The transaction runs on the writer's own ``sqlite3`` connection, as one call: ``BEGIN
IMMEDIATE``, every ``executemany``, ``COMMIT``. SQLite's own work there runs without the GIL, so
callers build the next rows on the event loop meanwhile. (Building rows in the writer thread
instead measured no faster: serialising holds the GIL wherever it runs, and it would let one
bad row fail everybody's transaction.) Each transaction's waiters are woken by one callback
on their event loop.

Backpressure: when more than ``max_queued_rows`` rows wait, new writers wait for room before
they enqueue, so a publisher that outruns the disk is slowed instead of growing memory.

The urgent lane: a write marked ``urgent`` (an event that may raise an alert) is committed
next, ahead of the bulk writes queued before it, so it waits only for the commit in progress.
Each write names its ``keys`` (the patients its rows touch) and what it ``follows``: the keys
whose earlier writes must be committed before it (by default its keys; an urgent round names
only the patients whose marks it stores, since a patient's stored marks must be the last ones
computed, while event, alert and delivery rows are inserts under their own ids that any order
keeps). A queued write that holds a key the urgent write follows goes first with it, in the
same transaction, and so on back; the rest wait. A write without keys (a tick, a celebration,
a snapshot, audit rows), a read and the close are never passed. Urgent writes skip the
backpressure wait: they are few and small, and waiting for room would put them behind the bulk.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import sqlite3
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from storage.errors import StorageClosed
from storage.lane import BULK, Lane, Step, Write, take_urgent
from storage.multirow import Row, execute_rows

DEFAULT_MAX_BATCH_ROWS = 5_000
DEFAULT_MAX_QUEUED_ROWS = 50_000
# How long a write waits for SQLite's lock before failing: only a reader's checkpoint or an
# external tool (the hub itself is the only writer) can hold it.
BUSY_TIMEOUT_MS = 5_000

log = logging.getLogger("progress_hub.storage")


@dataclass(slots=True)
class _Read:
    """A query run on the writer's connection, in order with the writes queued before it."""

    query: str
    parameters: Sequence[Any]
    done: asyncio.Future[list[tuple[Any, ...]]] = field(repr=False)


def _transaction(connection: sqlite3.Connection, batch: list[Write], position_query: str) -> int:
    """Run the batch as one transaction and return the log position it reached.

    Called in the writer thread. The position is read inside the transaction, so it is exactly
    what the commit makes durable (a sequence number read after COMMIT could already include a
    later transaction's rows).
    """
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
            execute_rows(connection, statement, merged)
        position: int = connection.execute(position_query).fetchone()[0] or 0
        connection.execute("COMMIT")
        return position
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
        max_queued_rows: queued rows beyond which writers wait for room.
        on_commit: told the row count of every committed transaction (for metrics), on the
            event loop.
        position_query: a one-value query for the durable position a transaction reached
            (the log's last sequence number), answered to every write it committed.
    """

    def __init__(
        self,
        path: Path,
        *,
        synchronous: str = "FULL",
        max_batch_rows: int = DEFAULT_MAX_BATCH_ROWS,
        max_queued_rows: int = DEFAULT_MAX_QUEUED_ROWS,
        on_commit: Callable[[int], None] | None = None,
        position_query: str = "SELECT 0",
    ) -> None:
        self._path = path
        self._position_query = position_query
        self._synchronous = synchronous
        self._on_commit = on_commit
        self._max_batch_rows = max_batch_rows
        self._max_queued_rows = max_queued_rows
        # The only thing shared with the thread. A SimpleQueue, because putting never waits
        # for the thread: with a lock shared by both, the event loop stalled whenever the
        # thread held it and then waited for the GIL (9% of its time at 5,000 publishes/s).
        self._queue: queue.SimpleQueue[Write | _Read | None] = queue.SimpleQueue()
        # Rows enqueued and not yet committed (event-loop side only).
        self._queued_rows = 0
        self._closing = False
        # Event-loop side only.
        self._loop: asyncio.AbstractEventLoop | None = None
        self._room: list[asyncio.Future[None]] = []
        self._thread: threading.Thread | None = None
        self._stopped: asyncio.Future[None] | None = None
        self._connection: sqlite3.Connection | None = None
        self.batches_committed = 0
        self.rows_committed = 0
        self.last_batch_rows = 0

    @property
    def queued_rows(self) -> int:
        return self._queued_rows

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute(f"PRAGMA synchronous={self._synchronous}")
        connection.execute("PRAGMA foreign_keys=ON")
        return connection

    async def start(self) -> None:
        """Open the writer's connection and start committing.

        Raises:
            sqlite3.Error: the connection could not be opened.
        """
        loop = self._loop = asyncio.get_running_loop()
        # Opened here and then used by the writer thread alone.
        self._connection = await loop.run_in_executor(None, self._connect)
        self._stopped = loop.create_future()
        self._thread = threading.Thread(
            target=self._run, args=(self._connection,), name="progress-hub-writer", daemon=True
        )
        self._thread.start()

    async def write(self, statement: str, rows: Sequence[Row]) -> int:
        """Enqueue ``rows`` for ``statement``; once they are committed, the position reached.

        Raises:
            StorageClosed: the writer is shutting down.
            sqlite3.Error: the transaction holding these rows failed; nothing of it was kept.
        """
        return await self.write_together([(statement, rows)]) if rows else 0

    async def write_together(
        self,
        steps: Sequence[Step],
        lane: Lane = BULK,
        *,
        keys: frozenset[str] | None = None,
    ) -> int:
        """Commit several statements, in order, in the same transaction (all or nothing).

        Args:
            steps: the statements and their rows.
            lane: urgent or not, and the keys whose queued writes must commit first (see the
                module).
            keys: what the steps touch (patient ids), so an urgent write may pass this one;
                ``None`` when they may touch anything.

        Returns:
            The durable position that transaction reached (see ``position_query``).

        Raises:
            StorageClosed: the writer is shutting down.
            sqlite3.Error: the transaction failed; nothing of it was kept.
        """
        if self._closing or self._loop is None:
            raise StorageClosed("the store is closed")
        rows = sum(len(step_rows) for _, step_rows in steps)
        while (
            not lane.urgent
            and self._queued_rows
            and self._queued_rows + rows > self._max_queued_rows
        ):
            room = self._loop.create_future()
            self._room.append(room)
            await room
            if self._closing:
                raise StorageClosed("the store is closed")
        done: asyncio.Future[int] = self._loop.create_future()
        follows = keys if lane.follows is None else lane.follows
        self._enqueue(Write(list(steps), rows, done, lane.urgent, keys, follows), rows)
        return await done

    async def read(self, query: str, parameters: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run a query on the writer's connection, in order with the writes queued before it.

        For the rare read that must see exactly what this writer has committed so far.

        Raises:
            StorageClosed: the writer is shutting down.
        """
        if self._closing or self._loop is None:
            raise StorageClosed("the store is closed")
        done: asyncio.Future[list[tuple[Any, ...]]] = self._loop.create_future()
        self._enqueue(_Read(query, parameters, done), 0)
        return await done

    def _enqueue(self, item: Write | _Read, rows: int) -> None:
        self._queued_rows += rows
        self._queue.put(item)

    async def close(self) -> None:
        """Commit everything already queued, then stop."""
        if not self._closing:
            self._closing = True
            self._queue.put(None)  # after everything queued so far
        for room in self._room:
            if not room.done():
                room.set_result(None)
        self._room.clear()
        if self._stopped is not None:
            await asyncio.shield(self._stopped)
        self._connection = None

    # -- the writer thread ------------------------------------------------------------------

    def _run(self, connection: sqlite3.Connection) -> None:
        work = self._queue
        # Taken from the queue, not yet handled, in arrival order (urgent writes moved ahead).
        pending: deque[Write | _Read | None] = deque()
        # Urgent writes among ``pending``: the lane's walk over the backlog only when one waits.
        urgent_waiting = 0
        try:
            while True:
                taken = [] if pending else [work.get()]
                while True:  # everything queued meanwhile
                    try:
                        taken.append(work.get_nowait())
                    except queue.Empty:
                        break
                pending.extend(taken)
                urgent_waiting += sum(
                    1 for item in taken if isinstance(item, Write) and item.urgent
                )
                urgent = take_urgent(pending, self._max_batch_rows) if urgent_waiting else []
                if urgent:
                    urgent_waiting -= sum(1 for write in urgent if write.urgent)
                    self._commit(connection, urgent)
                    continue
                item = pending.popleft()
                if item is None:
                    break
                if isinstance(item, _Read):
                    self._read(connection, item)
                    continue
                # What follows joins, up to the row limit or a read.
                batch, rows = [item], item.rows
                while pending:
                    following = pending[0]
                    if (
                        following is None
                        or isinstance(following, _Read)
                        or rows + following.rows > self._max_batch_rows
                    ):
                        break
                    batch.append(following)
                    rows += following.rows
                    pending.popleft()
                if urgent_waiting:
                    urgent_waiting -= sum(1 for write in batch if write.urgent)
                self._commit(connection, batch)
        finally:
            try:
                connection.close()
            finally:
                self._post(self._set_stopped)

    def _commit(self, connection: sqlite3.Connection, batch: list[Write]) -> None:
        try:
            position = _transaction(connection, batch, self._position_query)
        except Exception as error:
            rows = sum(write.rows for write in batch)
            log.error("event=commit_failed rows=%d error=%s", rows, type(error).__name__)
            self._post(self._settle, batch, 0, error)
            return
        self._post(self._settle, batch, position, None)

    def _read(self, connection: sqlite3.Connection, read: _Read) -> None:
        try:
            rows = connection.execute(read.query, read.parameters).fetchall()
        except Exception as error:
            self._post(_resolve, read.done, None, error)
            return
        self._post(_resolve, read.done, rows, None)

    def _post(self, callback: Callable[..., None], *args: Any) -> None:
        loop = self._loop
        assert loop is not None
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody is left to tell
            loop.call_soon_threadsafe(callback, *args)

    # -- back on the event loop -------------------------------------------------------------

    def _settle(self, batch: list[Write], position: int, error: Exception | None) -> None:
        rows = sum(write.rows for write in batch)
        self._queued_rows -= rows
        if error is None:
            self.batches_committed += 1
            self.rows_committed += rows
            self.last_batch_rows = rows
            if self._on_commit is not None:
                self._on_commit(rows)
        for write in batch:
            _resolve(write.done, position, error)
        if self._room:
            # Each waiter checks again whether its rows fit now.
            waiting, self._room = self._room, []
            for room in waiting:
                if not room.done():
                    room.set_result(None)

    def _set_stopped(self) -> None:
        if self._stopped is not None and not self._stopped.done():
            self._stopped.set_result(None)


def _resolve(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
