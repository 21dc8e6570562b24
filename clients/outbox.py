"""The client's outbox: events waiting for the hub's acknowledgement, in a local SQLite file.

An event is written (and committed with ``synchronous=FULL``) before ``publish`` returns, and
deleted only once the hub acknowledged it, so a crash of the app or of the hub loses nothing;
the event ids make the resend after a crash harmless. All SQLite work runs on one thread of
its own, which keeps the event loop free and the connection used by one thread only.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
# Room for the publish frame around its events: type, ref, brackets and commas.
FRAME_OVERHEAD_BYTES = 1_024

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL
)
"""


def frame_size(event: dict[str, Any]) -> int:
    """An event's size inside a JSON frame (msgpack frames are no larger)."""
    return len(json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode())


class Outbox:
    """Pending events, oldest first. ``path=None`` keeps them in memory (lost with the process)."""

    def __init__(self, path: str | Path | None) -> None:
        self.path = None if path is None else Path(path)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="progress-outbox")
        self._db: sqlite3.Connection | None = None

    async def _run(self, work: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, work)

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError("the outbox is not open")
        return self._db

    async def open(self) -> None:
        def work() -> None:
            if self.path is not None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(
                ":memory:" if self.path is None else str(self.path),
                isolation_level=None,
                check_same_thread=False,
            )
            if self.path is not None:
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=FULL")
            db.execute(_SCHEMA)
            self._db = db

        await self._run(work)

    async def close(self) -> None:
        def work() -> None:
            if self._db is not None:
                self._db.close()
                self._db = None

        await self._run(work)
        self._executor.shutdown(wait=True)

    async def add(self, events: list[dict[str, Any]]) -> None:
        """Store events durably; an id already waiting is kept once (the first body wins)."""
        rows = [
            (event["id"], json.dumps(event, separators=(",", ":"), ensure_ascii=False))
            for event in events
        ]
        await self._write("INSERT OR IGNORE INTO outbox (event_id, body) VALUES (?, ?)", rows)

    async def batch(self, max_events: int, max_bytes: int) -> list[dict[str, Any]]:
        """The oldest events that fit one publish frame of ``max_bytes``.

        The first event is always returned, however large, so the caller can tell it apart
        (the hub will refuse it) instead of waiting on it forever.
        """
        budget = max_bytes - FRAME_OVERHEAD_BYTES

        def work() -> list[dict[str, Any]]:
            rows = (
                self._connection()
                .execute("SELECT body FROM outbox ORDER BY seq LIMIT ?", (max_events,))
                .fetchall()
            )
            chosen: list[dict[str, Any]] = []
            used = 0
            for (body,) in rows:
                size = len(body.encode()) + 1
                if chosen and used + size > budget:
                    break
                chosen.append(json.loads(body))
                used += size
            return chosen

        return await self._run(work)

    async def remove(self, event_ids: Iterable[str]) -> None:
        ids = [(event_id,) for event_id in event_ids]
        if ids:
            await self._write("DELETE FROM outbox WHERE event_id = ?", ids)

    async def _write(self, statement: str, rows: Sequence[tuple[Any, ...]]) -> None:
        """Run ``statement`` once per row, all in one committed transaction."""

        def work() -> None:
            db = self._connection()
            with db:
                db.execute("BEGIN IMMEDIATE")
                db.executemany(statement, rows)

        await self._run(work)

    async def count(self) -> int:
        def work() -> int:
            (n,) = self._connection().execute("SELECT COUNT(*) FROM outbox").fetchone()
            return int(n)

        return await self._run(work)


def too_large_ack(event: dict[str, Any], max_bytes: int) -> dict[str, Any]:
    """The answer the hub would give by closing the connection (1009), given locally."""
    detail = f"the event alone is larger than the hub's {max_bytes}-byte frame limit"
    return {"rejected": [{"id": event["id"], "code": "too_large", "detail": detail}]}
