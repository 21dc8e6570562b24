"""The wire and the two oldest measures of ``suite.py``: the bench's own ingest mix, idle memory.

Clients use the ``websockets`` asyncio client and nothing of the server but the token format.
The python-socketio peer is spoken to through :class:`SocketIO`, which frames the same JSON in
Engine.IO/Socket.IO packets over the same kind of WebSocket, so every scenario drives all
servers with one code path.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypedDict

import httpx
from hub_servers import HUBS, SECRET, Server, cpu_window, profiled, rss_bytes
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from realtime.auth import Role, issue_token
from realtime.protocol import SUBPROTOCOL_JSON

REPLY_TIMEOUT_S = 30.0
TOKEN_TTL_S = 3600
THERAPISTS = 50
PROBE_SHARE = 0.1  # of the latency run's events: crisis check-ins, each one timed
PROBE_PATIENTS = 100
CONNECT_CONCURRENCY = 200  # handshakes in flight while opening idle connections
MEMORY_SETTLE_S = 2.0
REGISTER_ATTEMPTS = 20
EVENT_STEP = timedelta(minutes=2)
HISTORY_SPAN = EVENT_STEP * 2_000


@dataclass(frozen=True)
class Scale:
    """How big a run is; the presets below read as a table, one column per field."""

    connections: int
    batch: int
    warmup_s: float
    measure_s: float
    rate: float
    background_connections: int
    idle: int


# (connections, batch, warmup_s, measure_s, rate, background_connections, idle)
FULL = Scale(1_000, 50, 3.0, 15.0, 5_000.0, 50, 10_000)
QUICK = Scale(100, 50, 0.5, 1.5, 1_000.0, 10, 500)


# -- the wire ----------------------------------------------------------------------------


def token(role: Role, sub: str) -> str:
    return issue_token(SECRET, role, sub, TOKEN_TTL_S, datetime.now(UTC))


def therapist_of(patient: int) -> str:
    return f"t{patient % THERAPISTS}"


class SocketIO:
    """A Socket.IO client over a ``websockets`` connection, sending and receiving our JSON.

    ``send(text)`` emits ``publish`` with ``text`` as its argument; ``recv`` returns the argument
    of the next event the server emits (its ``ack`` or ``message``, shaped as the hub's) and
    answers Engine.IO pings on the way.
    """

    def __init__(self, websocket: ClientConnection) -> None:
        self.websocket = websocket
        self.transport = websocket.transport

    async def send(self, text: str) -> None:
        await self.websocket.send('42["publish",' + text + "]")

    async def recv(self) -> str:
        while True:
            packet = await self.websocket.recv()
            assert isinstance(packet, str)
            if packet == "2":
                await self.websocket.send("3")
            elif packet.startswith("42["):
                return packet[packet.index(",") + 1 : -1]

    def __aiter__(self) -> SocketIO:
        return self

    async def __anext__(self) -> str:
        try:
            return await self.recv()
        except ConnectionClosed:
            raise StopAsyncIteration from None

    async def close(self) -> None:
        await self.websocket.close()


async def open_ws(
    server: Server, bearer: str, compression: str | None, query: str = ""
) -> ClientConnection:
    """Connect as ``clients/hub_client.py`` does and wait for ``welcome``."""
    if server.target == "socketio":
        params = "&" + query.lstrip("?") if query else ""
        url = f"ws://127.0.0.1:{server.port}/socket.io/?EIO=4&transport=websocket{params}"
        raw = await connect(url, max_size=None, open_timeout=REPLY_TIMEOUT_S, compression=None)
        opened = await asyncio.wait_for(raw.recv(), REPLY_TIMEOUT_S)
        if not str(opened).startswith("0"):
            raise RuntimeError(f"expected an Engine.IO open packet, got {opened!r}")
        await raw.send("40")
        joined = await asyncio.wait_for(raw.recv(), REPLY_TIMEOUT_S)
        if not str(joined).startswith("40"):
            raise RuntimeError(f"expected a Socket.IO connect, got {joined!r}")
        return SocketIO(raw)  # type: ignore[return-value]
    websocket = await connect(
        server.ws_url + query,
        subprotocols=[SUBPROTOCOL_JSON],  # type: ignore[list-item]
        additional_headers={"Authorization": f"Bearer {bearer}"},
        max_size=None,
        open_timeout=REPLY_TIMEOUT_S,
        ping_interval=None,  # the server pings; idle clients stay idle
        compression=compression,
    )
    first = json.loads(await asyncio.wait_for(websocket.recv(), REPLY_TIMEOUT_S))
    if first.get("type") != "welcome":
        raise RuntimeError(f"expected welcome, got {first}")
    return websocket


async def register_patients(server: Server, count: int) -> None:
    if server.target not in HUBS:
        return
    headers = {"Authorization": f"Bearer {token(Role.SERVICE, 'bench')}"}
    limit = asyncio.Semaphore(50)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as http:

        async def put(index: int) -> None:
            async with limit:
                for _ in range(REGISTER_ATTEMPTS):
                    reply = await http.put(
                        f"/api/v1/patients/p{index}",
                        json={"therapist_id": therapist_of(index), "timezone": "Europe/Berlin"},
                        headers=headers,
                        timeout=REPLY_TIMEOUT_S,
                    )
                    if reply.status_code != 429:
                        reply.raise_for_status()
                        return
                    # REST is rate-limited per token; a polite client waits as told.
                    await asyncio.sleep(float(reply.headers.get("Retry-After", "1")))
                raise RuntimeError(f"p{index}: still rate-limited after {REGISTER_ATTEMPTS} tries")

        await asyncio.gather(*(put(index) for index in range(count)))


class EventSource:
    """Valid events for one patient, one after another, ``EVENT_STEP`` apart from ``start``.

    The stream starts ``HISTORY_SPAN`` ago so that it reads like a live one (recent activity,
    streaks, low dropout risk) and stays in the past for up to 2,000 events per patient: far more
    than any run sends, and the hub refuses events over 24 h in the future.

    Formatted from templates rather than ``json.dumps`` so that building the load costs the
    client little: it shares the machine's two cores with the server.
    """

    KINDS = (
        '"kind":"exercise_completed","exercise":"mindfulness/breathing","duration_s":300',
        '"kind":"mood_checkin","score":{score}',
        '"kind":"progress_marker","marker":"INSIGHT_GAINED"',
        '"kind":"session_started","session_id":"s{serial}","mood_pre":6',
        '"kind":"session_ended","session_id":"s{serial}","status":"completed",'
        '"duration_s":3000,"mood_post":7,"topics":["anxiety","sleep"]',
        '"kind":"goal_updated","goal_id":"g1","status":"in_progress"',
    )

    def __init__(self, patient: str, seed: int, start: datetime) -> None:
        self.patient = patient
        self.serial = 0
        self._rng = random.Random(seed)
        self._at = start

    def _event(self, body: str) -> str:
        self.serial += 1
        self._at += EVENT_STEP
        return (
            f'{{"id":"{self.patient}-{self.serial}","patient_id":"{self.patient}",'
            f'"at":"{self._at.isoformat()}",{body}}}'
        )

    def activity(self) -> str:
        """An event that changes state and charts but never raises an alert."""
        template = self.KINDS[self.serial % len(self.KINDS)]
        body = template.format(score=self._rng.randint(4, 10), serial=self.serial // 6)
        return self._event(body)

    def crisis(self) -> str:
        return self._event(f'"kind":"mood_checkin","score":{self._rng.randint(1, 2)}')


def publish_frame(events: list[str]) -> str:
    return '{"type":"publish","events":[' + ",".join(events) + "]}"


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def close_all(sockets: list[ClientConnection]) -> None:
    # An abort, not a closing handshake: thousands of close frames would only slow teardown.
    for websocket in sockets:
        websocket.transport.abort()
    await asyncio.sleep(0.2)


# -- 1. durable throughput ----------------------------------------------------------------


class ServerCpu(TypedDict):
    """The server's CPU over a measuring window, as the throughput and latency runs report it."""

    cpu_us_per_event: float
    cpu_cores: float


def server_cpu(cpu_s: float, events: int, window_s: float) -> ServerCpu:
    """CPU time per event handled and cores kept busy, from the CPU seconds of one window."""
    return ServerCpu(cpu_us_per_event=cpu_s / max(events, 1) * 1e6, cpu_cores=cpu_s / window_s)


@dataclass
class Throughput:
    events_per_s: float
    ack_p50_ms: float
    ack_p99_ms: float
    frames: int
    cpu_us_per_event: float
    cpu_cores: float


async def measure_throughput(
    server: Server, scale: Scale, compression: str | None, profile: Path | None
) -> Throughput:
    await register_patients(server, scale.connections)
    start_at = datetime.now(UTC) - HISTORY_SPAN
    sockets = await asyncio.gather(
        *(
            open_ws(server, token(Role.PATIENT, f"p{index}"), compression)
            for index in range(scale.connections)
        )
    )
    began = time.perf_counter()
    window_start = began + scale.warmup_s
    window_end = window_start + scale.measure_s
    counted = 0
    latencies: list[float] = []

    async def publisher(index: int, websocket: ClientConnection) -> None:
        nonlocal counted
        source = EventSource(f"p{index}", index, start_at)
        while time.perf_counter() < window_end:
            frame = publish_frame([source.activity() for _ in range(scale.batch)])
            sent = time.perf_counter()
            await websocket.send(frame)
            reply = json.loads(await asyncio.wait_for(websocket.recv(), REPLY_TIMEOUT_S))
            done = time.perf_counter()
            if server.target != "relay":
                if reply.get("type") != "ack" or len(reply["accepted"]) != scale.batch:
                    raise RuntimeError(f"publish not fully accepted: {str(reply)[:300]}")
            elif reply.get("type") != "publish":
                raise RuntimeError(f"relay did not echo: {str(reply)[:300]}")
            if window_start <= done <= window_end:
                counted += scale.batch
                latencies.append(done - sent)

    async with (
        profiled(server, profile, scale.warmup_s + scale.measure_s),
        cpu_window(server, window_start, window_end) as cpu,
    ):
        await asyncio.gather(*(publisher(i, ws) for i, ws in enumerate(sockets)))
    await close_all(list(sockets))
    if not latencies:
        raise RuntimeError("no publish completed inside the measuring window")
    return Throughput(
        events_per_s=counted / scale.measure_s,
        ack_p50_ms=percentile(latencies, 0.50) * 1000,
        ack_p99_ms=percentile(latencies, 0.99) * 1000,
        frames=len(latencies),
        **server_cpu(cpu[0], counted, scale.measure_s),
    )


# -- 2. memory per idle connection --------------------------------------------------------


@dataclass
class Memory:
    per_connection_kib: float
    before_mib: float
    after_mib: float
    connections: int


async def measure_memory(server: Server, count: int, compression: str | None) -> Memory:
    # Warm up first so that lazily imported code and first-use caches are not counted.
    warm = [await open_ws(server, token(Role.PATIENT, f"w{i}"), compression) for i in range(20)]
    await close_all(warm)
    await asyncio.sleep(0.5)
    before = rss_bytes(server.pid)
    limit = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def one(index: int) -> ClientConnection:
        async with limit:
            return await open_ws(server, token(Role.PATIENT, f"p{index}"), compression)

    sockets = await asyncio.gather(*(one(index) for index in range(count)))
    await asyncio.sleep(MEMORY_SETTLE_S)
    after = rss_bytes(server.pid)
    await close_all(list(sockets))
    return Memory(
        per_connection_kib=(after - before) / count / 1024,
        before_mib=before / 2**20,
        after_mib=after / 2**20,
        connections=count,
    )
