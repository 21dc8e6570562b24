"""The event-log seam: append a batch durably, read the log back from a position.

The service appends every accepted batch here and replays from here at start-up; it knows
nothing else of where events live. Today's implementation, :class:`SqliteEventLog`, is the
SQLite file's ``events`` table behind the group-commit writer, whose positions are the rows'
``seq``. A cluster mode would put a replicated stream (NATS JetStream, say) behind the same
three calls, its stream sequence as the position.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Protocol

from domain.events import Event
from storage.batch import Batch
from storage.errors import StorageError
from storage.eventlog import Unreadable
from storage.store import ProgressStore


class EventLog(Protocol):
    """Where accepted events live, in the order they were accepted."""

    async def append(self, batch: Batch) -> int:
        """Return the durable position reached once the batch is durable (an ``ack`` may then
        be sent), all or nothing: every event of the batch lies at or before that position.

        The batch's ``together`` rows share its transaction. An urgent ``lane`` commits before
        the appends waiting, except those holding a patient it follows, which go first with it
        (see :mod:`storage.writer`); positions then need not follow call order.

        Raises:
            StorageError: nothing of the batch was kept; its events may be sent again.
        """
        ...

    async def known_ids(self, event_ids: Sequence[str], *, urgent: bool = False) -> set[str]:
        """Which of ``event_ids`` the log already holds (or held, before a retention purge).

        The log is the judge of idempotency: the hub keeps only recent ids in memory.
        ``urgent``: not behind the bulk lookups waiting.
        """
        ...

    async def position(self) -> int:
        """The position of the last durable event (0 for an empty log)."""
        ...

    def read(
        self, from_position: int = 0, *, on_unreadable: Unreadable | None = None
    ) -> AsyncIterator[Event]:
        """Every event after ``from_position``, in the order it became durable.

        A stored event that no longer validates is passed to ``on_unreadable`` and skipped,
        so one bad row never stops a start-up.
        """
        ...


class SqliteEventLog:
    """The ``events`` table of the hub's SQLite file; a position is an event's ``seq``.

    A position is asked for once per snapshot, never per append: reading it after each commit
    would put a read between the group-commit writer's batches and split them.
    """

    def __init__(self, store: ProgressStore) -> None:
        self._store = store

    async def append(self, batch: Batch) -> int:
        return await self._store.append_events(batch)

    async def known_ids(self, event_ids: Sequence[str], *, urgent: bool = False) -> set[str]:
        return await self._store.known_event_ids(event_ids, urgent=urgent)

    async def position(self) -> int:
        rows = self._store.snapshots
        if rows is None:
            raise StorageError("the store is not open")
        return await rows.max_event_seq()

    def read(
        self, from_position: int = 0, *, on_unreadable: Unreadable | None = None
    ) -> AsyncIterator[Event]:
        return self._store.events(from_position, on_unreadable=on_unreadable)
