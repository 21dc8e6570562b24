"""REST: patient registration, progress snapshots, events, health and metrics."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.support import session_events, token


def auth(role: str, sub: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(role, sub)}"}


SERVICE = auth("service", "platform")


def test_registering_a_patient_creates_then_updates(client: TestClient) -> None:
    body = {"therapist_id": "t1", "timezone": "Europe/Berlin"}
    created = client.put("/api/v1/patients/p1", json=body, headers=SERVICE)
    assert created.status_code == 201
    assert created.json() == {
        "patient_id": "p1",
        "therapist_id": "t1",
        "timezone": "Europe/Berlin",
        "created": True,
    }
    moved = client.put(
        "/api/v1/patients/p1",
        json={"therapist_id": "t2", "timezone": "America/New_York"},
        headers=auth("admin", "ops"),
    )
    assert moved.status_code == 200
    assert moved.json()["therapist_id"] == "t2" and moved.json()["created"] is False
    snapshot = client.get("/api/v1/patients/p1/progress", headers=auth("therapist", "t2")).json()
    assert snapshot["timezone"] == "America/New_York"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"therapist_id": "t1", "timezone": "Mars/Olympus"}, "timezone"),
        ({"therapist_id": "t1", "timezone": "../../etc/passwd"}, "timezone"),
        ({"timezone": "Europe/Berlin"}, "therapist_id"),
        ({"therapist_id": 7, "timezone": "Europe/Berlin"}, "therapist_id"),
        ({"therapist_id": "t1", "timezone": "UTC", "colour": "red"}, "colour"),
    ],
)
def test_bad_registration_is_422_naming_the_field(
    client: TestClient, body: dict, field: str
) -> None:
    response = client.put("/api/v1/patients/p1", json=body, headers=SERVICE)
    assert response.status_code == 422
    assert response.json()["field"] == field


def test_registration_needs_service_or_admin(client: TestClient) -> None:
    body = {"therapist_id": "t1", "timezone": "UTC"}
    assert client.put("/api/v1/patients/p1", json=body).status_code == 401
    for role, sub in (("patient", "p1"), ("therapist", "t1")):
        assert (
            client.put("/api/v1/patients/p1", json=body, headers=auth(role, sub)).status_code == 403
        )


def test_broken_json_body_is_422(client: TestClient) -> None:
    response = client.put(
        "/api/v1/patients/p1",
        content=b"{nope",
        headers={**SERVICE, "content-type": "application/json"},
    )
    assert response.status_code == 422


@pytest.mark.parametrize(
    ("role", "sub", "patient_id", "status"),
    [
        ("patient", "p1", "p1", 200),
        ("patient", "p1", "p2", 403),
        ("therapist", "t1", "p1", 200),
        ("therapist", "t1", "p3", 403),
        ("therapist", "t1", "nobody", 403),
        ("service", "platform", "p3", 200),
        ("admin", "ops", "p3", 200),
        ("service", "platform", "nobody", 404),
        ("patient", "nobody", "nobody", 404),
    ],
)
def test_progress_access_rules(
    registered: TestClient, role: str, sub: str, patient_id: str, status: int
) -> None:
    response = registered.get(f"/api/v1/patients/{patient_id}/progress", headers=auth(role, sub))
    assert response.status_code == status, response.text
    if status == 200:
        assert response.json()["patient_id"] == patient_id
    else:
        assert "total_sessions" not in response.text


def test_progress_without_or_with_a_bad_token_is_401(registered: TestClient) -> None:
    assert registered.get("/api/v1/patients/p1/progress").status_code == 401
    bad = {"Authorization": "Bearer nonsense"}
    response = registered.get("/api/v1/patients/p1/progress", headers=bad)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_posted_events_are_in_the_next_snapshot(registered: TestClient) -> None:
    events = session_events("p1", "s1", "2026-11-20", duration_s=1800)
    response = registered.post("/api/v1/events", json={"events": events}, headers=SERVICE)
    assert response.status_code == 200
    assert response.json() == {"accepted": ["s1-start", "s1-end"], "duplicates": [], "rejected": []}
    snapshot = registered.get("/api/v1/patients/p1/progress", headers=SERVICE).json()
    assert snapshot["total_sessions"] == 1
    assert snapshot["engagement"]["total_minutes"] == 30.0


def test_posted_events_for_someone_else_are_rejected_per_event(registered: TestClient) -> None:
    events = session_events("p2", "s1", "2026-11-20")
    response = registered.post(
        "/api/v1/events", json={"events": events}, headers=auth("patient", "p1")
    )
    assert response.status_code == 200
    assert {r["code"] for r in response.json()["rejected"]} == {"forbidden"}


@pytest.mark.parametrize("body", [{}, {"events": []}, {"events": "x"}, [1]])
def test_posting_no_events_is_422(registered: TestClient, body: object) -> None:
    response = registered.post("/api/v1/events", json=body, headers=SERVICE)
    assert response.status_code == 422
    assert response.json()["field"] == "events"


def test_healthz_and_metrics(registered: TestClient) -> None:
    assert registered.get("/healthz").json() == {"status": "ok"}
    registered.post(
        "/api/v1/events",
        json={"events": session_events("p1", "s1", "2026-11-20")},
        headers=SERVICE,
    )
    metrics = registered.get("/metrics")
    assert metrics.status_code == 200
    assert "progress_hub_writer_batch_rows_count" in metrics.text
    assert "progress_hub_connections" in metrics.text
    assert 'progress_hub_events_total{outcome="accepted"} 2.0' in metrics.text
    assert 'progress_hub_events_total{outcome="rejected"} 0.0' in metrics.text


def test_dashboard_page_is_served(client: TestClient) -> None:
    page = client.get("/dashboard")
    assert page.status_code == 200
    assert '<script type="module" src="/static/dashboard.js">' in page.text
    module = client.get("/static/progress-hub.js")
    assert module.status_code == 200
    assert module.headers["content-type"].startswith(("text/javascript", "application/javascript"))
    assert "progress.v1.json" in module.text
    assert client.get("/static/nothing-here.js").status_code == 404
