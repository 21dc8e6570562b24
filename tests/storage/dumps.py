"""A dump carried from one real SQLite file to another, the way an operator moves a hub."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from storage.backup import ImportReport, export_jsonl, import_jsonl
from storage.store import SqliteStore


async def exported(store: SqliteStore) -> tuple[int, list[str]]:
    """Everything ``store`` holds as JSON Lines, and how many records ``export_jsonl`` counted."""
    dump = io.StringIO()
    count = await export_jsonl(store, dump)
    return count, dump.getvalue().splitlines()


@asynccontextmanager
async def imported_twice(
    path: Path, lines: list[str]
) -> AsyncIterator[tuple[SqliteStore, ImportReport, ImportReport]]:
    """A new store at ``path`` given the same dump twice (an import must be idempotent).

    Yields the open store and both reports; the store is closed on the way out.
    """
    target = SqliteStore(path)
    await target.open()
    try:
        first = await import_jsonl(target, lines)
        again = await import_jsonl(target, lines)
        yield target, first, again
    finally:
        await target.close()
