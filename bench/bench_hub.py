"""End-to-end WebSocket benchmarks of the hub, each beside a bare Starlette relay.

Run: ``python bench/bench_hub.py [--quick] [--compression deflate|none] [--profile-dir DIR]``.

The server under test runs in its own process (``progress-hub serve`` on a fresh database in a
temporary folder, default settings, ``synchronous=FULL``); this script is the load generator,
a second process speaking the wire contract with the ``websockets`` asyncio client on uvloop.
Every figure is measured in the same run against ``bench/hub_relay.py``, a Starlette app with
no logic that echoes each frame to its sender and forwards it to its channel's subscribers,
served with the same uvicorn configuration. Three measures:

1. **durable events/s**: 1,000 patient connections (100 with ``--quick``) each publish batches
   of 50 events of their own and wait for the ``ack`` (sent only after the commit) before
   the next one. Counted: events acknowledged as accepted inside the measuring window, after
   a warm-up. The relay's "ack" is the echo of the same frame.
2. **publish → alert latency** at a steady total of 5,000 events/s (``--rate``): 90% are
   single-event publishes from service connections for 900 patients (activity that never
   alerts); 10% are crisis check-ins (``mood_checkin`` with score 1 or 2) sent one per frame
   by 100 patients' own connections. The hub pushes ``mood_crisis`` alerts to
   ``therapist:{id}`` immediately (never coalesced), after the commit; the clock runs from just
   before the probe is handed to the socket to the moment the therapist's connection receives
   the alert. The relay forwards the probe frame itself to the therapist's connection.
3. **memory per idle connection**: the server's RSS before and after 10,000 (``--idle``) patient
   connections have completed the handshake and received ``welcome``, divided by their count.

Clients offer ``permessage-deflate`` by default, as browsers and ``clients/hub_client.py``
do; ``--compression none`` measures clients that do not. ``docs/benchmarks.md`` has results.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import signal
import sys
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import TypeVar

import uvloop
from hub_load import (
    FULL,
    QUICK,
    Latency,
    Memory,
    Throughput,
    measure_latency,
    measure_memory,
    measure_throughput,
)
from hub_profile import summarize
from hub_servers import TARGETS, Server, Target, raise_nofile, running


@dataclass(frozen=True)
class Row:
    metric: str
    hub: float
    relay: float
    target: str
    met: bool | None  # None: no target
    fmt: str


def print_table(rows: list[Row]) -> None:
    header = ("metric", "progress-hub", "bare relay", "ratio", "target", "met?")
    lines = [header]
    for row in rows:
        ratio = f"{row.hub / row.relay:.2f}" if row.relay else "-"
        met = "-" if row.met is None else "yes" if row.met else "NO"
        lines.append(
            (row.metric, row.fmt.format(row.hub), row.fmt.format(row.relay), ratio, row.target, met)
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for number, line in enumerate(lines):
        cells = (cell.ljust(width) for cell, width in zip(line, widths, strict=True))
        print(" | ".join(cells).rstrip())
        if number == 0:
            print("-|-".join("-" * width for width in widths))


PHASES = ("throughput", "latency", "memory")
Result = TypeVar("Result")


async def on_each_target(
    phase: str,
    workdir: Path,
    measure: Callable[[Server], Awaitable[Result]],
    describe: Callable[[Result], str],
) -> dict[Target, Result]:
    """Measure the hub and the bare relay alike, each on a fresh server, one line each."""
    results: dict[Target, Result] = {}
    for target in TARGETS:
        with running(target, workdir) as server:
            results[target] = result = await measure(server)
        print(f"{phase:<12}{target:5}: {describe(result)}", flush=True)
    return results


async def run(args: argparse.Namespace, workdir: Path) -> None:
    scale = QUICK if args.quick else FULL
    if args.rate:
        scale = replace(scale, rate=args.rate)
    idle = args.idle or scale.idle
    compression = None if args.compression == "none" else "deflate"
    limit, note = raise_nofile(idle + 1_000)
    if limit != resource.RLIM_INFINITY and limit < idle + 1_000:
        idle = max(100, limit - 1_000)
        note += f"; measuring {idle} idle connections instead"
    print(f"{note}; clients offer compression: {args.compression}", flush=True)
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs", flush=True)
    phases = set(args.only.split(",")) if args.only else set(PHASES)
    profile_dir: Path | None = args.profile_dir
    rows: list[Row] = []

    if "throughput" in phases:
        out = profile_dir / "throughput.txt" if profile_dir else None

        def acked(result: Throughput) -> str:
            return (
                f"{result.events_per_s:9,.0f} events/s acked "
                f"({scale.connections} conns x {scale.batch}-event batches, {result.frames} "
                f"batches; ack p50 {result.ack_p50_ms:.1f} ms, p99 {result.ack_p99_ms:.1f} ms; "
                f"server CPU {result.cpu_us_per_event:.1f} us/event, "
                f"{result.cpu_cores:.2f} cores)"
            )

        throughput = await on_each_target(
            "throughput",
            workdir,
            lambda server: measure_throughput(server, scale, compression, out),
            acked,
        )
        hub, relay = throughput["hub"].events_per_s, throughput["relay"].events_per_s
        name = f"durable events/s, {scale.connections} conns x {scale.batch}-event batches"
        rows.append(Row(name, hub, relay, ">= 30,000", hub >= 30_000, "{:,.0f}"))

    if "latency" in phases:
        out = profile_dir / "latency.txt" if profile_dir else None

        def probed(lat: Latency) -> str:
            line = (
                f"p50 {lat.p50_ms:.2f} ms, p99 {lat.p99_ms:.2f} ms, "
                f"max {lat.max_ms:.1f} ms over {lat.samples} probes ({lat.lost} lost) at "
                f"{lat.events_per_s:,.0f} events/s sent; server CPU "
                f"{lat.cpu_us_per_event:.1f} us/event, {lat.cpu_cores:.2f} cores"
            )
            if args.verbose:
                line += f"\n  median/max ms by second sent: {lat.by_second()}"
            return line

        latency = await on_each_target(
            "latency",
            workdir,
            lambda server: measure_latency(server, scale, compression, out),
            probed,
        )
        at = f"@ {scale.rate:,.0f} ev/s"
        hub_lat, relay_lat = latency["hub"], latency["relay"]
        rows.append(
            Row(
                f"publish->alert p50 ms {at}", hub_lat.p50_ms, relay_lat.p50_ms, "-", None, "{:.2f}"
            )
        )
        rows.append(
            Row(
                f"publish->alert p99 ms {at}",
                hub_lat.p99_ms,
                relay_lat.p99_ms,
                "<= 20",
                hub_lat.p99_ms <= 20,
                "{:.2f}",
            )
        )

    if "memory" in phases:
        # Deflate contexts are a large share of a connection's memory, so when clients offer
        # permessage-deflate the figure without it is measured as well (not in a smoke run).
        modes = [compression] + ([None] if compression and not args.quick else [])

        def held(mode: str | None, mem: Memory) -> str:
            return (
                f"{mem.per_connection_kib:.1f} KiB/conn, "
                f"deflate {'on' if mode else 'off'} (RSS {mem.before_mib:.0f} -> "
                f"{mem.after_mib:.0f} MiB over {mem.connections} conns)"
            )

        for mode in modes:
            memory = await on_each_target(
                "memory",
                workdir,
                partial(measure_memory, count=idle, compression=mode),
                partial(held, mode),
            )
            hub, relay = memory["hub"].per_connection_kib, memory["relay"].per_connection_kib
            name = f"KiB per idle conn @ {idle:,}, deflate {'offered' if mode else 'off'}"
            rows.append(Row(name, hub, relay, "<= 50", hub <= 50, "{:.1f}"))

    # Server and load generator share the machine's cores; anything else running skews both.
    load = os.getloadavg()[0]
    print(f"load average after: {load:.2f} on {os.cpu_count()} CPUs", flush=True)
    print()
    print_table(rows)
    if profile_dir is not None:
        for name in ("throughput", "latency"):
            path = profile_dir / f"{name}.txt"
            if path.exists():
                print(f"\n== py-spy profile of the hub, {name} run ({path})")
                print(summarize(path))


def _interrupt(signum: int, frame: object) -> None:
    # SIGTERM unwinds like Ctrl-C, so the servers are stopped and the folder removed.
    raise KeyboardInterrupt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run (< 30 s)")
    parser.add_argument(
        "--compression",
        choices=("deflate", "none"),
        default="deflate",
        help="whether clients offer permessage-deflate (default: yes, as browsers do)",
    )
    parser.add_argument("--idle", type=int, default=0, help="idle connections to open")
    parser.add_argument("--verbose", action="store_true", help="latency second by second")
    parser.add_argument("--rate", type=float, default=0, help="latency run's events/s")
    parser.add_argument("--only", default="", help=f"comma-separated subset of {PHASES}")
    parser.add_argument(
        "--profile-dir", type=Path, default=None, help="sample the hub with py-spy into DIR"
    )
    args = parser.parse_args()
    if args.profile_dir is not None:
        args.profile_dir.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="bench-hub-"))
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(run(args, workdir))
    except KeyboardInterrupt:
        sys.exit("interrupted; servers stopped")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
