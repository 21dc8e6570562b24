"""REST read latency on a loaded hub, beside a bare Starlette JSON endpoint.

Run: ``python bench/bench_api.py`` (10,000 patients, 1,000,000 events, 2,000 timed requests per
endpoint) or ``python bench/bench_api.py --quick`` (a smoke run of well under 30 s).

How the state is built: the hub is created in-process with ``create_app`` on a SQLite file
with ``synchronous=OFF`` (the load only; nothing else differs from ``progress-hub serve``). The
patients are registered with ``runtime.service.register`` and every event goes through
``runtime.service.publish(principal, batch)`` in batches of 500 inside the hub's own event loop:
the same validation, group-commit append, ``PatientProgress.apply`` and fan-out as
``POST /api/v1/events``, without the HTTP hop. 50 therapists have 200 patients each.

How latency is measured: the loaded hub is then served by uvicorn in the same process and loop
(httptools, uvloop, the configuration of ``realtime/cli.py``), with ``rest_rate_per_s`` raised so
the limiter never refuses. A client in another process sends sequential requests over one
keep-alive connection (httpx) and times each one from send to body read; the first
``--warmup`` requests are dropped. The bare endpoint (``Starlette`` + one ``JSONResponse``) runs
in its own process under the same uvicorn configuration and is timed by the same client code.
Every answer must be 200, or the run fails.

The hub's ticker re-evaluates every patient once a minute (``tick_interval_s``), holding the
loop for ``TICK_CHUNK_PATIENTS`` patients at a time. The timed runs last seconds and may miss
it, so progress is timed once more ("in a tick") while ticks run back to back: what a request
meets during the share of each minute the ticker is busy (one tick's length is printed).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from workload import patient_stream  # noqa: E402

from realtime.service.progress import TICK_CHUNK_PATIENTS  # noqa: E402
from realtime.serving import serving_config  # noqa: E402

SECRET = "bench-secret-0123456789abcdef-0123456789"
PRACTICE_SIZE = 200
BATCH = 500
ZONES = ("Europe/Berlin", "America/New_York", "Asia/Kolkata", "UTC", "Australia/Sydney")
TARGETS_MS = {"progress": 5.0, "overview": 20.0, "progress in a tick": 5.0}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def new_loop_runner() -> asyncio.Runner:
    import uvloop

    return asyncio.Runner(loop_factory=uvloop.new_event_loop)


# -- the workload -------------------------------------------------------------------------------


def patient_events(
    rng: random.Random, patient: str, count: int, end: datetime
) -> list[dict[str, Any]]:
    """``count`` events for one patient over about half a year, the last one before ``end``."""
    step_h = 0.9 * 180 * 24 * 1.5 / count  # a roll makes 1.5 events on average
    events = patient_stream(rng, patient, count, end - timedelta(days=180), (0.2, 2 * step_h))
    events = events[:count]
    # Slide the whole history back when it ran past ``end``: no event lies in the future.
    shift = max(
        timedelta(0), max(e["at"] for e in events) - end + timedelta(minutes=rng.randrange(1, 2000))
    )
    for event in events:
        event["at"] = (event["at"] - shift).isoformat()
        if "scheduled_for" in event:
            event["scheduled_for"] = (event["scheduled_for"] - shift).isoformat()
    return events


def workload(patients: int, events: int, seed: int, end: datetime) -> list[dict[str, Any]]:
    """Every patient's events, interleaved in time order as a live hub would receive them."""
    rng = random.Random(seed)
    per_patient = events // patients
    stream: list[dict[str, Any]] = []
    for index in range(patients):
        stream += patient_events(rng, f"p{index}", per_patient, end)
    stream.sort(key=lambda event: event["at"])
    return stream


async def load(runtime: Any, patients: int, stream: list[dict[str, Any]]) -> tuple[int, float]:
    from realtime.auth import Principal, Role

    service = Principal(Role.SERVICE, "bench")
    for index in range(patients):
        therapist = f"t{index // PRACTICE_SIZE}"
        await runtime.service.register(service, f"p{index}", therapist, ZONES[index % len(ZONES)])
    started = time.perf_counter()
    accepted = 0
    for first in range(0, len(stream), BATCH):
        result = await runtime.service.publish(service, stream[first : first + BATCH])
        if result.rejected:
            raise RuntimeError(f"rejected while loading: {result.rejected[:3]}")
        accepted += len(result.accepted)
    return accepted, time.perf_counter() - started


# -- the client (another process) ---------------------------------------------------------------


def run_client(port: int, bearer: str, paths: list[str], requests: int, warmup: int) -> None:
    """Sequential GETs on one keep-alive connection; prints the timed samples as JSON (ms)."""
    import httpx

    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    samples: list[float] = []
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=30) as http:
        for index in range(warmup + requests):
            path = paths[index % len(paths)]
            begin = time.perf_counter()
            response = http.get(path)
            body = response.content
            elapsed = time.perf_counter() - begin
            if response.status_code != 200:
                raise SystemExit(f"{path}: {response.status_code} {body[:200]!r}")
            if index >= warmup:
                samples.append(elapsed * 1000)
    json.dump({"samples": samples, "bytes": len(body)}, sys.stdout)


async def measure(
    port: int, bearer: str, paths: list[str], args: argparse.Namespace, requests: int = 0
) -> dict[str, Any]:
    count, warmup = (requests, 20) if requests else (args.requests, args.warmup)
    command = [sys.executable, __file__, "--client", str(port), "--requests", str(count)]
    command += ["--warmup", str(warmup), "--bearer", bearer, *paths]
    process = await asyncio.create_subprocess_exec(
        *command, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    out, err = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"client failed: {err.decode()[-2000:]}")
    result: dict[str, Any] = json.loads(out)
    samples = sorted(result["samples"])
    result["p50"] = statistics.median(samples)
    result["p99"] = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
    result["max"] = samples[-1]
    return result


# -- the bare baseline (its own process) --------------------------------------------------------


def run_bare_server(port: int) -> None:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def bare(request: Request) -> JSONResponse:
        return JSONResponse({"total_patients": 200, "active_patients": 180, "completion_rate": 0.8})

    app = Starlette(routes=[Route("/bare", bare)])
    with new_loop_runner() as runner:
        runner.run(uvicorn.Server(serving_config(app, port)).serve())


async def measure_bare(args: argparse.Namespace) -> dict[str, Any]:
    port = free_port()
    server = subprocess.Popen([sys.executable, __file__, "--bare-server", str(port)])
    try:
        deadline = time.monotonic() + 15
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port)):
                break
            if time.monotonic() > deadline:
                raise RuntimeError("bare server did not start")
            await asyncio.sleep(0.05)
        return await measure(port, "", ["/bare"], args)
    finally:
        server.terminate()
        server.wait(10)


# -- the run ------------------------------------------------------------------------------------


async def run(args: argparse.Namespace, workdir: Path) -> None:
    from realtime.app import create_app
    from realtime.auth import Role, issue_token
    from realtime.server import HubServer
    from realtime.settings import Settings

    end = datetime.now(UTC) - timedelta(hours=1)
    print(f"generating {args.events:,} events for {args.patients:,} patients …", flush=True)
    stream = workload(args.patients, args.events, args.seed, end)
    settings = Settings(secret=SECRET, db_path=workdir / "hub.db").with_values(synchronous="OFF")
    settings = settings.with_values(port=free_port(), rest_rate_per_s=1e9, rest_rate_burst=1e9)
    app = create_app(settings)
    runtime = app.state.runtime
    await runtime.start()
    accepted, seconds = await load(runtime, args.patients, stream)
    del stream
    print(
        f"state: {accepted:,} events through runtime.service.publish (batches of {BATCH}, "
        f"in the hub's loop; SQLite synchronous=OFF) in {seconds:.1f} s "
        f"({accepted / seconds:,.0f} events/s)",
        flush=True,
    )
    print(f"hub RSS after the load: {rss_mib():,.0f} MiB", flush=True)
    server = HubServer(serving_config(app, settings.port), runtime)
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.05)
    now = datetime.now(UTC)
    service = issue_token(SECRET, Role.SERVICE, "bench", 3600, now)
    therapist = issue_token(SECRET, Role.THERAPIST, "t0", 3600, now)
    print(f"load average before timing: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    order = random.Random(args.seed).sample(range(args.patients), min(args.patients, 1000))
    results = {
        "progress": await measure(
            settings.port, service, [f"/api/v1/patients/p{i}/progress" for i in order], args
        ),
        "overview": await measure(settings.port, therapist, ["/api/v1/analytics/overview"], args),
    }
    # The hub's ticker re-evaluates every patient once a minute (streaks end at midnight,
    # silence raises dropout risk). The runs above are a few seconds long and may miss it, so
    # progress is timed once more while ticks run back to back.
    durations: list[float] = []
    ticker = asyncio.create_task(tick_forever(runtime, durations))
    paths = [f"/api/v1/patients/p{i}/progress" for i in order]
    # Each request there waits ~100 ms, so fewer of them (p99 of 200 samples is coarse).
    tick_requests = max(100, args.requests // 10)
    results["progress in a tick"] = await measure(
        settings.port, service, paths, args, tick_requests
    )
    ticker.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await ticker
    if durations:
        print(
            f"one tick over {args.patients:,} patients takes {statistics.median(durations):.2f} s "
            f"of loop time (median of {len(durations)}), yielding every {TICK_CHUNK_PATIENTS} "
            "patients; the hub "
            f"ticks every {settings.timers.tick_interval_s:g} s",
            flush=True,
        )
    server.should_exit = True
    await serving
    await runtime.stop()
    bare = await measure_bare(args)
    print_table(results, bare, args)


async def tick_forever(runtime: Any, durations: list[float]) -> None:
    while True:
        started = time.perf_counter()
        await runtime.service.tick()
        durations.append(time.perf_counter() - started)
        await asyncio.sleep(0)


def print_table(
    results: dict[str, dict[str, Any]], bare: dict[str, Any], args: argparse.Namespace
) -> None:
    print(
        f"\n{args.requests:,} sequential requests per endpoint after {args.warmup} warm-up, "
        f"one keep-alive connection; overview is a {PRACTICE_SIZE}-patient practice; "
        f"answers: progress {results['progress']['bytes']:,} B, overview "
        f"{results['overview']['bytes']:,} B, bare {bare['bytes']:,} B; 'in a tick': "
        f"{len(results['progress in a tick']['samples']):,} requests after 20 warm-up\n"
    )
    header = ("metric", "progress-hub", "bare starlette", "ratio", "target", "met?")
    rows = [header]
    for name, result in results.items():
        for stat in ("p50", "p99", "max"):
            target = TARGETS_MS[name] if stat == "p99" else None
            met = "-" if target is None else ("yes" if result[stat] <= target else "NO")
            rows.append(
                (
                    f"{name} {stat} (ms)",
                    f"{result[stat]:.3f}",
                    f"{bare[stat]:.3f}",
                    f"{result[stat] / bare[stat]:.1f}x",
                    "-" if target is None else f"<= {target:g} ms",
                    met,
                )
            )
    if bare["p99"] > 2 * bare["p50"]:
        print(
            f"note: the bare endpoint's own p99 is {bare['p99']:.1f} ms against a p50 of "
            f"{bare['p50']:.1f} ms: the machine was busy with other work (see the load average), "
            "and tail latencies of both servers carry that scheduling noise.\n"
        )
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    for index, row in enumerate(rows):
        print(" | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
        if index == 0:
            print("-|-".join("-" * width for width in widths))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run of well under 30 s")
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=2_000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--client", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--bearer", default="", help=argparse.SUPPRESS)
    parser.add_argument("--bare-server", type=int, help=argparse.SUPPRESS)
    parser.add_argument("paths", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client is not None:
        run_client(args.client, args.bearer, args.paths, args.requests, args.warmup)
        return
    if args.bare_server is not None:
        run_bare_server(args.bare_server)
        return
    if args.quick:
        args.patients, args.events, args.requests, args.warmup = 1_000, 50_000, 500, 100
    with tempfile.TemporaryDirectory(prefix="bench-api-") as workdir, new_loop_runner() as runner:
        runner.run(run(args, Path(workdir)))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
