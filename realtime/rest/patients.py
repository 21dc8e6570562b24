"""REST reads of one patient: progress, chart series, milestones, insights.

Every read is checked by ``ProgressService.readable_patient`` (one place for the rule) and
written to the audit trail.
"""

from __future__ import annotations

from datetime import date

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from domain.progress import PatientProgress
from domain.reports import effectiveness_report, report_bounds
from realtime.protocol import milestone_to_wire
from realtime.rest.http import invalid, principal_of, query_int, reject_unknown_params, runtime_of

DEFAULT_SERIES_DAYS = 14
MAX_SERIES_DAYS = 366
MAX_REPORT_DAYS = 3 * 366


def _readable(request: Request, action: str) -> PatientProgress:
    runtime = runtime_of(request)
    principal = principal_of(request)
    patient_id = request.path_params["patient_id"]
    tracker = runtime.service.readable_patient(principal, patient_id)
    runtime.audit.record(principal, action, patient_id=patient_id)
    return tracker


async def get_progress(request: Request) -> Response:
    reject_unknown_params(request, set())
    tracker = _readable(request, "progress")
    return JSONResponse(tracker.snapshot(runtime_of(request).clock()))


async def get_series(request: Request) -> Response:
    reject_unknown_params(request, {"days"})
    days = query_int(request, "days", DEFAULT_SERIES_DAYS, 1, MAX_SERIES_DAYS)
    tracker = _readable(request, "series")
    return JSONResponse(tracker.series(runtime_of(request).clock(), days))


async def get_milestones(request: Request) -> Response:
    reject_unknown_params(request, set())
    tracker = _readable(request, "milestones")
    pending = {milestone.id for milestone in tracker.pending_celebrations()}
    return JSONResponse(
        {
            "patient_id": tracker.patient.patient_id,
            "milestones": [
                {**milestone_to_wire(milestone), "celebration_shown": milestone.id not in pending}
                for milestone in tracker.milestones()
            ],
        }
    )


async def get_insights(request: Request) -> Response:
    reject_unknown_params(request, set())
    tracker = _readable(request, "insights")
    return JSONResponse(
        {
            "patient_id": tracker.patient.patient_id,
            "insights": tracker.insights(runtime_of(request).clock()),
        }
    )


def _query_date(request: Request, name: str) -> date:
    raw = request.query_params.get(name)
    if raw is None:
        raise invalid(name, "required, as YYYY-MM-DD")
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise invalid(name, "must be a date as YYYY-MM-DD") from None


async def get_report(request: Request) -> Response:
    reject_unknown_params(request, {"from", "to"})
    start, end = _query_date(request, "from"), _query_date(request, "to")
    if end < start:
        raise invalid("to", "must not be before from")
    if (end - start).days >= MAX_REPORT_DAYS:
        raise invalid("to", f"a report covers at most {MAX_REPORT_DAYS} days")
    tracker = _readable(request, "report")
    records = await runtime_of(request).store.read_alerts(
        tracker.patient.patient_id, *report_bounds(start, end)
    )
    alerts = [record.to_wire() for record in records]
    return JSONResponse(effectiveness_report(tracker, start, end, alerts))
