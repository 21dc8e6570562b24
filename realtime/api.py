"""REST endpoints (``PROTOCOL.md`` sections 2 and 5).

Every error body has the same shape: ``{"code": …, "detail": …}`` plus ``field`` on 422, with
the codes of the WebSocket ``error`` frame where one fits.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from domain.errors import UnknownTimezone
from realtime.auth import Principal, bearer_token, verify_token
from realtime.errors import Forbidden, RateLimited, Unauthorized, UnknownPatient

if TYPE_CHECKING:
    from realtime.runtime import Runtime

MAX_ID_LENGTH = 128


class ApiError(Exception):
    """An error answered with ``status`` and the common error body."""

    def __init__(self, status: int, code: str, detail: str, field: str | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.field = field


class PatientRegistration(BaseModel):
    model_config = ConfigDict(extra="forbid")

    therapist_id: str = Field(min_length=1, max_length=MAX_ID_LENGTH, strict=True)
    timezone: str = Field(min_length=1, max_length=64, strict=True)


def error_response(status: int, code: str, detail: str, field: str | None = None) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "detail": detail}
    if field is not None:
        body["field"] = field
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, headers=headers)


async def handle_api_error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, ApiError):
        return error_response(exc.status, exc.code, exc.detail, exc.field)
    if isinstance(exc, Unauthorized):
        return error_response(401, "unauthorized", str(exc))
    if isinstance(exc, Forbidden):
        return error_response(403, "forbidden", str(exc))
    if isinstance(exc, UnknownPatient):
        return error_response(404, "unknown_patient", str(exc))
    if isinstance(exc, RateLimited):
        response = error_response(429, "rate_limited", str(exc))
        response.headers["Retry-After"] = str(max(1, round(exc.retry_after_s)))
        return response
    if isinstance(exc, HTTPException):
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "bad_request")
        return error_response(exc.status_code, code, str(exc.detail))
    raise exc


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def principal_of(request: Request) -> Principal:
    runtime = runtime_of(request)
    return verify_token(runtime.settings.secret, bearer_token(request.headers.get("authorization")))


async def json_body(request: Request) -> Any:
    limit = runtime_of(request).settings.max_body_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, "too_large", f"body over {limit} bytes")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise ApiError(413, "too_large", f"body over {limit} bytes")
    try:
        return json.loads(body)
    except ValueError:
        raise ApiError(422, "bad_request", "body is not valid JSON", "body") from None


def _first_field_error(error: ValidationError) -> ApiError:
    item = error.errors(include_url=False)[0]
    field = ".".join(str(part) for part in item["loc"]) or "body"
    return ApiError(422, "invalid", f"{field}: {item['msg']}", field)


async def put_patient(request: Request) -> Response:
    principal = principal_of(request)
    patient_id = request.path_params["patient_id"]
    if len(patient_id) > MAX_ID_LENGTH:
        raise ApiError(
            422, "invalid", f"patient_id: at most {MAX_ID_LENGTH} characters", "patient_id"
        )
    if not principal.may_register_patients():
        raise Forbidden("only service or admin tokens register patients")
    try:
        registration = PatientRegistration.model_validate(await json_body(request))
    except ValidationError as error:
        raise _first_field_error(error) from None
    try:
        patient, created = await runtime_of(request).service.register(
            principal, patient_id, registration.therapist_id, registration.timezone
        )
    except UnknownTimezone as error:
        raise ApiError(422, "invalid", f"timezone: {error}", "timezone") from None
    return JSONResponse(
        {
            "patient_id": patient.patient_id,
            "therapist_id": patient.therapist_id,
            "timezone": patient.timezone,
            "created": created,
        },
        status_code=201 if created else 200,
    )


async def get_progress(request: Request) -> Response:
    runtime = runtime_of(request)
    tracker = runtime.service.readable_patient(
        principal_of(request), request.path_params["patient_id"]
    )
    return JSONResponse(tracker.snapshot(runtime.clock()))


async def post_events(request: Request) -> Response:
    runtime = runtime_of(request)
    principal = principal_of(request)
    body = await json_body(request)
    events = body.get("events") if isinstance(body, dict) else None
    if not isinstance(events, list) or not events:
        raise ApiError(422, "bad_request", "events: must be a non-empty list", "events")
    limit = runtime.settings.max_events_per_publish
    if len(events) > limit:
        raise ApiError(413, "too_large", f"events: at most {limit} per request", "events")
    result = await runtime.service.publish(principal, events)
    return JSONResponse(result.to_wire())


async def healthz(request: Request) -> Response:
    runtime = runtime_of(request)
    status = "draining" if runtime.draining else "ok"
    return JSONResponse({"status": status}, status_code=503 if runtime.draining else 200)


async def metrics(request: Request) -> Response:
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    runtime = runtime_of(request)
    runtime.refresh_gauges()
    return Response(generate_latest(runtime.metrics.registry), media_type=CONTENT_TYPE_LATEST)


ROUTES = [
    Route("/api/v1/patients/{patient_id}", put_patient, methods=["PUT"]),
    Route("/api/v1/patients/{patient_id}/progress", get_progress, methods=["GET"]),
    Route("/api/v1/events", post_events, methods=["POST"]),
    Route("/healthz", healthz, methods=["GET"]),
    Route("/metrics", metrics, methods=["GET"]),
]
