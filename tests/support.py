"""Shared test helpers: tokens, events, and a real uvicorn server on a loopback port."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import uvicorn

from realtime.app import create_app
from realtime.auth import Role, issue_token
from realtime.runtime import Runtime
from realtime.server import HubServer
from realtime.settings import Settings

SECRET = "test-secret-0123456789abcdef-0123456789"
STARTUP_TIMEOUT_S = 15.0


def token(role: str, sub: str, ttl_s: int = 3600, secret: str = SECRET) -> str:
    return issue_token(secret, Role(role), sub, ttl_s, datetime.now(UTC))


def settings_for(db_path: Path, **overrides: Any) -> Settings:
    return Settings(secret=SECRET, db_path=db_path).with_values(**overrides)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until(condition: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    """Poll ``condition`` until it holds; fail loudly after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        time.sleep(0.01)


async def eventually(condition: Callable[[], bool], timeout: float = 15.0, what: str = "") -> None:
    """``wait_until`` for a test on the event loop: polls without blocking it."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


class OnLoopback:
    """Where a hub listening on 127.0.0.1 answers: its REST base and its WebSocket URL."""

    def listening_port(self) -> int:
        raise NotImplementedError

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.listening_port()}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.listening_port()}/ws"


@dataclass
class LiveServer(OnLoopback):
    """A hub served by uvicorn (websockets-sansio) in a background thread."""

    settings: Settings
    server: HubServer
    thread: threading.Thread

    def listening_port(self) -> int:
        return self.settings.port

    @property
    def runtime(self) -> Runtime:
        return self.server.runtime

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)
        assert not self.thread.is_alive(), "server did not stop"


def start_server(settings: Settings, clock: Callable[[], datetime] | None = None) -> LiveServer:
    settings = replace(settings, port=free_port())
    app = create_app(settings, clock=clock)
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=settings.port,
        ws="websockets-sansio",
        ws_max_size=settings.limits.max_frame_bytes,
        ws_per_message_deflate=False,
        lifespan="on",
        access_log=False,
        log_config=None,
        log_level="warning",
    )
    server = HubServer(config, app.state.runtime)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    wait_until(lambda: server.started or not thread.is_alive(), STARTUP_TIMEOUT_S, "startup")
    if not server.started:
        raise RuntimeError("server failed to start")
    return LiveServer(settings, server, thread)


@contextlib.contextmanager
def serving(settings: Settings) -> Iterator[LiveServer]:
    """A hub started for the ``with`` block and stopped after it, however it ends."""
    server = start_server(settings)
    try:
        yield server
    finally:
        server.stop()


def session_events(
    patient_id: str,
    session_id: str,
    day: str,
    *,
    duration_s: float = 3000,
    status: str = "completed",
) -> list[dict[str, Any]]:
    """A started/ended pair for one session on ``day`` (YYYY-MM-DD) at 10:00 UTC."""
    return [
        {
            "id": f"{session_id}-start",
            "kind": "session_started",
            "patient_id": patient_id,
            "at": f"{day}T10:00:00+00:00",
            "session_id": session_id,
            "mood_pre": 4,
        },
        {
            "id": f"{session_id}-end",
            "kind": "session_ended",
            "patient_id": patient_id,
            "at": f"{day}T10:50:00+00:00",
            "session_id": session_id,
            "status": status,
            "duration_s": duration_s,
            "mood_post": 6,
            "topics": ["anxiety"],
        },
    ]


class StalledClient:
    """A WebSocket client that reads only when told to, like a frozen browser tab.

    It speaks through websockets' sans-I/O protocol over a plain socket with a tiny receive
    buffer, so once it stops reading, the hub's writes back up within a few frames.
    """

    def __init__(self, port: int, bearer: str) -> None:
        from websockets.client import ClientProtocol
        from websockets.uri import parse_uri

        self._socket = socket.socket()
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self._socket.connect(("127.0.0.1", port))
        self._socket.settimeout(15)
        self._protocol = ClientProtocol(parse_uri(f"ws://127.0.0.1:{port}/ws"), max_size=None)
        request = self._protocol.connect()
        request.headers["Authorization"] = f"Bearer {bearer}"
        self._protocol.send_request(request)
        self._flush()
        self.received: list[str] = []

    def _flush(self) -> None:
        for chunk in self._protocol.data_to_send():
            if chunk:
                self._socket.sendall(chunk)

    def send_frame(self, frame: Any) -> None:
        """Send any frame as it is, even one no well-behaved client would."""
        self._protocol.send_frame(frame)
        self._flush()

    def send_text(self, text: str) -> None:
        self._protocol.send_text(text.encode())
        self._flush()

    def read_until_closed(self, timeout: float = 20.0) -> int | None:
        """Read everything the hub sends until it closes; returns the close code."""
        from websockets.frames import Close, Frame, Opcode

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                data = self._socket.recv(65536)
            except (TimeoutError, OSError):
                break
            if not data:
                self._protocol.receive_eof()
            else:
                self._protocol.receive_data(data)
            for event in self._protocol.events_received():
                if not isinstance(event, Frame):
                    continue
                if event.opcode is Opcode.TEXT:
                    self.received.append(bytes(event.data).decode())
                elif event.opcode is Opcode.CLOSE:
                    return Close.parse(bytes(event.data)).code
            self._flush()
            if not data:
                break
        return None

    def read_one(self) -> str:
        from websockets.frames import Frame, Opcode

        while not self.received:
            data = self._socket.recv(65536)
            if not data:
                raise ConnectionError("closed")
            self._protocol.receive_data(data)
            for event in self._protocol.events_received():
                if isinstance(event, Frame) and event.opcode is Opcode.TEXT:
                    self.received.append(bytes(event.data).decode())
        return self.received.pop(0)

    def close(self) -> None:
        self._socket.close()
