"""``GET /openapi.json``: an OpenAPI 3.1 description of every REST endpoint the hub serves.

Theory of operation: the operations are declared once, as data (:data:`OPERATIONS`); each names
the pydantic model of its answer (``realtime.openapi_models``) and of its body, and the document's
``components.schemas`` are generated from those models. The same models validate real answers in
``tests/realtime/test_openapi.py``, so the document cannot drift from what the hub returns
without a test failing. The document is built on the first request and kept on the app's state.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import metadata
from typing import Annotated, Any

from pydantic import BaseModel, Field
from pydantic.json_schema import models_json_schema
from starlette.requests import Request
from starlette.responses import Response

from domain.events import Event
from realtime import openapi_models as m
from realtime.api import MAX_AUDIT_PAGE, MAX_ID_LENGTH, PatientRegistration
from realtime.api_analytics import DEFAULT_COMPARE_DAYS, MAX_COMPARE_DAYS
from realtime.api_patients import DEFAULT_SERIES_DAYS, MAX_REPORT_DAYS, MAX_SERIES_DAYS
from realtime.http import runtime_of
from realtime.settings import Settings

OPENAPI_VERSION = "3.1.0"
REF = "#/components/schemas/{model}"
JSON = "application/json"

ERROR_RESPONSES = {
    401: ("Unauthorized", "missing, expired or badly signed token (`unauthorized`)"),
    403: ("Forbidden", "outside the role's rights (`forbidden`); never reveals existence"),
    404: ("UnknownPatient", "no such patient (`unknown_patient`), told only to those allowed"),
    413: ("TooLarge", "body over the size limit or too many events (`too_large`)"),
    422: ("Invalid", "a wrong query parameter or body field, named in `field`"),
    429: ("RateLimited", "too many requests for this token (`rate_limited`)"),
}
READ_ERRORS = (401, 403, 404, 422, 429)
PRACTICE_ERRORS = (401, 403, 422, 429)


@dataclass(frozen=True, slots=True)
class Param:
    """One query or path parameter; ``schema`` is JSON Schema with its constraints."""

    name: str
    schema: dict[str, Any]
    description: str
    required: bool = False
    where: str = "query"


@dataclass(frozen=True, slots=True)
class Operation:
    """One method on one path, with what it answers."""

    method: str
    path: str
    tag: str
    summary: str
    answer: type[BaseModel] | None
    statuses: tuple[int, ...] = (200,)
    errors: tuple[int, ...] = READ_ERRORS
    params: tuple[Param, ...] = ()
    body: str | None = None
    public: bool = False
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


PATIENT = Param(
    "patient_id", {"type": "string", "minLength": 1, "maxLength": MAX_ID_LENGTH}, "", True, "path"
)
THERAPIST = Param(
    "therapist_id",
    {"type": "string"},
    "the practice to read (service and admin; a therapist always reads its own; "
    "without it service and admin read every patient)",
)
TZ = Param(
    "tz",
    {"type": "string", "default": "UTC", "examples": ["Europe/Berlin"]},
    "IANA time zone whose calendar (or hours) the figures follow",
)
PERIOD = Param(
    "period",
    {"type": "string", "enum": ["week", "month", "quarter", "year"], "default": "month"},
    "bucket size; the 12 buckets up to and including the current one",
)


def _days(default: int, high: int, what: str) -> Param:
    return Param(
        "days", {"type": "integer", "minimum": 1, "maximum": high, "default": default}, what
    )


def _date(name: str, what: str) -> Param:
    return Param(name, {"type": "string", "format": "date"}, what, required=True)


OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "put",
        "/api/v1/patients/{patient_id}",
        "patients",
        "Register a patient or change its therapist or time zone (service, admin)",
        m.PatientRecord,
        (200, 201),
        (401, 403, 413, 422, 429),
        (PATIENT,),
        body="PatientRegistration",
        description="201 when the patient is new, 200 when it changed. Unknown zone: 422.",
    ),
    Operation(
        "post",
        "/api/v1/events",
        "events",
        "Publish a batch of events; answered once the accepted ones are durable",
        m.Ack,
        errors=(401, 413, 422, 429),
        body="EventBatch",
        description="Each event is judged alone: a bad event is listed under `rejected` and the "
        "rest still count. Publishing an id again is a duplicate and changes nothing.",
    ),
    Operation(
        "get",
        "/api/v1/patients/{patient_id}/progress",
        "patient",
        "The patient's progress document",
        m.Progress,
        params=(PATIENT,),
    ),
    Operation(
        "get",
        "/api/v1/patients/{patient_id}/series",
        "patient",
        "Daily chart series (ProgressVizSeries) in the patient's zone, ending today",
        m.ProgressVizSeries,
        params=(PATIENT, _days(DEFAULT_SERIES_DAYS, MAX_SERIES_DAYS, "number of daily buckets")),
    ),
    Operation(
        "get",
        "/api/v1/patients/{patient_id}/milestones",
        "patient",
        "Every milestone reached, with celebration_shown",
        m.Milestones,
        params=(PATIENT,),
    ),
    Operation(
        "get",
        "/api/v1/patients/{patient_id}/insights",
        "patient",
        "The recommendations that hold now",
        m.Insights,
        params=(PATIENT,),
    ),
    Operation(
        "get",
        "/api/v1/patients/{patient_id}/report",
        "patient",
        "What a period of therapy achieved, with plain-language findings",
        m.Report,
        params=(
            PATIENT,
            _date("from", "first local day of the period"),
            _date("to", f"last local day (inclusive; not before from; < {MAX_REPORT_DAYS} days)"),
        ),
    ),
    Operation(
        "get",
        "/api/v1/analytics/overview",
        "analytics",
        "A practice at a glance",
        m.PracticeOverview,
        errors=PRACTICE_ERRORS,
        params=(THERAPIST, TZ),
    ),
    Operation(
        "get",
        "/api/v1/analytics/sessions/trends",
        "analytics",
        "Completed sessions and distinct patients per calendar bucket",
        m.SessionTrends,
        params=(
            PERIOD,
            Param("patient_id", {"type": "string"}, "one patient instead of a practice"),
            TZ,
            THERAPIST,
        ),
    ),
    Operation(
        "get",
        "/api/v1/analytics/topics",
        "analytics",
        "How often each topic tag comes up in completed sessions",
        m.Topics,
        errors=PRACTICE_ERRORS,
        params=(THERAPIST,),
    ),
    Operation(
        "get",
        "/api/v1/analytics/heatmap",
        "analytics",
        "Activity by weekday x hour in a chosen zone, with peaks",
        m.Heatmap,
        errors=PRACTICE_ERRORS,
        params=(THERAPIST, TZ),
    ),
    Operation(
        "get",
        "/api/v1/analytics/compare",
        "analytics",
        "2 to 10 patients side by side, each figure against the previous period",
        m.Comparison,
        params=(
            Param(
                "patient_ids",
                {"type": "string", "examples": ["p1,p2"]},
                "2 to 10 distinct patient ids, comma-separated (the parameter may repeat)",
                required=True,
            ),
            _days(DEFAULT_COMPARE_DAYS, MAX_COMPARE_DAYS, "length of each period in local days"),
        ),
    ),
    Operation(
        "get",
        "/api/v1/audit",
        "audit",
        "The audit trail of reads, newest first (admin)",
        m.AuditPage,
        errors=PRACTICE_ERRORS,
        params=(
            Param(
                "limit",
                {"type": "integer", "minimum": 1, "maximum": MAX_AUDIT_PAGE, "default": 100},
                "entries per page",
            ),
            Param(
                "before",
                {"type": "integer", "minimum": 1, "maximum": 2**62},
                "only entries with a smaller seq (the previous page's next_before)",
            ),
            Param("patient_id", {"type": "string"}, "only reads of this patient"),
        ),
    ),
    Operation(
        "get",
        "/healthz",
        "operations",
        "Liveness; 503 while the hub drains for shutdown",
        m.Health,
        (200, 503),
        (),
        public=True,
    ),
    Operation(
        "get",
        "/metrics",
        "operations",
        "Prometheus metrics",
        None,
        errors=(),
        public=True,
        extra={"content": {"text/plain; version=0.0.4": {"schema": {"type": "string"}}}},
    ),
    Operation(
        "get",
        "/openapi.json",
        "operations",
        "This document",
        None,
        errors=(),
        public=True,
        extra={"content": {JSON: {"schema": {"type": "object"}}}},
    ),
)

ANSWER_MODELS: dict[tuple[str, str], type[BaseModel]] = {
    (op.method.upper(), op.path): op.answer for op in OPERATIONS if op.answer is not None
}
"""What each operation answers on success, by (METHOD, path template)."""


class EventBatch(BaseModel):
    """``POST /api/v1/events`` body (events are validated one by one, so not a closed model)."""

    events: list[Annotated[Event, Field(discriminator="kind")]] = Field(min_length=1)


def _schemas(settings: Settings) -> dict[str, Any]:
    models: list[type[BaseModel]] = [
        *{op.answer for op in OPERATIONS if op.answer is not None},
        m.ApiErrorBody,
        PatientRegistration,
        EventBatch,
    ]
    ordered = sorted(models, key=lambda model: model.__name__)
    _, top = models_json_schema([(model, "validation") for model in ordered], ref_template=REF)
    schemas: dict[str, Any] = top["$defs"]
    events = schemas["EventBatch"]["properties"]["events"]
    events["maxItems"] = settings.max_events_per_publish
    return schemas


def _responses(op: Operation, settings: Settings) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for status in op.statuses:
        answer: dict[str, Any] = {"description": op.summary}
        if op.answer is not None:
            answer["content"] = {JSON: {"schema": {"$ref": REF.format(model=op.answer.__name__)}}}
        answer.update(op.extra)
        responses[str(status)] = answer
    for status in op.errors:
        responses[str(status)] = {"$ref": f"#/components/responses/{ERROR_RESPONSES[status][0]}"}
    return responses


def _operation(op: Operation, settings: Settings) -> dict[str, Any]:
    document: dict[str, Any] = {
        "operationId": f"{op.method}_{op.path.strip('/').replace('/', '_').replace('.', '_')}",
        "tags": [op.tag],
        "summary": op.summary,
        "responses": _responses(op, settings),
    }
    if op.description:
        document["description"] = op.description
    if op.public:
        document["security"] = []
    if op.params:
        document["parameters"] = [
            {
                "name": p.name,
                "in": p.where,
                "required": p.required,
                "schema": p.schema,
                **({"description": p.description} if p.description else {}),
            }
            for p in op.params
        ]
    if op.body is not None:
        document["requestBody"] = {
            "required": True,
            "description": f"JSON, at most {settings.max_body_bytes} bytes",
            "content": {JSON: {"schema": {"$ref": REF.format(model=op.body)}}},
        }
    return document


def _error_responses(settings: Settings) -> dict[str, Any]:
    body = {JSON: {"schema": {"$ref": REF.format(model="ApiErrorBody")}}}
    responses: dict[str, Any] = {
        name: {"description": what, "content": body} for name, what in ERROR_RESPONSES.values()
    }
    responses["Unauthorized"]["headers"] = {
        "WWW-Authenticate": {"schema": {"type": "string", "const": "Bearer"}}
    }
    responses["RateLimited"]["headers"] = {
        "Retry-After": {
            "description": "whole seconds until this token may call again",
            "required": True,
            "schema": {"type": "integer", "minimum": 1},
        }
    }
    responses["RateLimited"]["description"] += (
        f"; each token gets {settings.rest_rate_per_s:g} requests/s, bursts of "
        f"{settings.rest_rate_burst:g}"
    )
    return responses


def _version() -> str:
    try:
        return metadata.version("progress-hub")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "0.0.0"


def build_document(settings: Settings) -> dict[str, Any]:
    """The OpenAPI 3.1 document for a hub configured with ``settings``."""
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method] = _operation(op, settings)
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "progress-hub REST API",
            "version": _version(),
            "description": "Real-time progress service for therapy platforms; see docs/api.md "
            "for examples, access rules and the definition of every figure.",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "tags": [{"name": name} for name in dict.fromkeys(op.tag for op in OPERATIONS)],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "HS256 JWT with claims sub, role (patient, therapist, "
                    "service, admin) and exp",
                }
            },
            "schemas": _schemas(settings),
            "responses": _error_responses(settings),
        },
    }


async def openapi_json(request: Request) -> Response:
    """Serve the document, built once per app on the first request."""
    state = request.app.state
    body: bytes | None = getattr(state, "openapi_body", None)
    if body is None:
        document = build_document(runtime_of(request).settings)
        body = json.dumps(document, separators=(",", ":")).encode()
        state.openapi_body = body
    return Response(body, media_type=JSON)
