"""REST reads of validated measures (PROTOCOL.md section 8): a patient's and a practice's.

The same access rules and audit as the other reads: ``readable_patient`` for one patient,
``readable_practice`` for a practice (a therapist always reads its own).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from domain.outcomes import outcomes_document, practice_outcomes
from realtime.rest.http import principal_of, reject_unknown_params, runtime_of


async def get_patient_outcomes(request: Request) -> Response:
    reject_unknown_params(request, set())
    runtime = runtime_of(request)
    principal = principal_of(request)
    patient_id = request.path_params["patient_id"]
    tracker = runtime.service.readable_patient(principal, patient_id)
    runtime.audit.record(principal, "outcomes", patient_id=patient_id)
    return JSONResponse(outcomes_document(patient_id, tracker.outcomes()))


async def get_practice_outcomes(request: Request) -> Response:
    reject_unknown_params(request, {"therapist_id"})
    runtime = runtime_of(request)
    principal = principal_of(request)
    trackers, scope = runtime.service.readable_practice(
        principal, request.query_params.get("therapist_id")
    )
    runtime.audit.record(principal, "analytics.outcomes", scope=scope)
    return JSONResponse(practice_outcomes(tracker.outcomes() for tracker in trackers))
