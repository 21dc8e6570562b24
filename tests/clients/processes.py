"""Real processes for client tests: a hub run by the ``progress-hub`` command (so it can be
killed with SIGKILL), and a TCP relay that can cut every connection through it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support import SECRET, OnLoopback, free_port, token, wait_until

HUB_STARTUP_S = 30.0
SERVICE_TOKEN = token("service", "platform")


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@dataclass
class HubProcess(OnLoopback):
    """``progress-hub serve`` on a database file; ``kill()`` is a SIGKILL, like a crash."""

    db: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    def listening_port(self) -> int:
        return self.port

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "realtime.cli",
                "serve",
                "--port",
                str(self.port),
                "--db",
                str(self.db),
                "--log-level",
                "warning",
            ],
            env={**os.environ, "PROGRESS_HUB_SECRET": SECRET},
        )
        process = self.process
        wait_until(
            lambda: _healthy(self.port) or process.poll() is not None, HUB_STARTUP_S, "hub up"
        )
        assert process.poll() is None, "the hub exited at start-up"

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()

    def rest(self, method: str, path: str, body: Any = None, bearer: str = SERVICE_TOKEN) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.http_url}{path}", data=data, method=method)
        request.add_header("Authorization", f"Bearer {bearer}")
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def register(self, patient_id: str, therapist_id: str = "t1") -> None:
        self.rest(
            "PUT",
            f"/api/v1/patients/{patient_id}",
            {"therapist_id": therapist_id, "timezone": "Europe/Berlin"},
        )


class Relay:
    """A loopback TCP relay to the hub; ``cut()`` drops every connection through it at once,
    as a network outage does, while the hub itself stays up."""

    def __init__(self, target_port: int, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.target_port = target_port
        self.loop = loop  # the loop it runs on, when that is another thread's
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.connections = 0

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self._writers.update((writer, up_writer))

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._writers.difference_update((writer, up_writer))

    def cut(self) -> None:
        for writer in list(self._writers):
            transport = writer.transport
            transport.abort()
        self._writers.clear()

    def cut_from_another_thread(self) -> None:
        assert self.loop is not None, "a relay on this thread's loop: call cut()"
        asyncio.run_coroutine_threadsafe(self._cut(), self.loop).result(timeout=10)

    async def _cut(self) -> None:
        self.cut()

    async def close(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


def exercises(patient_id: str, count: int, prefix: str = "x") -> list[dict[str, Any]]:
    """``count`` one-minute exercises over the last days: each adds 1 to the REST totals."""
    return [
        {
            "id": f"{prefix}{n}",
            "kind": "exercise_completed",
            "patient_id": patient_id,
            "at": f"2026-11-{1 + n % 28:02d}T{8 + n % 12:02d}:{n % 60:02d}:00+00:00",
            "exercise": "mindfulness/breathing",
            "duration_s": 60,
        }
        for n in range(count)
    ]


def exercises_completed(hub: HubProcess, patient_id: str) -> int:
    progress = hub.rest("GET", f"/api/v1/patients/{patient_id}/progress")
    return int(progress["engagement"]["exercises_completed"])
