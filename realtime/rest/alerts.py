"""REST for the alert inbox (``PROTOCOL.md`` section 7): list, acknowledge, resolve.

Access: a therapist reads and changes the alerts of its own patients, ``admin`` everyone's;
anyone else gets 403, and an unknown ``alert_id`` is 404 only for those who could read it if it
existed (a therapist gets 403, as for patients). Changes are recorded in the audit trail in the
transaction that makes them.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from domain.alert_codes import ALERT_SEVERITY
from realtime.errors import BadRequest
from realtime.protocol import parse_note
from realtime.rest.http import (
    invalid,
    json_body,
    principal_of,
    query_choice,
    query_int,
    reject_unknown_params,
    runtime_of,
)
from storage.alerts import STATES

DEFAULT_LIMIT = 100
MAX_LIMIT = 500
SEVERITIES = tuple(sorted(set(ALERT_SEVERITY.values())))


async def list_alerts(request: Request) -> Response:
    reject_unknown_params(request, {"state", "patient_id", "severity", "limit", "before"})
    runtime = runtime_of(request)
    principal = principal_of(request)
    state = query_choice(request, "state", (*STATES, "all"), "open")
    severity = request.query_params.get("severity")
    if severity is not None and severity not in SEVERITIES:
        raise invalid("severity", f"must be one of {', '.join(SEVERITIES)}")
    limit = query_int(request, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    page = await runtime.alerts.page(
        principal,
        states=STATES if state == "all" else (state,),
        patient_id=request.query_params.get("patient_id"),
        severity=severity,
        limit=limit,
        before=request.query_params.get("before"),
        patients_of=lambda therapist_id: [
            t.patient.patient_id for t in runtime.service.trackers_of(therapist_id)
        ],
    )
    runtime.audit.record(principal, "alerts", scope=f"state={state}")
    return JSONResponse(
        {"alerts": [alert.to_wire() for alert in page.alerts], "next_before": page.next_before}
    )


async def _note(request: Request) -> str | None:
    if not await request.body():
        return None
    body: Any = await json_body(request)
    if not isinstance(body, dict):
        raise BadRequest("body must be a JSON object", field="body")
    try:
        return parse_note(body.get("note"))
    except Exception as error:
        raise invalid("note", str(error).removeprefix("note: ")) from None


async def acknowledge_alert(request: Request) -> Response:
    reject_unknown_params(request, set())
    runtime = runtime_of(request)
    principal = principal_of(request)
    note = await _note(request)
    found, _ = await runtime.alerts.acknowledge(principal, [request.path_params["alert_id"]], note)
    return JSONResponse(found[0].to_wire())


async def resolve_alert(request: Request) -> Response:
    reject_unknown_params(request, set())
    runtime = runtime_of(request)
    principal = principal_of(request)
    note = await _note(request)
    alert = await runtime.alerts.resolve(principal, request.path_params["alert_id"], note)
    return JSONResponse(alert.to_wire())
