"""The suite's newer scenarios: service ingest, crisis alerts at low load and saturated,
fan-out to many dashboards, acks at a steady rate. Each drives any target through one code path.

Patients ``p0``..``p199`` are registered (hub only); ``p{n}`` belongs to therapist ``t{n % 50}``,
so the crisis probes (``p0``, ``p50``, ``p100``, ``p150``) all alert therapist ``t0``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import statistics
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hub_load import open_ws, percentile, publish_frame, server_cpu, token
from hub_servers import HUBS, Server, cpu_window
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from realtime.auth import Role

PATIENTS = 200
PROBES = ("p0", "p50", "p100", "p150")
WATCHED = "therapist:t0"
REPLY_TIMEOUT_S = 30.0
KINDS = (
    '"kind":"exercise_completed","exercise":"walk","duration_s":300',
    '"kind":"mood_checkin","score":{score}',
    '"kind":"progress_marker","marker":"INSIGHT_GAINED"',
    '"kind":"goal_updated","goal_id":"g{goal}","status":"in_progress"',
)


@dataclass(frozen=True, kw_only=True)
class Load:
    service_connections: int  # saturating batch publishers
    warmup_s: float
    measure_s: float
    dashboards: int
    low_rate: float  # events/s of the low-load crisis run


FULL_LOAD = Load(
    service_connections=8, warmup_s=2.0, measure_s=8.0, dashboards=1_000, low_rate=3_000
)
QUICK_LOAD = Load(
    service_connections=4, warmup_s=0.5, measure_s=2.0, dashboards=200, low_rate=3_000
)


class ServiceMix:
    """100-event batches over 200 patients, ``at`` anywhere in yesterday: out of order."""

    def __init__(self, name: str, seed: int) -> None:
        self.name = name
        self.serial = 0
        self.rng = random.Random(seed)
        today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        self.day = today - timedelta(days=1)

    def event(self, patient: str, at: datetime, body: str, prefix: str = "") -> str:
        self.serial += 1
        return (
            f'{{"id":"{prefix}{self.name}-{self.serial}","patient_id":"{patient}",'
            f'"at":"{at.isoformat()}",{body}}}'
        )

    def activity(self) -> str:
        rng = self.rng
        body = rng.choice(KINDS).format(score=rng.randint(4, 10), goal=rng.randrange(4))
        at = self.day + timedelta(seconds=rng.uniform(0, 86_400))
        return self.event(f"p{rng.randrange(PATIENTS)}", at, body)

    def batch(self, size: int) -> str:
        return publish_frame([self.activity() for _ in range(size)])

    def crisis(self, patient: str) -> str:
        body = f'"kind":"mood_checkin","score":{self.rng.randint(1, 2)}'
        return self.event(patient, datetime.now(UTC), body, prefix="crisis-")


@dataclass
class Figures:
    """What a scenario measured: a rate, latencies, the server's CPU."""

    events_per_s: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    samples: int = 0
    cpu_us_per_event: float = 0.0
    cpu_cores: float = 0.0


def latencies(samples: list[float], **more: float) -> Figures:
    if not samples:
        raise RuntimeError("no sample inside the measuring window")
    return Figures(
        p50_ms=statistics.median(samples) * 1000,
        p99_ms=percentile(samples, 0.99) * 1000,
        max_ms=max(samples) * 1000,
        samples=len(samples),
        **more,
    )


async def service(server: Server, name: str, query: str = "") -> ClientConnection:
    return await open_ws(server, token(Role.SERVICE, name), None, query)


async def watcher(server: Server, channel: str = WATCHED) -> ClientConnection:
    if server.target not in HUBS:
        return await open_ws(server, "-", None, f"?sub={channel}")
    websocket = await open_ws(server, token(Role.THERAPIST, channel.split(":")[1]), None)
    await websocket.send(json.dumps({"type": "subscribe", "channel": channel}))
    reply = json.loads(await asyncio.wait_for(websocket.recv(), REPLY_TIMEOUT_S))
    if reply.get("type") != "subscribed":
        raise RuntimeError(f"subscribe failed: {reply}")
    return websocket


def crisis_of(data: str | bytes) -> str | None:
    """The patient whose crisis this frame announces (an alert, or the relay's forwarded batch)."""
    frame = json.loads(data)
    if frame.get("type") == "message":
        body = frame.get("data", {})
        return body.get("patient_id") if body.get("code") == "mood_crisis" else None
    for event in frame.get("events", ()):
        if str(event.get("id", "")).startswith("crisis-"):
            return str(event["patient_id"])
    return None


class Probes:
    """Crisis probes in flight per patient, timed from send to the watcher's receipt."""

    def __init__(self) -> None:
        self.sent: dict[str, deque[float]] = {patient: deque() for patient in PROBES}
        self.samples: list[float] = []
        self.window = (0.0, 0.0)

    async def watch(self, websocket: ClientConnection) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for data in websocket:
                arrived = time.perf_counter()
                patient = crisis_of(data)
                queue = self.sent.get(patient or "")
                if queue:
                    sent = queue.popleft()
                    if self.window[0] <= sent <= self.window[1]:
                        self.samples.append(arrived - sent)

    async def settle(self) -> None:
        deadline = time.perf_counter() + 5.0
        while any(self.sent.values()) and time.perf_counter() < deadline:
            await asyncio.sleep(0.02)


async def drain(websocket: ClientConnection, on_reply: Callable[[str], None] | None = None) -> None:
    with contextlib.suppress(ConnectionClosed, asyncio.CancelledError):
        async for data in websocket:
            if on_reply is not None:
                on_reply(str(data))


async def closed_loop(
    server: Server, load: Load, window: tuple[float, float], counted: list[int], tag: str
) -> None:
    """Service connections each sending a 100-event batch as soon as the last one is acked."""
    sockets = [await service(server, f"{tag}{i}") for i in range(load.service_connections)]

    async def publisher(index: int, websocket: ClientConnection) -> None:
        mix = ServiceMix(f"{tag}{index}", index)
        while time.perf_counter() < window[1]:
            await websocket.send(mix.batch(100))
            reply = json.loads(await asyncio.wait_for(websocket.recv(), REPLY_TIMEOUT_S))
            if server.target != "relay" and len(reply.get("accepted", ())) != 100:
                raise RuntimeError(f"batch not fully accepted: {str(reply)[:300]}")
            if window[0] <= time.perf_counter() <= window[1]:
                counted[0] += 100

    try:
        await asyncio.gather(*(publisher(i, ws) for i, ws in enumerate(sockets)))
    finally:
        for websocket in sockets:
            websocket.transport.abort()


def windowed(load: Load) -> tuple[float, float]:
    start = time.perf_counter() + load.warmup_s
    return start, start + load.measure_s


async def ingest_service(server: Server, load: Load) -> Figures:
    counted = [0]
    window = windowed(load)
    async with cpu_window(server, *window) as cpu:
        await closed_loop(server, load, window, counted, "ingest")
    return Figures(
        events_per_s=counted[0] / load.measure_s,
        **server_cpu(cpu[0], counted[0], load.measure_s),
    )


async def crisis_low(server: Server, load: Load) -> Figures:
    """One service connection, 10-event batches at ``low_rate``; every 10th carries a crisis."""
    probes = Probes()
    watching = asyncio.create_task(probes.watch(await watcher(server)))
    websocket = await service(server, "svc-low", f"?pub={WATCHED}")
    reader = asyncio.create_task(drain(websocket))
    mix = ServiceMix("low", 1)
    interval = 10 / load.low_rate
    probes.window = windowed(load)
    due = time.perf_counter()
    turn = 0
    while due < probes.window[1]:
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        events = [mix.activity() for _ in range(10)]
        if turn % 10 == 0:
            patient = PROBES[turn // 10 % len(PROBES)]
            events[-1] = mix.crisis(patient)
            probes.sent[patient].append(time.perf_counter())
        await websocket.send(publish_frame(events))
        turn += 1
        due += interval
    await probes.settle()
    reader.cancel()
    watching.cancel()
    return latencies(probes.samples)


async def crisis_saturated(server: Server, load: Load) -> Figures:
    """Batch publishers saturating the server; patient ``p0`` sends one crisis every 50 ms."""
    probes = Probes()
    watching = asyncio.create_task(probes.watch(await watcher(server)))
    patient = PROBES[0]
    probe = await open_ws(server, token(Role.PATIENT, patient), None, f"?pub={WATCHED}")
    reader = asyncio.create_task(drain(probe))
    mix = ServiceMix("sat", 2)
    probes.window = window = windowed(load)
    counted = [0]

    async def probing() -> None:
        due = time.perf_counter()
        while due < window[1]:
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            probes.sent[patient].append(time.perf_counter())
            await probe.send(publish_frame([mix.crisis(patient)]))
            due += 0.05

    await asyncio.gather(closed_loop(server, load, window, counted, "bulk"), probing())
    await probes.settle()
    reader.cancel()
    watching.cancel()
    return latencies(probes.samples, events_per_s=counted[0] / load.measure_s)


async def fanout(server: Server, load: Load) -> Figures:
    """``dashboards`` connections watching therapist t0; p0 sends a crisis every 100 ms.

    Per probe: the time until the last dashboard has its alert. Rate: alerts delivered per s.
    """
    limit = asyncio.Semaphore(100)

    async def one() -> ClientConnection:
        async with limit:
            return await watcher(server)

    dashboards = await asyncio.gather(*(one() for _ in range(load.dashboards)))
    arrivals: list[list[float]] = [[] for _ in dashboards]

    async def receive(index: int, websocket: ClientConnection) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for data in websocket:
                if crisis_of(data):
                    arrivals[index].append(time.perf_counter())

    readers = [asyncio.create_task(receive(i, ws)) for i, ws in enumerate(dashboards)]
    probe = await open_ws(server, token(Role.PATIENT, "p0"), None, f"?pub={WATCHED}")
    acks = asyncio.create_task(drain(probe))
    mix = ServiceMix("fan", 3)
    sent: list[float] = []
    started = time.perf_counter()
    while time.perf_counter() - started < load.measure_s:
        sent.append(time.perf_counter())
        await probe.send(publish_frame([mix.crisis("p0")]))
        await asyncio.sleep(0.1)
    deadline = time.perf_counter() + 10.0
    while any(len(a) < len(sent) for a in arrivals) and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)
    for task in [*readers, acks]:
        task.cancel()
    for websocket in [*dashboards, probe]:
        websocket.transport.abort()
    complete = [
        max(a[k] for a in arrivals) - sent[k]
        for k in range(len(sent))
        if all(len(a) > k for a in arrivals)
    ]
    delivered = sum(len(a) for a in arrivals)
    return latencies(complete, events_per_s=delivered / (time.perf_counter() - started))


async def acks_steady(server: Server, load: Load, rate: float = 1_000.0) -> Figures:
    """4 service connections, 25-event batches dated now over 100 patients, ``rate`` events/s."""
    samples: list[float] = []
    window = windowed(load)

    async def publisher(index: int) -> None:
        websocket = await service(server, f"ack{index}")
        in_flight: deque[float] = deque()

        def acked(_: str) -> None:
            sent = in_flight.popleft()
            if window[0] <= sent <= window[1]:
                samples.append(time.perf_counter() - sent)

        reader = asyncio.create_task(drain(websocket, acked))
        rng = random.Random(index)
        serial = 0
        due = time.perf_counter() + index * 0.025
        while due < window[1]:
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            events = []
            for _ in range(25):
                serial += 1
                body = rng.choice(KINDS).format(score=rng.randint(4, 10), goal=serial % 4)
                events.append(
                    f'{{"id":"ack{index}-{serial}","patient_id":"p{rng.randrange(100)}",'
                    f'"at":"{datetime.now(UTC).isoformat()}",{body}}}'
                )
            in_flight.append(time.perf_counter())
            await websocket.send(publish_frame(events))
            due += 4 * 25 / rate
        deadline = time.perf_counter() + 5.0
        while in_flight and time.perf_counter() < deadline:
            await asyncio.sleep(0.02)
        reader.cancel()
        websocket.transport.abort()

    await asyncio.gather(*(publisher(i) for i in range(4)))
    return latencies(samples)
