"""REST: patient registration, event ingest, audit, health and metrics (``PROTOCOL.md`` §2, §5)."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from domain.errors import UnknownTimezone
from realtime.errors import BadRequest, Forbidden, InvalidRequest, TooLarge
from realtime.rest.http import (
    invalid,
    json_body,
    location_zone,
    principal_of,
    query_int,
    reject_unknown_params,
    runtime_of,
)

MAX_ID_LENGTH = 128
MAX_AUDIT_PAGE = 1000


class PatientRegistration(BaseModel):
    model_config = ConfigDict(extra="forbid")

    therapist_id: str = Field(min_length=1, max_length=MAX_ID_LENGTH, strict=True)
    timezone: str = Field(min_length=1, max_length=64, strict=True)


def _first_field_error(error: ValidationError) -> InvalidRequest:
    item = error.errors(include_url=False)[0]
    field = ".".join(str(part) for part in item["loc"]) or "body"
    return invalid(field, item["msg"])


async def put_patient(request: Request) -> Response:
    principal = principal_of(request)
    patient_id = request.path_params["patient_id"]
    if len(patient_id) > MAX_ID_LENGTH:
        raise invalid("patient_id", f"at most {MAX_ID_LENGTH} characters")
    if not principal.may_register_patients():
        raise Forbidden("only service or admin tokens register patients")
    try:
        registration = PatientRegistration.model_validate(await json_body(request))
    except ValidationError as error:
        raise _first_field_error(error) from None
    location_zone("timezone", registration.timezone)
    try:
        patient, created = await runtime_of(request).service.register(
            principal, patient_id, registration.therapist_id, registration.timezone
        )
    except UnknownTimezone as error:
        raise invalid("timezone", str(error)) from None
    return JSONResponse(
        {
            "patient_id": patient.patient_id,
            "therapist_id": patient.therapist_id,
            "timezone": patient.timezone,
            "created": created,
        },
        status_code=201 if created else 200,
    )


async def post_events(request: Request) -> Response:
    runtime = runtime_of(request)
    principal = principal_of(request)
    body = await json_body(request)
    events = body.get("events") if isinstance(body, dict) else None
    if not isinstance(events, list) or not events:
        raise BadRequest("events: must be a non-empty list", field="events")
    limit = runtime.settings.limits.max_events_per_publish
    if len(events) > limit:
        raise TooLarge(f"events: at most {limit} per request", field="events")
    result = await runtime.service.publish(principal, events)
    runtime.metrics.events_from(result)
    return JSONResponse(result.to_wire())


async def get_audit(request: Request) -> Response:
    principal = principal_of(request)
    if not principal.may_read_audit():
        raise Forbidden("only admin tokens read the audit log")
    reject_unknown_params(request, {"limit", "before", "patient_id"})
    limit = query_int(request, "limit", 100, 1, MAX_AUDIT_PAGE)
    before = request.query_params.get("before")
    before_seq = query_int(request, "before", 0, 1, 2**62) if before is not None else None
    runtime = runtime_of(request)
    await runtime.audit.flush()  # so an admin sees reads up to this very moment
    entries = await runtime.store.read_audit(
        limit=limit, before_seq=before_seq, patient_id=request.query_params.get("patient_id")
    )
    next_before = entries[-1].seq if len(entries) == limit else None
    return JSONResponse(
        {"entries": [entry.to_wire() for entry in entries], "next_before": next_before}
    )


async def healthz(request: Request) -> Response:
    runtime = runtime_of(request)
    status = "draining" if runtime.draining else "ok"
    return JSONResponse({"status": status}, status_code=503 if runtime.draining else 200)


async def metrics(request: Request) -> Response:
    runtime = runtime_of(request)
    runtime.refresh_gauges()
    return Response(generate_latest(runtime.metrics.registry), media_type=CONTENT_TYPE_LATEST)
