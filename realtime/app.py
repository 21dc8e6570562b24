"""The ASGI app: ``create_app`` wires settings, store, hub and routes, with a lifespan."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from importlib import resources

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route, WebSocketRoute

from domain.errors import InvalidQuery
from realtime.errors import HubError
from realtime.metrics import HubMetrics
from realtime.openapi import document as openapi
from realtime.rest import analytics as api_analytics
from realtime.rest import events as api
from realtime.rest import outcomes as api_outcomes
from realtime.rest import patients as api_patients
from realtime.rest.http import ApiError, handle_api_error
from realtime.runtime import Runtime
from realtime.settings import Settings
from realtime.ws.connection import serve_websocket
from storage.store import ProgressStore, SqliteStore


def _utc_now() -> datetime:
    return datetime.now(UTC)


async def dashboard(request: Request) -> Response:
    page = resources.files("clients").joinpath("dashboard/index.html").read_text("utf-8")
    return HTMLResponse(page, headers={"Cache-Control": "no-store"})


def create_app(
    settings: Settings,
    *,
    store: ProgressStore | None = None,
    clock: Callable[[], datetime] | None = None,
) -> Starlette:
    """Build the hub.

    Args:
        settings: the configuration.
        store: persistence; a :class:`~storage.store.SqliteStore` on ``settings.db_path``
            when omitted.
        clock: the current instant; the system clock when omitted.
    """
    metrics = HubMetrics()
    if store is None:
        store = SqliteStore(
            settings.db_path,
            synchronous=settings.synchronous,
            on_commit=metrics.writer_batch_rows.observe,
        )
    runtime = Runtime(settings, store, clock or _utc_now, metrics)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    app = Starlette(
        routes=[
            *api.ROUTES,
            *api_patients.ROUTES,
            *api_analytics.ROUTES,
            *api_outcomes.ROUTES,
            Route("/", dashboard, methods=["GET"]),
            Route("/dashboard", dashboard, methods=["GET"]),
            Route("/openapi.json", openapi.openapi_json, methods=["GET"]),
            WebSocketRoute("/ws", serve_websocket),
        ],
        exception_handlers={
            ApiError: handle_api_error,
            HubError: handle_api_error,
            InvalidQuery: handle_api_error,
            HTTPException: handle_api_error,
        },
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    return app
