"""The hub's own CPU per ingested event, in process: no sockets, no load generator beside it.

Run: ``python bench/bench_ingest.py [--mix service|own] [--rounds N] [--reps N]``.

The served suite (``suite.py``) measures the whole process on a machine it shares with its load
generator, so the server's CPU per event moves by ±20 % with the minute. This bench runs the
path a JSON ``publish`` takes after its frame is read, in one process on a real SQLite file
(``synchronous=FULL``, default settings): ``fast_publish`` (validation), ``submit``
(screening), the commit round (apply, rows, commit, fan-out) and the ``ack`` encoded, with
``connections`` publishers each waiting for its answer before the next batch. It reports the
event loop thread's CPU time per event (``time.thread_time``: the writer thread's SQLite work
is not in it) and the wall time per event, for each repetition after a warm-up one.

Mixes: ``service`` is the suite's service mix (8 connections, 100-event batches over 200
patients, ``at`` anywhere in yesterday); ``own`` the bench's own (50 events of one patient per
batch, in order, 1,000 patients, 16 batches in flight).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import uvloop
from hub_load import HISTORY_SPAN, EventSource, publish_frame
from scenarios import PATIENTS, ServiceMix

from realtime.app import create_app
from realtime.auth import Principal, Role
from realtime.codec import SUBPROTOCOL_JSON, Codec
from realtime.protocol import ack_frame
from realtime.runtime import Runtime
from realtime.service.commits import AckResult
from realtime.settings import Settings
from realtime.ws.ingest import fast_publish

OWN_PATIENTS = 1_000


def frames(mix: str, count: int, connections: int) -> tuple[list[str], int]:
    """``count`` publish frames in the order they are sent, and the events in each."""
    if mix == "service":
        mixes = [ServiceMix(f"c{index}", index) for index in range(connections)]
        return [mixes[index % connections].batch(100) for index in range(count)], 100
    start = datetime.now(UTC) - HISTORY_SPAN
    sources = [EventSource(f"p{index}", index, start) for index in range(OWN_PATIENTS)]
    batches = [sources[index % OWN_PATIENTS] for index in range(count)]
    return [publish_frame([source.activity() for _ in range(50)]) for source in batches], 50


async def publish_all(runtime: Runtime, texts: list[str], connections: int, size: int) -> None:
    """Each connection publishes its share of ``texts``, one batch at a time."""
    codec = Codec(SUBPROTOCOL_JSON)
    service = Principal(Role.SERVICE, "bench")
    loop = asyncio.get_running_loop()

    async def connection(index: int) -> None:
        for text in texts[index::connections]:
            published = fast_publish(text, 1_000)
            assert published is not None, "every bench frame is valid"
            ref, events = published
            answered: asyncio.Future[int] = loop.create_future()

            def answer(
                result: AckResult, ref: str | None = ref, answered: asyncio.Future[int] = answered
            ) -> None:
                codec.encode(ack_frame(ref, result.accepted, result.duplicates, result.rejected))
                answered.set_result(len(result.accepted))

            runtime.service.submit(service, events, answer)
            if await answered != size:
                raise RuntimeError("a batch was not fully accepted")

    await asyncio.gather(*(connection(index) for index in range(connections)))


async def measure(mix: str, rounds: int, reps: int) -> list[tuple[float, float]]:
    connections = 8 if mix == "service" else 16
    folder = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    app = create_app(Settings(secret="bench-" + "0" * 40, db_path=folder / "hub.db"))
    runtime: Runtime = app.state.runtime
    await runtime.start()
    try:
        admin = Principal(Role.ADMIN, "bench")
        for index in range(PATIENTS if mix == "service" else OWN_PATIENTS):
            await runtime.service.register(admin, f"p{index}", f"t{index % 50}", "UTC")
        per_rep = rounds * connections
        texts, size = frames(mix, per_rep * (reps + 1), connections)
        results = []
        for rep in range(reps + 1):  # the first one warms up
            chunk = texts[rep * per_rep : (rep + 1) * per_rep]
            cpu, wall = time.thread_time(), time.perf_counter()
            await publish_all(runtime, chunk, connections, size)
            events = per_rep * size
            cpu_us = (time.thread_time() - cpu) / events * 1e6
            wall_us = (time.perf_counter() - wall) / events * 1e6
            if rep:
                results.append((cpu_us, wall_us))
        return results
    finally:
        await runtime.stop()
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mix", choices=("service", "own"), default="service")
    parser.add_argument("--rounds", type=int, default=120, help="batches per connection")
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    results = uvloop.run(measure(args.mix, args.rounds, args.reps))
    cells = "  ".join(f"{cpu:.1f}/{wall:.1f}" for cpu, wall in results)
    best = min(cpu for cpu, _ in results)
    print(f"{args.mix}: loop-thread CPU/wall µs per event {cells}; best CPU {best:.2f}")


if __name__ == "__main__":
    main()
