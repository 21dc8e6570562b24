"""The writer's urgent lane on a real SQLite file: which queued writes an urgent write passes.

The file's write lock is held from outside while writes queue up, then released: the order in
which the writes reached the file (their rows' ``rowid``) shows what went first.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from storage.lane import Lane
from storage.writer import GroupCommitWriter

INSERT = "INSERT INTO items (id) VALUES (?)"


def database(tmp_path: Path) -> Path:
    path = tmp_path / "lane.db"
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("CREATE TABLE items (id TEXT PRIMARY KEY)")
    return path


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold the file's write lock: the writer's next transaction waits for it."""
    holder = sqlite3.connect(path, isolation_level=None, timeout=0)
    holder.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def commit_order(path: Path) -> list[str]:
    with sqlite3.connect(path) as connection:
        return [row[0] for row in connection.execute("SELECT id FROM items ORDER BY rowid")]


Queued = tuple[str, bool, frozenset[str] | None] | tuple[str, bool, frozenset[str], frozenset[str]]


async def queued_then_committed(path: Path, writes: list[Queued]) -> list[str]:
    """Queue ``(name, urgent, keys[, follows])`` writes behind a held lock, release it: the
    commit order."""
    writer = GroupCommitWriter(path)
    await writer.start()
    try:
        with locked(path):
            # Taken by the writer thread at once (it then waits for the lock), or still queued:
            # it shares no key with anything below, so the order checked holds either way.
            first = asyncio.ensure_future(
                writer.write_together([(INSERT, [("first",)])], keys=frozenset({"p9"}))
            )
            await asyncio.sleep(0)
            pending = [
                asyncio.ensure_future(
                    writer.write_together(
                        [(INSERT, [(write[0],)])],
                        Lane(urgent=write[1], follows=write[3] if len(write) == 4 else None),
                        keys=write[2],
                    )
                )
                for write in writes
            ]
            await asyncio.sleep(0)  # every write enqueued while the lock is held
        await asyncio.gather(first, *pending)
    finally:
        await writer.close()
    return [name for name in commit_order(path) if name != "first"]


async def test_an_urgent_write_passes_other_patients_and_takes_its_own_patients_along(
    tmp_path: Path,
) -> None:
    order = await queued_then_committed(
        database(tmp_path),
        [
            ("a-p1", False, frozenset({"p1"})),
            ("b-p2", False, frozenset({"p2", "p5"})),
            ("c-p5", False, frozenset({"p5"})),
            ("u-p2", True, frozenset({"p2"})),
            ("v-p3", True, frozenset({"p3"})),
            ("w-p4", False, frozenset({"p4"})),
        ],
    )
    # u must follow b (both hold p2), so b goes first with it; c (p5, like b) was queued after
    # b and may stay behind it. a and w share nothing with what moves: they wait.
    assert order == ["b-p2", "u-p2", "v-p3", "a-p1", "c-p5", "w-p4"]


async def test_an_urgent_write_never_passes_a_write_without_keys(tmp_path: Path) -> None:
    order = await queued_then_committed(
        database(tmp_path),
        [
            ("a-p1", False, frozenset({"p1"})),
            ("tick", False, None),
            ("u-p3", True, frozenset({"p3"})),
        ],
    )
    # Without the barrier, u would go first (it shares no key with a).
    assert order == ["a-p1", "tick", "u-p3"]


async def test_an_urgent_write_follows_only_the_keys_it_names(tmp_path: Path) -> None:
    # u touches p1 and p2 but follows only p2 (the patient whose marks it stores): it passes
    # a (p1) and takes b (p2) along.
    order = await queued_then_committed(
        database(tmp_path),
        [
            ("a-p1", False, frozenset({"p1"})),
            ("b-p2", False, frozenset({"p2"})),
            ("u-p1p2", True, frozenset({"p1", "p2"}), frozenset({"p2"})),
        ],
    )
    assert order == ["b-p2", "u-p1p2", "a-p1"]
