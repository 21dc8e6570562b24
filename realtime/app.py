"""The ASGI app: ``create_app`` wires settings, store, hub and routes, with a lifespan."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from importlib import resources

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from domain.errors import InvalidQuery
from realtime.errors import HubError
from realtime.metrics import HubMetrics
from realtime.openapi import document as openapi
from realtime.rest import alerts as api_alerts
from realtime.rest import analytics as api_analytics
from realtime.rest import events as api
from realtime.rest import outcomes as api_outcomes
from realtime.rest import patients as api_patients
from realtime.rest.http import handle_api_error
from realtime.runtime import Runtime
from realtime.settings import Settings
from realtime.ws.endpoint import serve_websocket
from storage.store import ProgressStore, SqliteStore


def _utc_now() -> datetime:
    return datetime.now(UTC)


async def dashboard(request: Request) -> Response:
    page = resources.files("clients").joinpath("dashboard/index.html").read_text("utf-8")
    return HTMLResponse(page, headers={"Cache-Control": "no-store"})


# The whole HTTP surface in one table (PROTOCOL.md section 5): method, path, endpoint.
_REST: tuple[tuple[str, str, Callable[[Request], Awaitable[Response]]], ...] = (
    ("PUT", "/api/v1/patients/{patient_id}", api.put_patient),
    ("POST", "/api/v1/events", api.post_events),
    ("GET", "/api/v1/audit", api.get_audit),
    ("GET", "/healthz", api.healthz),
    ("GET", "/metrics", api.metrics),
    ("GET", "/api/v1/patients/{patient_id}/report", api_patients.get_report),
    ("GET", "/api/v1/patients/{patient_id}/progress", api_patients.get_progress),
    ("GET", "/api/v1/patients/{patient_id}/series", api_patients.get_series),
    ("GET", "/api/v1/patients/{patient_id}/milestones", api_patients.get_milestones),
    ("GET", "/api/v1/patients/{patient_id}/insights", api_patients.get_insights),
    ("GET", "/api/v1/patients/{patient_id}/outcomes", api_outcomes.get_patient_outcomes),
    ("GET", "/api/v1/analytics/compare", api_analytics.get_compare),
    ("GET", "/api/v1/analytics/overview", api_analytics.get_overview),
    ("GET", "/api/v1/analytics/sessions/trends", api_analytics.get_trends),
    ("GET", "/api/v1/analytics/topics", api_analytics.get_topics),
    ("GET", "/api/v1/analytics/heatmap", api_analytics.get_heatmap),
    ("GET", "/api/v1/analytics/outcomes", api_outcomes.get_practice_outcomes),
    ("GET", "/api/v1/alerts", api_alerts.list_alerts),
    ("POST", "/api/v1/alerts/{alert_id}/acknowledge", api_alerts.acknowledge_alert),
    ("POST", "/api/v1/alerts/{alert_id}/resolve", api_alerts.resolve_alert),
    ("GET", "/", dashboard),
    ("GET", "/dashboard", dashboard),
    ("GET", "/openapi.json", openapi.openapi_json),
)


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
            synchronous=settings.durability.synchronous,
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
            *(Route(path, endpoint, methods=[method]) for method, path, endpoint in _REST),
            # The dashboard's ES modules and styles, shipped as package data of clients/.
            Mount("/static", StaticFiles(packages=[("clients", "static")]), name="static"),
            WebSocketRoute("/ws", serve_websocket),
        ],
        exception_handlers={
            HubError: handle_api_error,
            InvalidQuery: handle_api_error,
            HTTPException: handle_api_error,
        },
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    return app
