"""Storage benchmarks: durable events/s through the group-commit writer, and start-up time.

Each figure is printed beside a baseline measured in the same run on the same machine:
plain ``sqlite3`` ``executemany`` of the same rows in transactions of the same size (writer),
and plain ``sqlite3`` reading and JSON-decoding every stored body (start-up).

    python bench/bench_storage.py            # 200,000 writes, 1,000,000 events at start-up
    python bench/bench_storage.py --quick    # a smoke run in a few seconds
    python bench/bench_storage.py --only startup --keep /tmp/sb   # reuse a filled log

The machine's load average is printed before and after: the writer and its baseline share the
cores with whatever else runs, so compare ratios, and re-run on a quiet machine for finals.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import sqlite3
import sys
import tempfile
import time
from collections.abc import Awaitable
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from domain.events import parse_event  # noqa: E402
from domain.patients import Patient  # noqa: E402
from realtime.metrics import HubMetrics  # noqa: E402
from realtime.runtime import Runtime  # noqa: E402
from realtime.settings import Settings  # noqa: E402
from storage.batch import Batch
from storage.store import SqliteStore  # noqa: E402

NOW = datetime(2026, 11, 21, 12, tzinfo=UTC)
PRODUCERS = 200
BATCH = 100
PATIENTS = 1_000


def wire_event(number: int) -> dict[str, object]:
    at = (NOW - timedelta(minutes=number % 500_000)).isoformat()
    patient = f"p{number % PATIENTS}"
    if number % 2:
        return {
            "id": f"e{number}",
            "kind": "mood_checkin",
            "patient_id": patient,
            "at": at,
            "score": 1 + number % 10,
        }
    return {
        "id": f"e{number}",
        "kind": "session_ended",
        "patient_id": patient,
        "at": at,
        "session_id": f"s{number}",
        "status": "completed",
        "duration_s": 1800,
        "mood_post": 1 + number % 10,
        "topics": ["anxiety"],
    }


async def writer_events_per_s(path: Path, total: int) -> float:
    store = SqliteStore(path, synchronous="FULL")
    await store.open()
    events = [parse_event(wire_event(n)) for n in range(total)]
    per_producer = total // PRODUCERS

    async def produce(index: int) -> None:
        mine = events[index * per_producer : (index + 1) * per_producer]
        for start in range(0, len(mine), BATCH):
            await store.append_events(Batch(mine[start : start + BATCH], NOW))

    started = time.perf_counter()
    await asyncio.gather(*(produce(index) for index in range(PRODUCERS)))
    elapsed = time.perf_counter() - started
    batches = store.writer.batches_committed
    await store.close()
    print(f"  writer: {total} events in {batches} transactions ({total / batches:.0f} per commit)")
    return total / elapsed


def baseline_events_per_s(path: Path, total: int, rows_per_commit: int) -> float:
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=FULL")
    connection.execute(
        "CREATE TABLE events (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, patient_id TEXT, "
        "kind TEXT, at TEXT, received_at TEXT, body TEXT)"
    )
    rows = [
        (
            f"e{n}",
            f"p{n % PATIENTS}",
            "x",
            NOW.isoformat(),
            NOW.isoformat(),
            json.dumps(wire_event(n)),
        )
        for n in range(total)
    ]
    started = time.perf_counter()
    for start in range(0, total, rows_per_commit):
        connection.execute("BEGIN")
        connection.executemany(
            "INSERT OR IGNORE INTO events (id, patient_id, kind, at, received_at, body) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            rows[start : start + rows_per_commit],
        )
        connection.execute("COMMIT")
    elapsed = time.perf_counter() - started
    connection.close()
    return total / elapsed


async def fill(path: Path, total: int) -> None:
    store = SqliteStore(path, synchronous="OFF")
    await store.open()
    for number in range(PATIENTS):
        await store.put_patient(Patient.register(f"p{number}", "t1", "Europe/Berlin", NOW), NOW)
    chunk = 20_000
    for start in range(0, total, chunk):
        events = [parse_event(wire_event(n)) for n in range(start, min(total, start + chunk))]
        await store.append_events(Batch(events, NOW))
    await store.close()


async def timed_with_longest_pause(work: Awaitable[object]) -> tuple[float, float]:
    """Seconds ``work`` took, and the longest the event loop went without a turn meanwhile."""
    longest = 0.0

    async def probe() -> None:
        nonlocal longest
        while True:
            before = time.perf_counter()
            await asyncio.sleep(0.001)
            longest = max(longest, time.perf_counter() - before - 0.001)

    prober = asyncio.create_task(probe())
    await asyncio.sleep(0)
    started = time.perf_counter()
    await work
    elapsed = time.perf_counter() - started
    prober.cancel()
    return elapsed, longest


async def startup_seconds(path: Path, *, snapshot_after: bool = False) -> float:
    """Seconds from nothing to a hub ready to serve, on ``path`` as it is."""
    settings = Settings(secret="x" * 40, db_path=path).with_values(
        tick_interval_s=0, snapshot_interval_s=0
    )
    runtime = Runtime(settings, SqliteStore(path), lambda: NOW, HubMetrics())
    started = time.perf_counter()
    await runtime.start()
    elapsed = time.perf_counter() - started
    if snapshot_after:
        # As `progress-hub serve` does once started: the loaded state is long-lived, so full
        # collections during the snapshot should not walk it (realtime/tuning.py).
        gc.collect()
        gc.freeze()
        took, pause = await timed_with_longest_pause(runtime.snapshots.take())
        gc.unfreeze()
        print(f"  snapshot taken in {took:.2f} s; longest event-loop pause {pause * 1000:.0f} ms")
    runtime.snapshots.events_at_last_snapshot = runtime.service.events_accepted
    await runtime.stop()
    return elapsed


def baseline_startup_seconds(path: Path) -> float:
    started = time.perf_counter()
    connection = sqlite3.connect(path)
    count = sum(1 for (body,) in connection.execute("SELECT body FROM events") if json.loads(body))
    connection.close()
    assert count
    return time.perf_counter() - started


def row(metric: str, ours: float, baseline: float, ratio: float, target: str, met: bool) -> str:
    verdict = "yes" if met else "NO"
    return f"{metric:<40} {ours:>14,.1f} {baseline:>14,.1f} {ratio:>8.2f}  {target:<16} {verdict}"


async def purge_figures(path: Path, retention_days: float) -> tuple[int, float, float]:
    """Purge ``path`` (which holds a snapshot): events purged, seconds, longest chunk in ms."""
    settings = Settings(secret="x" * 40, db_path=path).with_values(
        tick_interval_s=0,
        snapshot_interval_s=0,
        purge_interval_s=0,
        retention_days=retention_days,
    )
    store = SqliteStore(path)
    runtime = Runtime(settings, store, lambda: NOW, HubMetrics())
    await runtime.start()
    started = time.perf_counter()
    purged = await runtime.purge()
    elapsed = time.perf_counter() - started
    assert runtime.purger is not None
    longest = runtime.purger.longest_chunk_s
    runtime.snapshots.events_at_last_snapshot = runtime.service.events_accepted
    await runtime.stop()
    return purged, elapsed, longest * 1000


def load() -> str:
    return "load average " + ", ".join(f"{value:.2f}" for value in os.getloadavg())


def measure_writer(root: Path, writes: int) -> list[str]:
    ours = asyncio.run(writer_events_per_s(root / "writer.db", writes))
    # The baseline commits as often as our writer did on average, so both pay the same
    # number of flushes per row.
    baseline = baseline_events_per_s(root / "baseline.db", writes, 5_000)
    metric = "durable events/s (synchronous=FULL)"
    return [row(metric, ours, baseline, ours / baseline, ">= 100,000/s", ours >= 100_000)]


def measure_startup(root: Path, stored: int) -> list[str]:
    path = root / f"startup-{stored}.db"
    if not path.exists():
        print(f"  filling {stored:,} events for start-up …")
        asyncio.run(fill(path, stored))
    else:
        print(f"  reusing {path}")
    with closing(sqlite3.connect(path)) as connection, connection:
        connection.execute("DELETE FROM snapshot_parts")
        connection.execute("DELETE FROM snapshots")
    replay = asyncio.run(startup_seconds(path, snapshot_after=True))
    startup = asyncio.run(startup_seconds(path))
    raw = baseline_startup_seconds(path)
    copy = root / "purge.db"
    # SQLite's backup API, not a file copy: the latest commits may still sit in the WAL.
    with closing(sqlite3.connect(path)) as source, closing(sqlite3.connect(copy)) as target:
        source.backup(target)
    purged, purge_s, longest_ms = asyncio.run(purge_figures(copy, 180))
    for leftover in root.glob("purge.db*"):
        leftover.unlink()
    print(
        f"  purge (retention 180 days): {purged:,} events in {purge_s:.2f} s, "
        f"longest chunk transaction {longest_ms:.0f} ms"
    )
    return [
        row(
            f"start-up s, {stored:,} events, snapshot",
            startup,
            raw,
            startup / raw,
            "<= 5 s",
            startup <= 5,
        ),
        row(
            f"start-up s, {stored:,} events, replay",
            replay,
            raw,
            replay / raw,
            "(information)",
            True,
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small numbers, a smoke run")
    parser.add_argument("--only", choices=("writer", "startup"), help="run one measure")
    parser.add_argument(
        "--keep", type=Path, metavar="DIR", help="keep the filled log in DIR and reuse it"
    )
    args = parser.parse_args()
    writes = 20_000 if args.quick else 200_000
    stored = 50_000 if args.quick else 1_000_000
    print(f"  before: {load()}")
    lines: list[str] = []
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        if args.only in (None, "writer"):
            lines += measure_writer(root, writes)
        if args.only in (None, "startup"):
            if args.keep is not None:
                args.keep.mkdir(parents=True, exist_ok=True)
            lines += measure_startup(args.keep or root, stored)
    print(f"  after: {load()}")
    print()
    header = f"{'metric':<40} {'progress-hub':>14} {'plain sqlite3':>14} {'ratio':>8}"
    print(f"{header}  {'target':<16} met?")
    for line in lines:
        print(line)


if __name__ == "__main__":
    main()
