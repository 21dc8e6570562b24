"""``GET /openapi.json``: an OpenAPI 3.1 description of every REST endpoint the hub serves.

Theory of operation: the operations are declared once, as data (:data:`OPERATIONS`); each names
the pydantic model of its answer (``realtime.openapi.models``) and of its body, and the document's
``components.schemas`` are generated from those models. The same models validate real answers in
``tests/realtime/test_openapi.py``, so the document cannot drift from what the hub returns
without a test failing. The document is built on the first request and kept on the app's state.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import metadata
from typing import Annotated, Any

from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel, Field
from pydantic.json_schema import models_json_schema
from starlette.requests import Request
from starlette.responses import Response

from domain.events import Event
from domain.reports import MAX_COMPARED, MIN_COMPARED
from realtime.openapi import models as m
from realtime.openapi import outcomes as om
from realtime.openapi import practice as pm
from realtime.rest.analytics import DEFAULT_COMPARE_DAYS, MAX_COMPARE_DAYS
from realtime.rest.events import MAX_AUDIT_PAGE, MAX_ID_LENGTH, PatientRegistration
from realtime.rest.http import location_zones, runtime_of
from realtime.rest.patients import DEFAULT_SERIES_DAYS, MAX_REPORT_DAYS, MAX_SERIES_DAYS
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
    answer: type[BaseModel] | None
    summary: str
    params: tuple[Param, ...] = ()
    statuses: tuple[int, ...] = (200,)
    errors: tuple[int, ...] = READ_ERRORS
    body: str | None = None
    public: bool = False
    content: dict[str, Any] | None = None

    @property
    def tag(self) -> str:
        parts = self.path.split("/")
        return parts[3] if self.path.startswith("/api/v1/") else "operations"


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
    {"type": "string", "enum": list(location_zones()), "default": "UTC"},
    "IANA location zone whose calendar (or hours) the figures follow",
)
PERIOD = Param(
    "period",
    {"type": "string", "enum": ["week", "month", "quarter", "year"], "default": "month"},
    "bucket size; the 12 buckets up to and including the current one",
)
ONE_PATIENT = Param("patient_id", {"type": "string"}, "one patient instead of a practice")
_COMPARED_ID = f"[^,\\s]{{1,{MAX_ID_LENGTH}}}"
PATIENT_IDS = Param(
    "patient_ids",
    {
        "type": "string",
        "pattern": f"^{_COMPARED_ID}(,{_COMPARED_ID}){{{MIN_COMPARED - 1},{MAX_COMPARED - 1}}}$",
        "examples": ["p1,p2"],
    },
    f"{MIN_COMPARED} to {MAX_COMPARED} patient ids, comma-separated, each named once (a "
    "repeated id is 422)",
    required=True,
)
AUDIT_PARAMS = (
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
)
ALERT = Param("alert_id", {"type": "string"}, "", True, "path")
ALERT_ERRORS = (401, 403, 404, 422, 429)
ALERT_PARAMS = (
    Param(
        "state",
        {"type": "string", "enum": ["open", "acknowledged", "resolved", "all"], "default": "open"},
        "which alerts",
    ),
    Param("patient_id", {"type": "string"}, "one patient's alerts"),
    Param("severity", {"type": "string", "enum": ["critical", "warning"]}, "one severity"),
    Param("limit", {"type": "integer", "minimum": 1, "maximum": 500, "default": 100}, "per page"),
    Param("before", {"type": "string"}, "an alert_id: only older alerts (next_before)"),
)
REPORT_PARAMS = (
    PATIENT,
    Param("from", {"type": "string", "format": "date"}, "first local day", required=True),
    Param(
        "to",
        {"type": "string", "format": "date"},
        f"last local day, inclusive; not before from; less than {MAX_REPORT_DAYS} days later",
        required=True,
    ),
)


def _days(default: int, high: int, what: str) -> Param:
    schema = {"type": "integer", "minimum": 1, "maximum": high, "default": default}
    return Param("days", schema, what)


P = "/api/v1/patients/{patient_id}"
A = "/api/v1/analytics"
# fmt: off
OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "put", P, m.PatientRecord, "Register a patient (201) or change its therapist or zone (200)",
        (PATIENT,), (200, 201), (401, 403, 413, 422, 429), "PatientRegistration",
    ),
    Operation(
        "post", "/api/v1/events", m.Ack, "Publish 1-500 events, each judged alone; answered "
        "once the accepted ones are durable", errors=(401, 413, 422, 429), body="EventBatch",
    ),
    Operation("get", f"{P}/progress", m.Progress, "The patient's progress document", (PATIENT,)),
    Operation(
        "get", f"{P}/series", m.ProgressVizSeries, "Daily chart series in the patient's zone",
        (PATIENT, _days(DEFAULT_SERIES_DAYS, MAX_SERIES_DAYS, "number of daily buckets")),
    ),
    Operation("get", f"{P}/milestones", m.Milestones, "Every milestone reached", (PATIENT,)),
    Operation("get", f"{P}/insights", m.Insights, "The recommendations that hold now", (PATIENT,)),
    Operation(
        "get", f"{P}/outcomes", om.PatientOutcomes, "Validated measures: baseline, latest, "
        "reliable change, recovery and every score", (PATIENT,),
    ),
    Operation("get", f"{P}/report", m.Report, "What a period of therapy achieved", REPORT_PARAMS),
    Operation(
        "get", f"{A}/overview", pm.PracticeOverview, "A practice at a glance", (THERAPIST, TZ),
        errors=PRACTICE_ERRORS,
    ),
    Operation(
        "get", f"{A}/outcomes", om.PracticeOutcomes, "Reliable improvement and recovery rates "
        "by instrument", (THERAPIST,), errors=PRACTICE_ERRORS,
    ),
    Operation(
        "get", f"{A}/sessions/trends", pm.SessionTrends, "Completed sessions per calendar bucket",
        (PERIOD, ONE_PATIENT, TZ, THERAPIST),
    ),
    Operation(
        "get", f"{A}/topics", pm.Topics, "Topic tags of completed sessions", (THERAPIST,),
        errors=PRACTICE_ERRORS,
    ),
    Operation(
        "get", f"{A}/heatmap", pm.Heatmap, "Activity by weekday x hour and peaks", (THERAPIST, TZ),
        errors=PRACTICE_ERRORS,
    ),
    Operation(
        "get", f"{A}/compare", pm.Comparison, "2-10 patients against their previous period",
        (PATIENT_IDS, _days(DEFAULT_COMPARE_DAYS, MAX_COMPARE_DAYS, "period length in days")),
    ),
    Operation(
        "get", "/api/v1/audit", m.AuditPage, "Reads of patient data, newest first (admin)",
        AUDIT_PARAMS, errors=PRACTICE_ERRORS,
    ),
    Operation(
        "get", "/api/v1/alerts", m.AlertList, "The alert inbox, newest first", ALERT_PARAMS,
        errors=PRACTICE_ERRORS,
    ),
    Operation(
        "post", "/api/v1/alerts/{alert_id}/acknowledge", m.Alert,
        "Acknowledge an alert (body optional: note)", (ALERT,), errors=ALERT_ERRORS,
    ),
    Operation(
        "post", "/api/v1/alerts/{alert_id}/resolve", m.Alert,
        "Resolve an alert (body optional: note)", (ALERT,), errors=ALERT_ERRORS,
    ),
    Operation(
        "get", "/healthz", m.Health, "Liveness; 503 while draining", (), (200, 503), (), public=True
    ),
    Operation(
        "get", "/metrics", None, "Prometheus metrics", errors=(), public=True,
        content={CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}},
    ),
    Operation(
        "get", "/openapi.json", None, "This document", errors=(), public=True,
        content={JSON: {"schema": {"type": "object"}}},
    ),
)
# fmt: on

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
    events["maxItems"] = settings.limits.max_events_per_publish
    timezone = schemas["PatientRegistration"]["properties"]["timezone"]
    timezone["enum"] = list(location_zones())
    timezone["description"] = "an IANA location zone (not Factory, localtime or posixrules)"
    return schemas


def _responses(op: Operation, settings: Settings) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for status in op.statuses:
        answer: dict[str, Any] = {"description": op.summary}
        if op.answer is not None:
            answer["content"] = {JSON: {"schema": {"$ref": REF.format(model=op.answer.__name__)}}}
        if op.content is not None:
            answer["content"] = op.content
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
            "description": f"JSON, at most {settings.limits.max_body_bytes} bytes",
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
        f"; each token gets {settings.limits.rest_rate_per_s:g} requests/s, bursts of "
        f"{settings.limits.rest_rate_burst:g}"
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
