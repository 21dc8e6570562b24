"""REST practice analytics: overview, session trends, topics, heatmap (``PROTOCOL.md`` §5).

Each answer is computed from aggregates the trackers keep as events arrive, never by
rescanning events. ``therapist_id`` selects a practice for service and admin callers; a
therapist always gets its own.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from domain.analytics import (
    PERIODS,
    activity_heatmap,
    practice_overview,
    session_trends,
    topic_breakdown,
)
from domain.progress import PatientProgress
from domain.reports import MAX_COMPARED, MIN_COMPARED, compare_patients
from realtime.rest.http import (
    invalid,
    principal_of,
    query_choice,
    query_int,
    query_tz,
    reject_unknown_params,
    runtime_of,
)


def _practice(request: Request, action: str, allowed: set[str]) -> list[PatientProgress]:
    reject_unknown_params(request, allowed | {"therapist_id"})
    runtime = runtime_of(request)
    principal = principal_of(request)
    trackers, scope = runtime.service.readable_practice(
        principal, request.query_params.get("therapist_id")
    )
    runtime.audit.record(principal, action, scope=scope)
    return trackers


async def get_overview(request: Request) -> Response:
    trackers = _practice(request, "analytics.overview", {"tz"})
    tz = query_tz(request)
    return JSONResponse(practice_overview(trackers, runtime_of(request).clock(), tz))


async def get_trends(request: Request) -> Response:
    reject_unknown_params(request, {"period", "patient_id", "tz", "therapist_id"})
    period = query_choice(request, "period", PERIODS, "month")
    tz = query_tz(request)
    patient_id = request.query_params.get("patient_id")
    runtime = runtime_of(request)
    if patient_id is None:
        trackers = _practice(request, "analytics.trends", {"period", "tz"})
    else:
        principal = principal_of(request)
        trackers = [runtime.service.readable_patient(principal, patient_id)]
        runtime.audit.record(principal, "analytics.trends", patient_id=patient_id)
    return JSONResponse(session_trends(trackers, runtime.clock(), period, tz))


async def get_topics(request: Request) -> Response:
    trackers = _practice(request, "analytics.topics", set())
    return JSONResponse(topic_breakdown(trackers))


async def get_heatmap(request: Request) -> Response:
    trackers = _practice(request, "analytics.heatmap", {"tz"})
    return JSONResponse(activity_heatmap(trackers, query_tz(request)))


DEFAULT_COMPARE_DAYS = 30
MAX_COMPARE_DAYS = 366


async def get_compare(request: Request) -> Response:
    reject_unknown_params(request, {"patient_ids", "days"})
    raw = ",".join(request.query_params.getlist("patient_ids"))
    patient_ids = list(dict.fromkeys(part.strip() for part in raw.split(",") if part.strip()))
    if not MIN_COMPARED <= len(patient_ids) <= MAX_COMPARED:
        raise invalid(
            "patient_ids",
            f"name {MIN_COMPARED} to {MAX_COMPARED} distinct patients, comma-separated",
        )
    days = query_int(request, "days", DEFAULT_COMPARE_DAYS, 1, MAX_COMPARE_DAYS)
    runtime = runtime_of(request)
    principal = principal_of(request)
    trackers = [runtime.service.readable_patient(principal, pid) for pid in patient_ids]
    for patient_id in patient_ids:
        runtime.audit.record(principal, "analytics.compare", patient_id=patient_id)
    return JSONResponse(compare_patients(trackers, runtime.clock(), days))
