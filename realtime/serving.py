"""The uvicorn options the hub serves with, stated once.

The benchmark's peers (``bench/peers``) serve with the same options, so a comparison measures
the app and nothing else.
"""

from __future__ import annotations

from typing import Any, Literal

import uvicorn

from realtime.settings import DEFAULT_HOST, DEFAULT_LIMITS, DEFAULT_TIMERS, Limits, Timers


def serving_config(
    app: Any,
    port: int,
    *,
    host: str = DEFAULT_HOST,
    limits: Limits = DEFAULT_LIMITS,
    timers: Timers = DEFAULT_TIMERS,
    lifespan: Literal["on", "off"] = "on",
    log_level: str = "warning",
) -> uvicorn.Config:
    """A uvicorn configuration: sans-I/O websockets, httptools, no compression, no access log."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        ws="websockets-sansio",
        http="httptools",
        ws_max_size=limits.max_frame_bytes,
        ws_ping_interval=timers.ping_interval_s,
        ws_ping_timeout=timers.ping_timeout_s,
        # Off, as on every broadcast path worth copying: a zlib pair costs ~40 KiB per idle
        # connection (measured: 75 -> 35 KiB), and frames are encoded once for all subscribers.
        ws_per_message_deflate=False,
        lifespan=lifespan,
        access_log=False,
        log_config=None,
        log_level=log_level,
        timeout_graceful_shutdown=int(timers.shutdown_grace_s),
    )
