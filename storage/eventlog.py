"""Reading the event log: events in commit order, and which ids it already holds.

The log's key (``events.id``, plus ``purged_ids`` for events retention has removed) is the one
record of every id ever accepted, so the hub asks it rather than keep every id in memory.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator, Sequence

import aiosqlite

from domain.errors import InvalidEvent
from domain.events import Event, parse_event

READ_CHUNK = 10_000
# Ids per lookup query, well under SQLite's default limit of 32,766 bound variables.
LOOKUP_CHUNK = 500

Unreadable = Callable[[str, str, str], None]
"""Told ``(event id, patient id, reason)`` for a stored row that no longer validates."""


async def read_events(
    connection: aiosqlite.Connection, after_seq: int, on_unreadable: Unreadable | None
) -> AsyncIterator[tuple[Event, str]]:
    """Every stored event after ``after_seq`` with its ``received_at``, in commit order.

    A row that no longer validates (written by an older, laxer hub, or by hand) is skipped and
    told to ``on_unreadable``; without one, :class:`~domain.errors.InvalidEvent` is raised.
    """
    last_seq = after_seq
    while True:
        rows = list(
            await connection.execute_fetchall(
                "SELECT seq, received_at, body, id, patient_id FROM events "
                "WHERE seq > ? ORDER BY seq LIMIT ?",
                (last_seq, READ_CHUNK),
            )
        )
        if not rows:
            return
        for _, received_at, body, event_id, patient_id in rows:
            try:
                event = parse_event(json.loads(body))
            except (InvalidEvent, ValueError) as error:
                if on_unreadable is None:
                    raise
                on_unreadable(event_id, patient_id, str(error).partition(":")[0] or "body")
                continue
            yield event, received_at
        last_seq = rows[-1][0]


def _lookups(ids: Sequence[str], purged: bool) -> Iterator[tuple[str, Sequence[str]]]:
    for start in range(0, len(ids), LOOKUP_CHUNK):
        chunk = ids[start : start + LOOKUP_CHUNK]
        marks = ",".join("?" * len(chunk))
        query = f"SELECT id FROM events WHERE id IN ({marks})"
        if purged:
            query += f" UNION SELECT id FROM purged_ids WHERE id IN ({marks})"
        yield query, (*chunk, *chunk) if purged else chunk


async def known_ids(
    connection: aiosqlite.Connection, ids: Sequence[str], *, purged: bool
) -> set[str]:
    """Those of ``ids`` the log holds (committed, or purged by retention when ``purged``)."""
    found: set[str] = set()
    for query, parameters in _lookups(ids, purged):
        rows = await connection.execute_fetchall(query, parameters)
        found.update(row[0] for row in rows)
    return found


def known_ids_at_once(
    connection: sqlite3.Connection, ids: Sequence[str], *, purged: bool
) -> set[str]:
    """:func:`known_ids` on the calling thread: for a few ids, where a trip to a thread and
    back (one turn of a busy event loop) costs far more than the indexed lookup itself."""
    found: set[str] = set()
    for query, parameters in _lookups(ids, purged):
        found.update(row[0] for row in connection.execute(query, parameters))
    return found
