"""Soak: a hub under steady load for minutes, its memory sampled, to show it stays flat.

The hub runs as deployed (``python -m realtime.cli serve``, its own process); this process
publishes about ``--rate`` events a second over the WebSocket for ``--patients`` patients,
every event dated now (a live practice: each patient's days fill up, no history is invented),
and samples the hub's RSS every second. Sessions are reused within a day (three a patient a
day), so the figures the hub must keep grow with patients and days, not with events.

It reports the lasting growth per event after the warm-up (the least-squares slope of RSS over
events published) and whether RSS stays within 10 % over the last half of the run.

    python bench/soak.py --seconds 240 --warmup 60 --rate 1000 --patients 100
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from hub_load import open_ws, register_patients, token
from hub_servers import rss_bytes, running

from realtime.auth import Role

PUBLISHERS = 4
BATCH = 25
TARGET_BYTES_PER_EVENT = 64
FLAT_WITHIN = 0.10


def _event(patient: int, serial: int, rng: random.Random) -> str:
    now = datetime.now(UTC)
    session = f"p{patient}-{now:%Y%m%d}-{serial % 3}"
    kinds = (
        f'"kind":"mood_checkin","score":{rng.randint(4, 10)}',
        '"kind":"progress_marker","marker":"INSIGHT_GAINED"',
        f'"kind":"session_started","session_id":"{session}","mood_pre":6',
        f'"kind":"session_ended","session_id":"{session}","status":"completed",'
        '"duration_s":3000,"mood_post":7,"topics":["anxiety","sleep"]',
        '"kind":"exercise_completed","exercise":"walk","duration_s":300',
        f'"kind":"goal_updated","goal_id":"g{serial % 4}","status":"in_progress"',
    )
    return (
        f'{{"id":"p{patient}-{serial}","patient_id":"p{patient}","at":"{now.isoformat()}",'
        f"{kinds[serial % len(kinds)]}}}"
    )


async def _publish(server: object, index: int, args: argparse.Namespace, sent: list[int]) -> None:
    rng = random.Random(index)
    websocket = await open_ws(server, token(Role.SERVICE, f"soak{index}"), None)  # type: ignore[arg-type]
    interval = PUBLISHERS * BATCH / args.rate
    serial = 0
    acks_due = 0
    started = time.monotonic()

    async def read_acks() -> None:
        nonlocal acks_due
        async for frame in websocket:
            if json.loads(frame).get("type") == "ack":
                acks_due -= 1

    reader = asyncio.create_task(read_acks())
    try:
        tick = 0
        while time.monotonic() - started < args.seconds:
            events = []
            for _ in range(BATCH):
                serial += 1
                patient = (serial * PUBLISHERS + index) % args.patients
                events.append(_event(patient, serial * PUBLISHERS + index, rng))
            await websocket.send('{"type":"publish","events":[' + ",".join(events) + "]}")
            acks_due += 1
            sent[0] += BATCH
            tick += 1
            delay = started + tick * interval - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
    finally:
        reader.cancel()
        await websocket.close()


def _slope(points: list[tuple[int, int]]) -> float:
    """Least-squares bytes of RSS per event over ``(events, rss)`` samples."""
    count = len(points)
    mean_x = sum(x for x, _ in points) / count
    mean_y = sum(y for _, y in points) / count
    covariance = sum((x - mean_x) * (y - mean_y) for x, y in points)
    variance = sum((x - mean_x) ** 2 for x, _ in points)
    return covariance / variance if variance else 0.0


async def soak(args: argparse.Namespace) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as workdir, running("hub", Path(workdir)) as server:
        await register_patients(server, args.patients)
        sent = [0]
        samples: list[tuple[float, int, int]] = []
        publishers = [
            asyncio.create_task(_publish(server, index, args, sent)) for index in range(PUBLISHERS)
        ]
        started = time.monotonic()
        while not all(task.done() for task in publishers):
            samples.append((time.monotonic() - started, sent[0], rss_bytes(server.pid)))
            await asyncio.sleep(1.0)
        await asyncio.gather(*publishers)
    after_warmup = [(events, rss) for t, events, rss in samples if t >= args.warmup]
    last_half = [rss for t, _, rss in samples if t >= args.seconds / 2]
    spread = (max(last_half) - min(last_half)) / (sum(last_half) / len(last_half))
    growth = _slope(after_warmup)
    return {
        "seconds": args.seconds,
        "warmup_s": args.warmup,
        "patients": args.patients,
        "events": sent[0],
        "events_per_s": round(sent[0] / samples[-1][0], 1),
        "rss_start_mb": round(samples[0][2] / 2**20, 1),
        "rss_after_warmup_mb": round(after_warmup[0][1] / 2**20, 1),
        "rss_end_mb": round(samples[-1][2] / 2**20, 1),
        "growth_bytes_per_event": round(growth, 1),
        "growth_target_met": growth <= TARGET_BYTES_PER_EVENT,
        "last_half_spread": round(spread, 3),
        "flat_within_10_percent": spread <= FLAT_WITHIN,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=240.0)
    parser.add_argument("--warmup", type=float, default=60.0)
    parser.add_argument("--rate", type=float, default=1000.0, help="events per second")
    parser.add_argument("--patients", type=int, default=100)
    print(json.dumps(asyncio.run(soak(parser.parse_args())), indent=2))


if __name__ == "__main__":
    main()
