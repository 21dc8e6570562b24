"""The urgent lane on real sockets: a crisis is committed and alerted ahead of queued bulk work.

The database's write lock is held from outside while a service connection's bulk publishes
queue up in the hub's writer; then a patient publishes a crisis and the lock is released. The
crisis must reach the file (and its alert the therapist) before the bulk writes queued ahead
of it: an order in the file, not a timing.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from storage.store import SqliteStore
from tests.realtime.helpers import checkin, connected, next_of_kind, register
from tests.support import LiveServer, eventually, settings_for, start_server

BULK_PATIENTS = 5
BULK_PUBLISHES = 6
BULK_EVENTS = 50


@pytest.fixture
def live(db_path: Path) -> Iterator[LiveServer]:
    server = start_server(settings_for(db_path, coalesce_s=0.0))
    register(server, "p0", "t1")
    for number in range(1, BULK_PATIENTS + 1):
        register(server, f"p{number}", "t1")
    try:
        yield server
    finally:
        server.stop()


def seqs(db_path: Path) -> dict[str, int]:
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as connection:
        return dict(connection.execute("SELECT id, seq FROM events").fetchall())


async def test_a_crisis_is_committed_and_alerted_before_the_bulk_queued_ahead_of_it(
    live: LiveServer, db_path: Path
) -> None:
    bulk_ids = [
        [f"bulk-{serial}-{k}" for k in range(BULK_EVENTS)] for serial in range(BULK_PUBLISHES)
    ]
    async with connected(live, ("service", "platform"), ("patient", "p0"), ("therapist", "t1")) as (
        service,
        patient,
        therapist,
    ):
        await therapist.subscribe("therapist:t1")
        holder = sqlite3.connect(db_path, isolation_level=None, timeout=0)
        holder.execute("BEGIN IMMEDIATE")  # the hub's writer now waits for the lock
        try:
            # The writer thread takes this one and waits for the lock with it: everything
            # after it stays queued, where the lane can reorder it.
            opener = asyncio.create_task(service.publish([checkin("opener", "p1", "2026-11-01")]))
            store = live.runtime.store
            assert isinstance(store, SqliteStore)
            writer = store.writer
            await eventually(
                lambda: writer.queued_rows == 1 and writer._queue.qsize() == 0,  # noqa: SLF001
                what="the writer thread holding the opener",
            )
            bulk = [
                asyncio.create_task(
                    service.publish(
                        [
                            checkin(i, f"p{1 + k % BULK_PATIENTS}", "2026-11-02")
                            for k, i in enumerate(ids)
                        ]
                    )
                )
                for ids in bulk_ids
            ]
            everything = 1 + BULK_PUBLISHES * BULK_EVENTS
            await eventually(
                lambda: live.runtime.store.queued_rows >= everything, what="bulk queued"
            )
            crisis = asyncio.create_task(
                patient.publish([checkin("crisis-1", "p0", "2026-11-02", score=1)])
            )
            await eventually(
                lambda: live.runtime.store.queued_rows > everything, what="crisis queued"
            )
            assert not crisis.done() and not any(task.done() for task in bulk)
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        ack = await crisis
        assert ack["accepted"] == ["crisis-1"]
        alert = await next_of_kind(therapist, "alert")
        assert alert["data"]["event_id"] == "crisis-1"
        for task in [opener, *bulk]:
            assert not (await task)["rejected"]
    stored = seqs(db_path)
    assert stored["opener"] < stored["crisis-1"] < min(stored[i] for ids in bulk_ids for i in ids)
