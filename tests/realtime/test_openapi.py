"""``/openapi.json`` against the real hub: the document's shape, and every answer validated.

Each real response (successes and errors) is validated with the pydantic model the document
names for that operation and status, found by following the document's own ``$ref``. The models
are strict and closed, so a new field, a changed type or a broken range fails here.

Now is Saturday 2026-11-21 12:00 UTC. Therapist t1 has p1 (Berlin; sessions, an exercise, a mood
crisis, a goal, an action item, a skill, a booked session), p2 (UTC; eight weekly sessions in
autumn, each shorter) and p4 (no events at all); therapist t2 has p3 (Tokyo).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError
from starlette.routing import Route
from starlette.testclient import TestClient

from realtime.app import create_app
from realtime.openapi import models as openapi_models
from realtime.openapi.document import ANSWER_MODELS, OPERATIONS, build_document
from tests.support import session_events, settings_for, token

NOW = datetime(2026, 11, 21, 12, tzinfo=UTC)
SERVICE = {"Authorization": f"Bearer {token('service', 'platform')}"}
ADMIN = {"Authorization": f"Bearer {token('admin', 'ops')}"}
T1 = {"Authorization": f"Bearer {token('therapist', 't1')}"}
P1 = {"Authorization": f"Bearer {token('patient', 'p1')}"}
ANSWERS: list[type[BaseModel]] = [*ANSWER_MODELS.values(), openapi_models.ApiErrorBody]
MODELS = {model.__name__: model for model in ANSWERS}


def _event(event_id: str, kind: str, patient_id: str, at: str, **fields: Any) -> dict[str, Any]:
    return {"id": event_id, "kind": kind, "patient_id": patient_id, "at": at, **fields}


def events() -> list[dict[str, Any]]:
    p1 = [
        *session_events("p1", "s1", "2026-11-16"),
        *session_events("p1", "s2", "2026-11-18"),
        *session_events("p1", "s3", "2026-11-20"),
        *session_events("p1", "s4", "2026-11-19", status="cancelled", duration_s=0),
        _event(
            "x1",
            "exercise_completed",
            "p1",
            "2026-11-17T19:00:00Z",
            **{"exercise": "mindfulness/breathing", "duration_s": 600},
        ),
        _event("m1", "mood_checkin", "p1", "2026-11-17T20:00:00Z", score=2),
        _event("m2", "mood_checkin", "p1", "2026-11-21T08:00:00Z", score=7),
        _event("g1", "goal_updated", "p1", "2026-11-18T11:00:00Z", goal_id="g", status="completed"),
        _event(
            "g2", "goal_updated", "p1", "2026-11-18T11:00:00Z", goal_id="h", status="in_progress"
        ),
        _event(
            "a1", "action_item_updated", "p1", "2026-11-18T11:00:00Z", item_id="i", status="done"
        ),
        _event("k1", "progress_marker", "p1", "2026-11-18T10:30:00Z", marker="SKILL_ACQUIRED"),
        _event(
            "b1",
            "session_scheduled",
            "p1",
            "2026-11-20T12:00:00Z",
            **{"session_id": "s9", "scheduled_for": "2026-11-25T09:00:00Z"},
        ),
    ]
    p1[5]["topics"] = ["anxiety", "sleep"]
    phq = [[2, 2, 2, 2, 2, 2, 2, 2, 0], [1, 1, 1, 1, 1, 1, 1, 1, 0]]
    gad = [[2, 2, 2, 2, 2, 1, 1], [1, 1, 1, 1, 1, 1, 1]]
    for number, day in enumerate(("2026-11-02", "2026-11-16")):
        at = f"{day}T10:00:00Z"
        items = {"instrument": "PHQ-9", "items": phq[number]}
        p1.append(_event(f"phq{number}", "measure_completed", "p1", at, **items))
        items = {"instrument": "GAD-7", "items": gad[number]}
        p1.append(_event(f"gad{number}", "measure_completed", "p1", at, **items))
    p2: list[dict[str, Any]] = []
    for week in range(8):
        day = (datetime(2026, 9, 1) + timedelta(weeks=week)).date().isoformat()
        p2 += session_events("p2", f"w{week}", day, duration_s=3600 - 300 * week)
    return p1 + p2 + session_events("p3", "s7", "2026-11-20")


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    db = Path(tmp_path_factory.mktemp("openapi")) / "hub.db"
    with TestClient(create_app(settings_for(db), clock=lambda: NOW)) as client:
        zones = {"p1": ("t1", "Europe/Berlin"), "p2": ("t1", "UTC"), "p3": ("t2", "Asia/Tokyo")}
        for patient_id, (therapist_id, zone) in {**zones, "p4": ("t1", "UTC")}.items():
            body = {"therapist_id": therapist_id, "timezone": zone}
            assert client.put(
                f"/api/v1/patients/{patient_id}", json=body, headers=SERVICE
            ).is_success
        reply = client.post("/api/v1/events", json={"events": events()}, headers=SERVICE)
        assert reply.json()["rejected"] == []
        yield client


@pytest.fixture(scope="module")
def document(clinic: TestClient) -> dict[str, Any]:
    response = clinic.get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    result: dict[str, Any] = response.json()
    return result


# -- the document itself ------------------------------------------------------------------------


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def test_document_is_openapi_3_1_with_every_route(clinic: TestClient, document: dict) -> None:
    assert document["openapi"] == "3.1.0"
    assert document["info"]["title"] and document["info"]["version"]
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    for route in clinic.app.routes:  # type: ignore[attr-defined]
        if isinstance(route, Route) and (
            route.path.startswith("/api/") or route.path == "/healthz"
        ):
            assert route.path in document["paths"], route.path
            documented = {method.upper() for method in document["paths"][route.path]}
            assert route.methods is not None and documented == route.methods - {"HEAD"}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            assert operation["responses"], (method, path)
            assert operation["operationId"] and operation["summary"]
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == set(re.findall(r"{(\w+)}", path)), path
            if not operation.get("security", True):
                continue
            assert {"401", "429"} <= set(operation["responses"]), (method, path)


def test_every_reference_resolves(document: dict) -> None:
    for ref in set(_refs(document)):
        node: Any = document
        for part in ref.removeprefix("#/").split("/"):
            node = node[part]
        assert isinstance(node, dict), ref


def test_constraints_and_headers_are_documented(document: dict) -> None:
    series = document["paths"]["/api/v1/patients/{patient_id}/series"]["get"]["parameters"]
    days = next(p for p in series if p["name"] == "days")["schema"]
    assert (days["minimum"], days["maximum"], days["default"]) == (1, 366, 14)
    trends = document["paths"]["/api/v1/analytics/sessions/trends"]["get"]["parameters"]
    period = next(p for p in trends if p["name"] == "period")["schema"]
    assert period["enum"] == ["week", "month", "quarter", "year"]
    report = document["paths"]["/api/v1/patients/{patient_id}/report"]["get"]["parameters"]
    assert all(p["required"] for p in report if p["name"] in ("from", "to"))
    limited = document["components"]["responses"]["RateLimited"]
    assert limited["headers"]["Retry-After"]["required"] is True
    batch = document["components"]["schemas"]["EventBatch"]["properties"]["events"]
    assert (batch["minItems"], batch["maxItems"]) == (1, 500)
    assert document["components"]["schemas"]["Progress"]["additionalProperties"] is False


def test_document_is_built_once_per_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from realtime.openapi import document as openapi

    calls: list[int] = []
    real = openapi.build_document

    def counting(settings: Any) -> dict[str, Any]:
        calls.append(1)
        return real(settings)

    monkeypatch.setattr(openapi, "build_document", counting)
    settings = settings_for(tmp_path / "hub.db")
    with TestClient(create_app(settings)) as client:
        first, second = client.get("/openapi.json"), client.get("/openapi.json")
    assert first.content == second.content and len(calls) == 1
    assert first.json() == build_document(settings)


# -- every endpoint, for real -------------------------------------------------------------------

# (method, url, headers, body, expected status)
Call = tuple[str, str, dict[str, str], Any, int]
PATIENT_VIEWS = (
    "progress",
    "series?days=30",
    "milestones",
    "insights",
    "report?from=2026-09-01&to=2026-11-30",
    "outcomes",
)
ANALYTICS_VIEWS = (
    "overview",
    "overview?tz=Asia/Tokyo",
    "sessions/trends?period=week",
    "sessions/trends?period=quarter&patient_id=p1",
    "sessions/trends?period=year",
    "sessions/trends",
    "topics",
    "heatmap?tz=America/New_York",
    "compare?patient_ids=p1,p2,p4&days=14",
    "outcomes",
)


def _reads(base: str, views: tuple[str, ...], readers: list[dict[str, str]]) -> list[Call]:
    """Each reader GETs every view under ``base`` and is answered 200."""
    return [("GET", f"{base}/{view}", who, None, 200) for who in readers for view in views]


CALLS: list[Call] = [
    ("PUT", "/api/v1/patients/p5", SERVICE, {"therapist_id": "t1", "timezone": "UTC"}, 201),
    ("PUT", "/api/v1/patients/p5", SERVICE, {"therapist_id": "t2", "timezone": "UTC"}, 200),
    ("PUT", "/api/v1/patients/p6", SERVICE, {"therapist_id": "t1", "timezone": "Mars/Base"}, 422),
    ("PUT", "/api/v1/patients/p6", SERVICE, {"therapist_id": "t1"}, 422),
    ("PUT", "/api/v1/patients/p6", T1, {"therapist_id": "t1", "timezone": "UTC"}, 403),
    ("PUT", "/api/v1/patients/p6", {}, {"therapist_id": "t1", "timezone": "UTC"}, 401),
    (
        "POST",
        "/api/v1/events",
        P1,
        {
            "events": [
                _event("n1", "mood_checkin", "p1", "2026-11-21T09:00:00Z", score=6),
                _event("n2", "mood_checkin", "p2", "2026-11-21T09:00:00Z", score=6),
                _event("n3", "mood_checkin", "p1", "yesterday", score=6),
                _event("s1-end", "mood_checkin", "p1", "2026-11-21T09:00:00Z", score=6),
            ]
        },
        200,
    ),
    ("POST", "/api/v1/events", SERVICE, {"events": []}, 422),
    ("POST", "/api/v1/events", SERVICE, {"events": [{"id": str(n)} for n in range(501)]}, 413),
    ("POST", "/api/v1/events", {}, {"events": []}, 401),
    *[
        call
        for pid, who in (("p1", T1), ("p2", T1), ("p4", T1), ("p1", P1), ("p3", SERVICE))
        for call in _reads(f"/api/v1/patients/{pid}", PATIENT_VIEWS, [who])
    ],
    ("GET", "/api/v1/patients/p3/outcomes", T1, None, 403),
    ("GET", "/api/v1/patients/ghost/outcomes", ADMIN, None, 404),
    ("GET", "/api/v1/patients/p1/outcomes?x=1", T1, None, 422),
    ("GET", "/api/v1/analytics/outcomes", P1, None, 403),
    ("GET", "/api/v1/analytics/outcomes?therapist_id=t2", T1, None, 403),
    ("GET", "/api/v1/analytics/outcomes", {}, None, 401),
    ("GET", "/api/v1/patients/p4/report?from=2026-11-21&to=2026-11-21", T1, None, 200),
    ("GET", "/api/v1/patients/p3/progress", T1, None, 403),
    ("GET", "/api/v1/patients/ghost/progress", T1, None, 403),
    ("GET", "/api/v1/patients/ghost/series", ADMIN, None, 404),
    ("GET", "/api/v1/patients/p1/insights", {"Authorization": "Bearer nonsense"}, None, 401),
    ("GET", "/api/v1/patients/p1/series?days=0", T1, None, 422),
    ("GET", "/api/v1/patients/p1/milestones?colour=red", T1, None, 422),
    ("GET", "/api/v1/patients/p1/report?to=2026-11-01", T1, None, 422),
    *_reads("/api/v1/analytics", ANALYTICS_VIEWS, [T1, ADMIN]),
    ("GET", "/api/v1/analytics/heatmap?therapist_id=t9", ADMIN, None, 200),
    ("GET", "/api/v1/analytics/topics?therapist_id=t9", ADMIN, None, 200),
    ("GET", "/api/v1/analytics/overview", P1, None, 403),
    ("GET", "/api/v1/analytics/topics?therapist_id=t2", T1, None, 403),
    ("GET", "/api/v1/analytics/sessions/trends?period=decade", T1, None, 422),
    ("GET", "/api/v1/analytics/heatmap?tz=Moon/Base", T1, None, 422),
    ("GET", "/api/v1/analytics/compare?patient_ids=p1", T1, None, 422),
    ("GET", "/api/v1/analytics/compare?patient_ids=p1,p3", T1, None, 403),
    ("GET", "/api/v1/analytics/compare?patient_ids=p1,ghost", ADMIN, None, 404),
    ("GET", "/api/v1/analytics/overview", {}, None, 401),
    ("GET", "/api/v1/audit?limit=3", ADMIN, None, 200),
    ("GET", "/api/v1/audit?patient_id=p1&limit=1000", ADMIN, None, 200),
    ("GET", "/api/v1/audit?before=1", ADMIN, None, 200),
    ("GET", "/api/v1/audit?limit=0", ADMIN, None, 422),
    ("GET", "/api/v1/audit", SERVICE, None, 403),
    ("GET", "/healthz", {}, None, 200),
]


def _operation(document: dict, method: str, url: str) -> dict[str, Any]:
    path = url.split("?")[0]
    for template, operations in document["paths"].items():
        pattern = "^" + re.sub(r"{\w+}", "[^/]+", template) + "$"
        if re.match(pattern, path) and method.lower() in operations:
            result: dict[str, Any] = operations[method.lower()]
            return result
    raise AssertionError(f"{method} {path} is not in the document")


def _documented_model(document: dict, operation: dict, status: int) -> type[BaseModel]:
    response = operation["responses"].get(str(status))
    assert response is not None, f"status {status} is not documented for {operation['summary']}"
    if "$ref" in response:
        response = document["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    ref = response["content"]["application/json"]["schema"]["$ref"]
    return MODELS[ref.rsplit("/", 1)[1]]


def _check(document: dict, method: str, url: str, response: Any, expected: int) -> BaseModel:
    assert response.status_code == expected, response.text
    model = _documented_model(document, _operation(document, method, url), expected)
    return model.model_validate(response.json())


@pytest.mark.parametrize(("method", "url", "headers", "body", "expected"), CALLS)
def test_every_answer_matches_its_documented_model(
    clinic: TestClient,
    document: dict,
    method: str,
    url: str,
    headers: dict[str, str],
    body: Any,
    expected: int,
) -> None:
    response = clinic.request(method, url, headers=headers, json=body)
    answer = _check(document, method, url, response, expected)
    if expected == 422:
        assert isinstance(answer, openapi_models.ApiErrorBody) and answer.field
    if expected == 401:
        assert response.headers["WWW-Authenticate"] == "Bearer"


def test_the_seed_reaches_the_optional_branches(clinic: TestClient) -> None:
    """The calls above are only worth something if the answers carry real, non-null figures."""
    progress = openapi_models.Progress.model_validate(
        clinic.get("/api/v1/patients/p2/progress", headers=T1).json()
    )
    shorter = next(f for f in progress.dropout_risk.factors if f.name == "shorter_sessions")
    assert isinstance(shorter, openapi_models.ShorterSessionsFactor) and shorter.recent_minutes
    p1 = clinic.get("/api/v1/patients/p1/report?from=2026-11-01&to=2026-11-30", headers=T1)
    report = openapi_models.Report.model_validate(p1.json())
    assert report.alerts and report.milestones and report.mood.avg_change_pre_to_post
    heatmap = clinic.get("/api/v1/analytics/heatmap", headers=T1).json()
    assert heatmap["peak_hour"] is not None and heatmap["cells"]


def test_body_over_the_size_limit_is_413(clinic: TestClient, document: dict) -> None:
    big = b'{"events": [' + b" " * (1024 * 1024) + b"]}"
    headers = {**SERVICE, "content-type": "application/json"}
    response = clinic.post("/api/v1/events", content=big, headers=headers)
    answer = _check(document, "POST", "/api/v1/events", response, 413)
    assert isinstance(answer, openapi_models.ApiErrorBody) and answer.code == "too_large"


def test_rate_limited_answer_matches(tmp_path: Path, document: dict) -> None:
    settings = settings_for(tmp_path / "hub.db", rest_rate_per_s=0.5, rest_rate_burst=1)
    url = "/api/v1/analytics/topics"
    with TestClient(create_app(settings)) as client:
        assert client.get(url, headers=T1).status_code == 200
        response = client.get(url, headers=T1)
    answer = _check(document, "GET", url, response, 429)
    assert isinstance(answer, openapi_models.ApiErrorBody) and answer.code == "rate_limited"
    assert int(response.headers["Retry-After"]) >= 1


def test_operations_without_a_json_answer(clinic: TestClient) -> None:
    metrics = clinic.get("/metrics")
    assert metrics.status_code == 200 and metrics.headers["content-type"].startswith("text/plain")
    paths = {op.path for op in OPERATIONS}
    assert "/metrics" in paths and "/openapi.json" in paths


# -- the checks can fail ------------------------------------------------------------------------


def test_an_unknown_field_or_a_wrong_type_fails(clinic: TestClient) -> None:
    progress = clinic.get("/api/v1/patients/p1/progress", headers=T1).json()
    openapi_models.Progress.model_validate(progress)
    with pytest.raises(ValidationError, match="surprise"):
        openapi_models.Progress.model_validate({**progress, "surprise": 1})
    with pytest.raises(ValidationError, match="total_sessions"):
        openapi_models.Progress.model_validate({**progress, "total_sessions": 3.0})
    streak = {**progress["streak"], "last_active_day": "21/11/2026"}
    with pytest.raises(ValidationError, match="last_active_day"):
        openapi_models.Progress.model_validate({**progress, "streak": streak})
    with pytest.raises(ValidationError, match="field"):
        openapi_models.ApiErrorBody.model_validate({"code": "invalid", "detail": "", "field": None})
    with pytest.raises(ValidationError):
        openapi_models.ApiErrorBody.model_validate({"code": "teapot", "detail": "short and stout"})
