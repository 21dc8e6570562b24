"""Shared test helpers: tokens, events, and a real uvicorn server on a loopback port."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import uvicorn

from realtime.app import create_app
from realtime.auth import Role, issue_token
from realtime.server import HubServer
from realtime.settings import Settings

SECRET = "test-secret-0123456789abcdef-0123456789"
STARTUP_TIMEOUT_S = 15.0


def token(role: str, sub: str, ttl_s: int = 3600, secret: str = SECRET) -> str:
    return issue_token(secret, Role(role), sub, ttl_s, datetime.now(UTC))


def settings_for(db_path: Path, **overrides: Any) -> Settings:
    return replace(Settings(secret=SECRET, db_path=db_path), **overrides)


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


@dataclass
class LiveServer:
    """A hub served by uvicorn (websockets-sansio) in a background thread."""

    settings: Settings
    server: HubServer
    thread: threading.Thread

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.settings.port}/ws"

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
        ws_max_size=settings.max_frame_bytes,
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
