"""``progress-hub simulate``: a practice of simulated patients streaming through SessionClient.

It registers the patients over REST, sends three weeks of history in shuffled chunks (late,
out of order, as offline apps do), then streams live events at the rate asked for, and keeps a
progress line on stderr. Events the hub rejects are counted by code and kind, never retried:
``measure_completed`` is refused by a hub without measures (``PROTOCOL.md`` section 8).
"""

from __future__ import annotations

import asyncio
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, TextIO

from clients.personas import SimulatedPatient, practice
from clients.rest import call, http_base
from clients.session import SessionClient

PROGRESS_EVERY_S: Final = 0.5
TICK_S: Final = 0.1
HISTORY_CHUNK: Final = 200
FLUSH_AT_END_S: Final = 30.0


@dataclass(frozen=True, kw_only=True)
class Simulation:
    url: str
    token: str
    therapist_id: str
    patients: int
    rate: float
    seconds: float | None = None
    seed: int | None = None


@dataclass
class SimulationReport:
    published: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: Counter[str] = field(default_factory=Counter)

    def line(self, pending: int, elapsed_s: float, rate: float) -> str:
        rejected = sum(self.rejected.values())
        return (
            f"simulate: sent {self.published} · accepted {self.accepted} · "
            f"duplicates {self.duplicates} · rejected {rejected} · waiting {pending} · "
            f"{rate:.1f} events/s · {int(elapsed_s) // 60:02d}:{int(elapsed_s) % 60:02d}"
        )


async def register(simulation: Simulation, patients: list[SimulatedPatient]) -> None:
    base = http_base(simulation.url)
    for patient in patients:
        await asyncio.to_thread(
            call,
            "PUT",
            f"{base}/api/v1/patients/{patient.patient_id}",
            simulation.token,
            {"therapist_id": simulation.therapist_id, "timezone": patient.timezone},
        )


def shuffled_history(
    patients: list[SimulatedPatient], now: datetime, rng: random.Random
) -> list[list[dict[str, Any]]]:
    """Every patient's history, cut in chunks sent in random order: late and out of order."""
    events = [event for patient in patients for event in patient.history(now)]
    chunks = [events[i : i + HISTORY_CHUNK] for i in range(0, len(events), HISTORY_CHUNK)]
    rng.shuffle(chunks)
    for chunk in chunks:
        rng.shuffle(chunk)
    return chunks


async def simulate(simulation: Simulation, out: TextIO = sys.stderr) -> SimulationReport:
    """Run the simulation until ``seconds`` pass (or forever); returns what the hub answered."""
    seed = simulation.seed if simulation.seed is not None else random.SystemRandom().getrandbits(32)
    rng = random.Random(seed)
    patients = practice(simulation.therapist_id, simulation.patients, seed)
    await register(simulation, patients)
    print(
        f"simulate: {len(patients)} patients of {simulation.therapist_id} registered "
        f"({', '.join(sorted({p.persona for p in patients}))}); seed {seed}",
        file=out,
    )
    report = SimulationReport()
    async with SessionClient(simulation.url, simulation.token, max_batch_events=100) as client:
        started = time.monotonic()
        for chunk in shuffled_history(patients, datetime.now(UTC), rng):
            await client.publish_many(chunk)
            report.published += len(chunk)
        try:
            await _stream(simulation, client, patients, report, started, out)
        finally:
            try:
                await client.flush(FLUSH_AT_END_S)
            except TimeoutError:
                print("\nsimulate: some events are still unsent", file=out)
            _settle(client, report)
            print(
                "\r" + report.line(await client.pending(), time.monotonic() - started, 0), file=out
            )
    for reason, count in sorted(report.rejected.items()):
        print(f"simulate: rejected {count} × {reason}", file=out)
    return report


async def _stream(
    simulation: Simulation,
    client: SessionClient,
    patients: list[SimulatedPatient],
    report: SimulationReport,
    started: float,
    out: TextIO,
) -> None:
    owed = 0.0
    turn = 0
    last_line = 0.0
    sent_at_last_line = report.published
    while simulation.seconds is None or time.monotonic() - started < simulation.seconds:
        await asyncio.sleep(TICK_S)
        owed += simulation.rate * TICK_S
        batch: list[dict[str, Any]] = []
        now = datetime.now(UTC)
        elapsed = time.monotonic() - started
        quiet = 0  # patients in turn with nothing to send (the fading ones)
        while owed >= 1 and quiet < len(patients):
            patient = patients[turn % len(patients)]
            turn += 1
            events = patient.live(now, elapsed)
            quiet = 0 if events else quiet + 1
            for event in events:
                del event["id"]  # a fresh UUIDv7 from the client: no clash with another run
            batch += events
            owed -= len(events)
        if batch:
            batch.reverse()  # the tick's events arrive newest first
            await client.publish_many(batch)
            report.published += len(batch)
        if elapsed - last_line >= PROGRESS_EVERY_S:
            rate = (report.published - sent_at_last_line) / max(elapsed - last_line, 1e-9)
            last_line, sent_at_last_line = elapsed, report.published
            _settle(client, report)
            out.write("\r" + report.line(await client.pending(), elapsed, rate))
            out.flush()


def _settle(client: SessionClient, report: SimulationReport) -> None:
    report.accepted = client.totals.accepted
    report.duplicates = client.totals.duplicates
    for rejection in client.rejected().drain():
        report.rejected[f"{rejection.code} {rejection.event.get('kind', '?')}"] += 1
