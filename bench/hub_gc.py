"""How long the GC policy's rescan stops the hub with a large state (``realtime/tuning.py``).

Run: ``python bench/hub_gc.py [--events 1000000] [--patients 1000]``. Builds trackers holding
that many events (as start-up does: replayed, then frozen), then times, in this process:

- a full collection with the state frozen (what the policy gives between rescans);
- the rescan as the policy did it up to issue 5's third round: ``gc.unfreeze()`` followed by
  one full collection over the whole heap;
- the rescan as it is done now (:class:`realtime.tuning.FreezeSurvivors`), when it is enabled.

The figures are wall-clock pauses of this process's only thread: exactly the time an event
loop doing the same would be stopped.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from workload import patient_stream  # noqa: E402

from domain.events import Event, parse_events  # noqa: E402
from domain.patients import Patient  # noqa: E402
from domain.progress import PatientProgress  # noqa: E402


def build(events: int, patients: int) -> list[PatientProgress]:
    rng = random.Random(7)
    now = datetime.now(UTC)
    start = now - timedelta(days=3 * 365)
    per_patient = events // patients
    trackers = []
    gc.disable()  # as start-up does (realtime/runtime.py)
    for number in range(patients):
        patient_id = f"p{number}"
        tracker = PatientProgress(Patient.register(patient_id, "t1", "Europe/Berlin", start))
        raw = patient_stream(rng, patient_id, per_patient, start, (0.5, 2.0))[:per_patient]
        parsed = [event for event in parse_events(raw) if isinstance(event, Event)]
        tracker.replay(parsed, now)
        trackers.append(tracker)
    gc.enable()
    return trackers


def timed(action: str, run: object) -> float:
    began = time.perf_counter()
    run()  # type: ignore[operator]
    took = time.perf_counter() - began
    print(f"{action:58} {took * 1000:9.1f} ms", flush=True)
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--patients", type=int, default=1_000)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    began = time.perf_counter()
    trackers = build(args.events, args.patients)
    print(
        f"built {args.events:,} events in {args.patients:,} trackers in "
        f"{time.perf_counter() - began:.0f} s"
    )
    gc.collect()
    gc.freeze()  # as realtime/cli.py does after start-up
    print(f"objects frozen: {gc.get_freeze_count():,}")
    timed("full collection, state frozen", gc.collect)

    def unfreeze_and_collect() -> None:
        gc.unfreeze()
        gc.collect()

    timed("old rescan: gc.unfreeze() + one full collection", unfreeze_and_collect)
    gc.freeze()
    from realtime.tuning import FreezeSurvivors

    hook = FreezeSurvivors(rescan_interval_s=0.0)
    gc.callbacks.append(hook)
    try:
        timed("policy's rescan now (FreezeSurvivors)", lambda: gc.collect())
        timed("the full collection after it", lambda: gc.collect())
    finally:
        gc.callbacks.remove(hook)
    print(f"load average after: {os.getloadavg()[0]:.2f}; trackers kept: {len(trackers)}")


if __name__ == "__main__":
    main()
