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
import os
import pickle
import random
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from workload import patient_stream

import domain
from domain.events import Event, parse_event
from domain.patients import Patient
from domain.progress import PatientProgress
from realtime.tuning import FreezeSurvivors

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


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f} on {os.cpu_count()} cores"


def _best(run: Callable[[], float], repeat: int) -> float:
    timings = []
    for _ in range(repeat):
        gc.collect()
        timings.append(run())
    return min(timings)


def _trackers_for(patients: int, per_patient: int) -> tuple[dict[str, PatientProgress], datetime]:
    """Trackers holding ``patients`` x ``per_patient`` events of the live workload."""
    raw = workload(patients, per_patient, seed=11)
    registered = START - timedelta(days=1)
    trackers = {
        f"p{index}": PatientProgress(
            Patient.register(f"p{index}", "t1", ZONES[index % len(ZONES)], registered)
        )
        for index in range(patients)
    }
    now = START
    for item in raw:
        event = parse_event(item)
        now = event.at + timedelta(minutes=3)
        trackers[event.patient_id].apply(event, now)
    return trackers, now


def measure_restore(patients: int, per_patient: int) -> None:
    """Snapshot and restore of tracker states: ``to_state``, pickle, ``from_state``.

    The baseline is ``pickle.loads`` of the very same builtins, the least a restore must do
    (the storage side unpickles with a restricted unpickler that refuses every global, which
    reads builtins at the same speed). Start-up holds nothing else, so the live trackers are
    dropped before timing. Measured twice: with the cyclic garbage collector paused during the
    restore (what start-up should do: ``gc.disable()``, restore, ``gc.enable()``, then the
    ``gc.freeze()`` the hub already does), and with it running, where its full collections
    walking the growing heap cost more than the restore itself.
    """
    trackers, now = _trackers_for(patients, per_patient)
    events = sum(len(tracker.to_state()["seen"]) for tracker in trackers.values())
    gc.collect()
    started = time.perf_counter()
    states = {pid: tracker.to_state() for pid, tracker in trackers.items()}
    to_state_s = time.perf_counter() - started
    blobs = {pid: pickle.dumps(state, pickle.HIGHEST_PROTOCOL) for pid, state in states.items()}
    size = sum(len(blob) for blob in blobs.values())
    registrations = {pid: tracker.patient for pid, tracker in trackers.items()}
    check = next(iter(trackers))
    expected = trackers[check].snapshot(now)
    del states, trackers
    gc.collect()
    print(f"restore: {patients} patients, {events:,} events; wall clock, best of 3")
    print(f"to_state (all trackers): {to_state_s:.3f} s; pickled {size / 1e6:.1f} MB", end="")
    print(f" ({size / events:.0f} bytes/event)")
    print(f"{'measure':<46}{'ours s':>9}{'baseline s':>12}{'ours/baseline':>15}")
    totals = {}
    for paused in (True, False):
        loads_s = restore_s = float("inf")
        for _ in range(3):
            gc.collect()
            if paused:
                gc.disable()
            started = time.perf_counter()
            loaded = {pid: pickle.loads(blob) for pid, blob in blobs.items()}
            loaded_at = time.perf_counter()
            restored = {
                pid: PatientProgress.from_state(registrations[pid], state)
                for pid, state in loaded.items()
            }
            finished = time.perf_counter()
            gc.enable()
            loads_s = min(loads_s, loaded_at - started)
            restore_s = min(restore_s, finished - loaded_at)
            assert restored[check].snapshot(now) == expected
            del loaded, restored
        mode = "collector paused" if paused else "collector running"
        print(
            f"{'from_state, ' + mode + ' (vs pickle.loads)':<46}{restore_s:>9.3f}"
            f"{loads_s:>12.3f}{restore_s / loads_s:>15.2f}"
        )
        totals[mode] = loads_s + restore_s
        print(f"{'  pickle.loads + from_state, ' + mode:<46}{totals[mode]:>9.3f}")
    total = totals["collector paused"]
    verdict = "met" if total < 2.0 else "NOT met"
    print(
        f"target: restore {events:,} events' worth well under 2 s -> {verdict} "
        f"({total:.2f} s with the collector paused, {totals['collector running']:.2f} s without)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=500)
    parser.add_argument("--events-per-patient", type=int, default=400)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-freeze", action="store_true", help="leave the corpus to the GC")
    parser.add_argument("--wall", action="store_true", help="time with the wall clock")
    parser.add_argument("--restore-patients", type=int, default=1000)
    parser.add_argument("--restore-events-per-patient", type=int, default=1000)
    parser.add_argument("--skip-apply", action="store_true", help="only the restore figures")
    parser.add_argument("--skip-restore", action="store_true", help="only the apply figures")
    args = parser.parse_args()
    if args.wall:
        global CLOCK
        CLOCK = time.perf_counter
    if not args.skip_apply:
        measure_apply(args)
    if not args.skip_restore:
        measure_restore(args.restore_patients, args.restore_events_per_patient)


def measure_apply(args: argparse.Namespace) -> None:

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

    def fresh_trackers() -> dict[str, PatientProgress]:
        return {pid: PatientProgress(patient) for pid, patient in registrations.items()}

    def timed(apply: Callable[[dict[str, PatientProgress]], int]) -> float:
        """Seconds ``apply`` takes on fresh trackers; the effects it counts are kept to compare."""
        nonlocal effects_seen
        trackers = fresh_trackers()
        started = CLOCK()
        effects = apply(trackers)
        elapsed = CLOCK() - started
        effects_seen = effects
        return elapsed

    def apply_each(trackers: dict[str, PatientProgress]) -> int:
        effects = 0
        for event, now in pairs:
            effects += len(trackers[event.patient_id].apply(event, now))
        return effects

    def run_apply() -> float:
        return timed(apply_each)

    def publishes(size: int, per_patient: bool) -> list[tuple[list[Event], datetime]]:
        """The stream cut into publishes of ``size`` events (of one patient each, or as they
        arrive); each is applied at the ``now`` of its last event, as the hub applies a
        publish once it is committed."""
        if not per_patient:
            return [
                ([event for event, _ in pairs[at : at + size]], pairs[at : at + size][-1][1])
                for at in range(0, count, size)
            ]
        streams: dict[str, list[tuple[Event, datetime]]] = {}
        for event, now in pairs:
            streams.setdefault(event.patient_id, []).append((event, now))
        cut = [
            (
                [event for event, _ in stream[start : start + size]],
                stream[start : start + size][-1][1],
            )
            for stream in streams.values()
            for start in range(0, len(stream), size)
        ]
        return sorted(cut, key=lambda publish: publish[1])  # in the order they complete

    def run_batches(batches: list[tuple[list[Event], datetime]]) -> Callable[[], float]:
        def apply_batches(trackers: dict[str, PatientProgress]) -> int:
            effects = 0
            for batch, now in batches:
                # What the hub does with a committed publish: group it by patient.
                by_patient: dict[str, list[Event]] = {}
                for event in batch:
                    by_patient.setdefault(event.patient_id, []).append(event)
                for patient_id, events_of_one in by_patient.items():
                    effects += len(trackers[patient_id].apply_many(events_of_one, now))
            return effects

        return lambda: timed(apply_batches)

    def run_replay() -> float:
        trackers = fresh_trackers()
        now = nows[-1]
        started = CLOCK()
        for at in range(0, count, 10_000):  # as the service's load(): chunks by patient
            chunk: dict[str, list[Event]] = {}
            for event, _ in pairs[at : at + 10_000]:
                chunk.setdefault(event.patient_id, []).append(event)
            for patient_id, events_of_one in chunk.items():
                trackers[patient_id].replay(events_of_one, now)
        return CLOCK() - started

    parse_s = _best(run_parse, max(1, args.repeat // 2))
    baseline_s = _best(run_baseline, args.repeat)
    apply_s = _best(run_apply, args.repeat)
    apply_effects = effects_seen
    batch_rows = []
    for label, batches in (
        ("apply_many, 1-event publishes", publishes(1, False)),
        ("apply_many, 50-event publishes", publishes(50, False)),
        ("apply_many, 50 of one patient", publishes(50, True)),
    ):
        batch_rows.append((label, _best(run_batches(batches), args.repeat), effects_seen))
    batch_rows.append(("replay (start-up, no effects)", _best(run_replay, args.repeat), 0))
    # Last, since it freezes what it keeps: per-event apply under the collector policy that
    # `progress-hub serve` runs with (realtime/tuning.py: survivors of each full collection
    # are frozen, so later ones walk only what is new). The default-collector rows above are
    # the domain's own figures; this one is what it costs inside the hub.
    hook = FreezeSurvivors()
    gc.callbacks.append(hook)
    try:
        hub_s = _best(run_apply, args.repeat)
        batch_rows.append(("apply, per event, hub's collector", hub_s, effects_seen))
    finally:
        gc.callbacks.remove(hook)
        gc.unfreeze()
        gc.collect()
        if not args.no_freeze:
            gc.freeze()
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
    print(f"workload: {args.patients} patients, {count} events in arrival order")
    print(f"domain: {Path(domain.__file__).parent}; `uptime`: {_load()}")
    clock = "wall clock" if args.wall else "process CPU time"
    print(f"corpus frozen for the GC: {not args.no_freeze}; {clock}; best of {args.repeat} runs")
    print(
        f"{'measure':<34}{'ours/s':>10}{'baseline/s':>12}{'ratio':>8}{'effects':>9}{'> 200k/s':>10}"
    )

    def row(label: str, rate: float, effects: int) -> None:
        verdict = "met" if rate > 200_000 else "NOT met"
        print(
            f"{label:<34}{rate:>10,.0f}{rate_baseline:>12,.0f}{rate / rate_baseline:>8.3f}"
            f"{effects:>9,}{verdict:>10}"
        )

    row("apply, per event (own now)", rate_apply, apply_effects)
    for label, seconds, effects in batch_rows:
        row(label, count / seconds, effects)
    print(f"{'parse_event (validation)':<34}{rate_parse:>10,.0f}{'-':>12}{'-':>8}")
    print(
        "baseline: skip a seen id and count (patient, kind) in a dict, over the same events; "
        "publishes are applied at the now of their last event, grouped by patient as the hub does"
    )
    median_ms = statistics.median(snapshot_times) * 1000
    print(f"snapshot: median {median_ms:.3f} ms, max {max(snapshot_times) * 1000:.3f} ms")
    print(f"after the run: {_load()}")


if __name__ == "__main__":
    main()
