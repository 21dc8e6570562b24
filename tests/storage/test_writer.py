"""The group-commit writer on a real SQLite file: many rows per statement, same results."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from storage.multirow import ROWS_PER_STATEMENT
from storage.writer import GroupCommitWriter

SCHEMA = """
CREATE TABLE items (id TEXT PRIMARY KEY, n INTEGER, note TEXT, doubled INTEGER);
CREATE TABLE tallies (key TEXT PRIMARY KEY, n INTEGER);
"""
NUMBERED = "INSERT OR IGNORE INTO items (id, n, note, doubled) VALUES (?1, ?2, 'x', ?2 * 2)"
UPSERT = (
    "INSERT INTO tallies (key, n) VALUES (?, ?) "
    "ON CONFLICT (key) DO UPDATE SET n = tallies.n + excluded.n"
)


def database(tmp_path: Path) -> Path:
    path = tmp_path / "writer.db"
    with sqlite3.connect(path) as connection:
        connection.executescript(SCHEMA)
    return path


@asynccontextmanager
async def started_writer(path: Path) -> AsyncIterator[GroupCommitWriter]:
    """A running writer on ``path``, closed (committing what is queued) on the way out."""
    writer = GroupCommitWriter(path)
    await writer.start()
    try:
        yield writer
    finally:
        await writer.close()


def expected(
    path: Path, steps: Sequence[tuple[str, Sequence[tuple[Any, ...]]]]
) -> list[list[tuple]]:
    """What plain executemany gives for the same steps, on a copy of the schema."""
    copy = path.with_name("expected.db")
    with sqlite3.connect(copy) as connection:
        connection.executescript(SCHEMA)
        for statement, rows in steps:
            connection.executemany(statement, rows)
        return contents(connection)


def contents(connection: sqlite3.Connection) -> list[list[tuple]]:
    return [
        connection.execute("SELECT * FROM items ORDER BY rowid").fetchall(),
        connection.execute("SELECT * FROM tallies ORDER BY rowid").fetchall(),
    ]


@pytest.mark.parametrize("count", [1, 2, 3, ROWS_PER_STATEMENT - 1, ROWS_PER_STATEMENT * 2 + 37])
async def test_many_rows_per_statement_store_exactly_what_executemany_does(
    tmp_path: Path, count: int
) -> None:
    path = database(tmp_path)
    # Duplicate ids (ignored) and repeated keys (upserted in order) inside one batch.
    items = [(f"i{n % max(1, count - 2)}", n) for n in range(count)]
    tallies = [(f"k{n % 5}", n) for n in range(count)]
    steps = [(NUMBERED, items), (UPSERT, tallies)]
    async with started_writer(path) as writer:
        await writer.write_together(steps)
    with sqlite3.connect(path) as connection:
        assert contents(connection) == expected(path, steps)


async def test_a_row_of_the_wrong_length_fails_its_transaction_and_nothing_else(
    tmp_path: Path,
) -> None:
    path = database(tmp_path)
    async with started_writer(path) as writer:
        with pytest.raises(sqlite3.ProgrammingError):
            await writer.write(UPSERT, [("a", 1), ("b", 2, 3)])
        await writer.write(UPSERT, [("c", 1), ("d", 2)])
    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT key FROM tallies ORDER BY key").fetchall() == [
            ("c",),
            ("d",),
        ]


async def test_reads_see_the_writes_queued_before_them_and_close_commits_the_rest(
    tmp_path: Path,
) -> None:
    path = database(tmp_path)
    writer = GroupCommitWriter(path)
    await writer.start()
    first = asyncio.ensure_future(writer.write(UPSERT, [("a", 1)]))
    seen = asyncio.ensure_future(writer.read("SELECT count(*) FROM tallies"))
    last = asyncio.ensure_future(writer.write(UPSERT, [("b", 1)]))
    await asyncio.sleep(0)
    await writer.close()
    await asyncio.gather(first, last)
    assert await seen == [(1,)]
    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT count(*) FROM tallies").fetchone() == (2,)
