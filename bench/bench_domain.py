"""Throughput of the pure domain core: ``PatientProgress.apply`` and ``parse_event``.

Run: ``python bench/bench_domain.py [--patients N] [--events-per-patient N] [--repeat N]``.

The workload is a live stream: patients with a zone each, sessions (scheduled, started with a
mood, ended completed / cancelled / no-show with a mood and topics), exercises, mood check-ins,
markers, goal and action-item updates; about 10% of events arrive out of order and 5% twice.
``now`` trails each event by a few minutes, as it would on a live hub.

Validation is excluded from the ``apply`` figure (events are parsed once up front) and measured
separately. The baseline, measured in the same run over the same pre-validated events, is the
least a fold must do: skip a seen id and bump a per-patient, per-kind counter in a dict.

The parsed input corpus is moved to the garbage collector's permanent generation
(``gc.freeze()``) before timing, as a long-running hub would do with state loaded at start: the
bench's own scaffolding should not be re-scanned by every full collection. The collector stays
enabled for everything ``apply`` allocates. ``--no-freeze`` measures without that step.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from workload import patient_stream

from domain.events import Event, parse_event
from domain.patients import Patient
from domain.progress import PatientProgress

ZONES = ("Europe/Berlin", "America/New_York", "Asia/Kolkata", "UTC", "Australia/Sydney")
START = datetime(2026, 5, 1, 8, tzinfo=UTC)
CLOCK = time.process_time
"""CPU time of this process: other work on a shared machine does not count against a run
(``--wall`` switches to wall-clock time)."""


def _patient_events(rng: random.Random, patient: str, count: int) -> list[dict[str, Any]]:
    start = START + timedelta(minutes=rng.randrange(0, 600))
    return patient_stream(rng, patient, count, start, (2, 30))


def workload(patients: int, per_patient: int, seed: int = 7) -> list[dict[str, Any]]:
    """Decoded events (dicts as a client would send them) in live arrival order."""
    rng = random.Random(seed)
    stream: list[dict[str, Any]] = []
    for index in range(patients):
        stream.extend(_patient_events(rng, f"p{index}", per_patient))
    stream.sort(key=lambda event: event["at"])
    for index in range(len(stream) - 1):  # ~10% swap with a neighbour: late arrivals
        if rng.random() < 0.1:
            stream[index], stream[index + 1] = stream[index + 1], stream[index]
    for index in rng.sample(range(len(stream)), len(stream) // 20):  # ~5% sent twice
        stream.append(dict(stream[index]))
    for event in stream:
        event["at"] = event["at"].isoformat()
        if "scheduled_for" in event:
            event["scheduled_for"] = event["scheduled_for"].isoformat()
    return stream


def _best(run: Callable[[], float], repeat: int) -> float:
    timings = []
    for _ in range(repeat):
        gc.collect()
        timings.append(run())
    return min(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=500)
    parser.add_argument("--events-per-patient", type=int, default=400)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-freeze", action="store_true", help="leave the corpus to the GC")
    parser.add_argument("--wall", action="store_true", help="time with the wall clock")
    args = parser.parse_args()
    if args.wall:
        global CLOCK
        CLOCK = time.perf_counter

    raw = workload(args.patients, args.events_per_patient)
    events: list[Event] = [parse_event(item) for item in raw]
    nows = [event.at + timedelta(minutes=3) for event in events]
    registered = START - timedelta(days=1)
    registrations = {
        f"p{index}": Patient.register(f"p{index}", "t1", ZONES[index % len(ZONES)], registered)
        for index in range(args.patients)
    }
    pairs = list(zip(events, nows, strict=True))
    count = len(events)
    gc.collect()
    if not args.no_freeze:
        gc.freeze()

    def run_parse() -> float:
        started = CLOCK()
        for item in raw:
            parse_event(item)
        return CLOCK() - started

    def run_baseline() -> float:
        seen: set[str] = set()
        counts: dict[tuple[str, str], int] = {}
        started = CLOCK()
        for event, _now in pairs:
            if event.id in seen:
                continue
            seen.add(event.id)
            key = (event.patient_id, event.kind)
            counts[key] = counts.get(key, 0) + 1
        return CLOCK() - started

    effects_seen = 0

    def run_apply() -> float:
        nonlocal effects_seen
        trackers = {pid: PatientProgress(patient) for pid, patient in registrations.items()}
        effects = 0
        started = CLOCK()
        for event, now in pairs:
            effects += len(trackers[event.patient_id].apply(event, now))
        elapsed = CLOCK() - started
        effects_seen = effects
        return elapsed

    parse_s = _best(run_parse, max(1, args.repeat // 2))
    baseline_s = _best(run_baseline, args.repeat)
    apply_s = _best(run_apply, args.repeat)
    trackers = {pid: PatientProgress(patient) for pid, patient in registrations.items()}
    for event, now in pairs:
        trackers[event.patient_id].apply(event, now)
    final_now = nows[-1]
    snapshot_times = []
    for tracker in trackers.values():
        started = time.perf_counter()
        tracker.snapshot(final_now)
        snapshot_times.append(time.perf_counter() - started)

    rate_apply = count / apply_s
    rate_baseline = count / baseline_s
    rate_parse = len(raw) / parse_s
    print(f"workload: {args.patients} patients, {count} events ({effects_seen} effects)")
    clock = "wall clock" if args.wall else "process CPU time"
    print(f"corpus frozen for the GC: {not args.no_freeze}; {clock}; best of {args.repeat} runs")
    print(f"{'measure':<34}{'ours/s':>14}{'baseline/s':>14}{'ours/baseline':>15}")
    print(
        f"{'PatientProgress.apply':<34}{rate_apply:>14,.0f}{rate_baseline:>14,.0f}"
        f"{rate_apply / rate_baseline:>15.3f}"
    )
    print(f"{'parse_event (validation)':<34}{rate_parse:>14,.0f}{'-':>14}{'-':>15}")
    median_ms = statistics.median(snapshot_times) * 1000
    print(f"snapshot: median {median_ms:.3f} ms, max {max(snapshot_times) * 1000:.3f} ms")
    verdict = "met" if rate_apply > 200_000 else "NOT met"
    print(f"target: apply > 200,000 events/s (per-event now) -> {verdict}")


if __name__ == "__main__":
    main()
