"""The hub's benchmark suite: every scenario, the hub beside its peers in the same run, one table.

Run: ``make bench`` (a few minutes) or ``make bench-quick`` (under a minute), or
``python bench/suite.py [--quick] [--hub-python PATH] [--only a,b] [--profile-dir DIR]``.

Servers (``hub_servers.py``), each its own process, the load generated from this one:

- ``hub``: the hub as deployed, ``--hub-python`` being a venv with a non-editable
  ``pip install .`` (``make bench`` builds one); without it, the repo's ``.venv``.
- ``hub-editable``: the build ``make run`` uses (full runs, ingest scenarios only).
- ``relay``: ``peers/relay.py``, no logic and no storage: the stack's ceiling.
- ``socketio``: ``peers/socketio_peer.py``, python-socketio + pydantic + SQLite in groups.

A full run starts a fresh server (and database) per scenario and target, every target in turn
for one scenario before the next; a quick run one server per target for all scenarios. Results
go to ``bench/results.json``; ``docs/benchmarks.md`` says what each scenario and peer does.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from pathlib import Path

import hub_servers
import scenarios
import uvloop
from hub_load import FULL, QUICK, measure_memory, measure_throughput, register_patients
from hub_profile import summarize
from hub_servers import Server, Target, raise_nofile, running
from scenarios import FULL_LOAD, QUICK_LOAD, Figures

RESULTS = Path(__file__).resolve().parent / "results.json"
# The soak runs for minutes (bench/soak.py); the suite quotes its recorded figure.
SOAK = "57.1 B/event lasting growth, RSS spread 12.0 % (soak.py, 480 s; docs/benchmarks.md)"
SOAK_ROW = ["soak (recorded)", "B/event kept", "57.1", "-", "-", "-", "-", "-", "<= 64", "yes"]

# scenario -> (metric, which figure, higher is better, target on the hub's figure)
Measure = Callable[[Server, bool], Awaitable[Figures]]


def _scenarios(quick: bool) -> dict[str, tuple[str, str, Measure, Callable[[float], bool]]]:
    scale, load = (QUICK, QUICK_LOAD) if quick else (FULL, FULL_LOAD)

    async def own(server: Server, _: bool) -> Figures:
        result = await measure_throughput(server, scale, None, None)
        return Figures(
            events_per_s=result.events_per_s,
            p50_ms=result.ack_p50_ms,
            p99_ms=result.ack_p99_ms,
            cpu_us_per_event=result.cpu_us_per_event,
            cpu_cores=result.cpu_cores,
        )

    async def memory(server: Server, _: bool) -> Figures:
        idle = scale.idle
        result = await measure_memory(server, idle, None)
        return Figures(events_per_s=result.per_connection_kib, samples=idle)

    def run(scenario: Callable[[Server, scenarios.Load], Awaitable[Figures]]) -> Measure:
        return lambda server, _: scenario(server, load)

    return {
        "ingest_own_mix": ("events/s", "events_per_s", own, lambda _: True),
        "ingest_service_mix": (
            "events/s",
            "events_per_s",
            run(scenarios.ingest_service),
            lambda _: True,
        ),
        "crisis_low_load": ("alert p99 ms", "p99_ms", run(scenarios.crisis_low), lambda v: v <= 15),
        "crisis_saturated": (
            "alert p99 ms",
            "p99_ms",
            run(scenarios.crisis_saturated),
            lambda v: v <= 100,
        ),
        "fanout_dashboards": (
            "all-dashboards p99 ms",
            "p99_ms",
            run(scenarios.fanout),
            lambda _: True,
        ),
        "acks_1000_per_s": ("ack p99 ms", "p99_ms", run(scenarios.acks_steady), lambda v: v <= 20),
        "idle_memory": ("KiB/conn", "events_per_s", memory, lambda v: v <= 28),
    }


RELATIVE_TARGETS = {  # scenario -> (peer, minimum ratio hub/peer)
    "ingest_own_mix": ("relay", 0.5),
    "ingest_service_mix": ("relay", 0.5),
}
SOCKETIO_TARGET = 3.0  # ingest: at least 3x python-socketio


async def run(args: argparse.Namespace, workdir: Path) -> dict[str, object]:
    table = _scenarios(args.quick)
    chosen = args.only.split(",") if args.only else list(table)
    targets: list[Target] = ["hub", "relay", "socketio"]
    if not args.quick:
        targets.insert(1, "hub-editable")
    if args.targets:
        targets = [t for t in targets if t in args.targets.split(",")]
    results: dict[str, dict[str, dict[str, float]]] = {name: {} for name in chosen}

    async def measure(target: Target, server: Server, name: str) -> None:
        if target == "hub-editable" and not name.startswith("ingest"):
            return
        _, figure, scenario, _ = table[name]
        out = args.profile_dir / f"{name}.txt" if args.profile_dir else None
        async with hub_servers.profiled(server, out, 8 if args.quick else 10):
            figures = await scenario(server, args.quick)
        results[name][target] = {k: round(v, 2) for k, v in asdict(figures).items()}
        print(f"{name:<20} {target:<13} {getattr(figures, figure):>10,.2f}", flush=True)

    if args.quick:
        for target in targets:
            with running(target, workdir) as server:
                await register_patients(server, scenarios.PATIENTS)
                for name in chosen:
                    await measure(target, server, name)
    else:
        # Scenario by scenario, every target in turn: each comparison within the same minute.
        for name in chosen:
            for target in targets:
                if target == "hub-editable" and not name.startswith("ingest"):
                    continue
                with running(target, workdir) as server:
                    await register_patients(server, max(scenarios.PATIENTS, FULL.connections))
                    await measure(target, server, name)
    return {"figures": results, "kinds": {k: table[k][:2] for k in chosen}}


def print_table(
    results: dict[str, dict[str, dict[str, float]]], quick: bool
) -> list[dict[str, object]]:
    table = _scenarios(quick)
    rows: list[dict[str, object]] = []
    header = ["scenario", "metric", "hub", "editable", "relay", "socketio", "hub/relay"]
    header += ["hub/socketio", "target", "met?"]
    lines = [header]
    for name, by_target in results.items():
        metric, figure, _, check = table[name]
        value = {t: by_target[t][figure] for t in by_target}
        hub = value.get("hub", 0.0)
        ratio = {p: hub / value[p] if value.get(p) else 0.0 for p in ("relay", "socketio")}
        target, met = "-", None
        if name in RELATIVE_TARGETS:
            peer, least = RELATIVE_TARGETS[name]
            target = f">= {least}x relay, >= {SOCKETIO_TARGET:.0f}x socketio"
            met = ratio[peer] >= least and ratio["socketio"] >= SOCKETIO_TARGET
            if "hub-editable" in value:
                target += ", editable >= 0.85x hub"
                met = met and value["hub-editable"] >= 0.85 * hub
        elif name.startswith(("crisis", "acks", "idle")):
            target = {"crisis_low_load": "<= 15", "crisis_saturated": "<= 100"}.get(
                name, "<= 20" if name.startswith("acks") else "<= 28"
            )
            met = check(hub)
        cells = [name, metric] + [
            f"{value[t]:,.1f}" if t in value else "-" for t in ("hub", "hub-editable")
        ]
        cells += [f"{value[t]:,.1f}" if t in value else "-" for t in ("relay", "socketio")]
        cells += [f"{ratio[p]:.2f}" if ratio[p] else "-" for p in ("relay", "socketio")]
        cells += [target, "-" if met is None else "yes" if met else "NO"]
        lines.append(cells)
        rows.append({"scenario": name, "metric": metric, **value, "target": target, "met": met})
    lines.append(SOAK_ROW)
    widths = [max(len(line[i]) for line in lines if len(line) > i) for i in range(len(header))]
    for number, line in enumerate(lines):
        print(" | ".join(c.ljust(w) for c, w in zip(line, widths, strict=False)).rstrip())
        if number == 0:
            print("-|-".join("-" * w for w in widths))
    return rows


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM unwinds like Ctrl-C: servers stopped, folder removed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="under a minute")
    parser.add_argument("--hub-python", default="", help="python of a production install")
    parser.add_argument("--only", default="", help="comma-separated scenarios")
    parser.add_argument("--targets", default="", help="comma-separated servers (default: all)")
    parser.add_argument("--profile-dir", type=Path, default=None, help="py-spy the hub into DIR")
    args = parser.parse_args()
    if args.hub_python:
        python = os.path.abspath(args.hub_python)  # not resolved: a venv's python is a symlink
        hub_servers.HUB_PYTHON.update(python=python, build="pip install . (non-editable)")
    if args.profile_dir is not None:
        args.profile_dir.mkdir(parents=True, exist_ok=True)
    _, note = raise_nofile((QUICK if args.quick else FULL).idle * 2 + 2_000)
    began = time.time()
    machine = f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f} before"
    print(f"{note}; {machine}; hub build: {hub_servers.HUB_PYTHON['build']}", flush=True)
    workdir = Path(tempfile.mkdtemp(prefix="bench-suite-"))
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            measured = runner.run(run(args, workdir))
    except KeyboardInterrupt:
        sys.exit("interrupted; servers stopped")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"\nload average after: {os.getloadavg()[0]:.2f}; {time.time() - began:.0f} s\n")
    rows = print_table(measured["figures"], args.quick)  # type: ignore[arg-type]
    report = {
        "mode": "quick" if args.quick else "full",
        "machine": machine,
        "hub_build": hub_servers.HUB_PYTHON["build"],
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(began)),
        "soak": SOAK,
        "table": rows,
        **measured,
    }
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    if args.profile_dir is not None:
        for path in sorted(args.profile_dir.glob("*.txt")):
            print(f"\n== py-spy profile of the hub, {path.stem}\n{summarize(path)}")


if __name__ == "__main__":
    main()
