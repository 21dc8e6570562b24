"""Every REST read × every role × own and foreign patient: status codes, and nothing leaks.

Fixture: therapist t1 has patients p1 and p2, therapist t2 has p3. Only p3's sessions carry
the topic ``secret-topic``, so any answer to t1 that mentions it has leaked foreign data.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from realtime.app import create_app
from tests.support import session_events, settings_for, token

ROLES = {
    "patient-p1": ("patient", "p1"),
    "therapist-t1": ("therapist", "t1"),
    "service": ("service", "platform"),
    "admin": ("admin", "ops"),
}


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    db = Path(tmp_path_factory.mktemp("access")) / "hub.db"
    with TestClient(create_app(settings_for(db))) as client:
        service = {"Authorization": f"Bearer {token('service', 'platform')}"}
        for patient_id, therapist_id in (("p1", "t1"), ("p2", "t1"), ("p3", "t2")):
            body = {"therapist_id": therapist_id, "timezone": "UTC"}
            assert client.put(
                f"/api/v1/patients/{patient_id}", json=body, headers=service
            ).is_success
        events = session_events("p1", "a", "2026-11-19") + session_events("p2", "b", "2026-11-19")
        secret = session_events("p3", "c", "2026-11-19")
        secret[1]["topics"] = ["secret-topic"]
        response = client.post("/api/v1/events", json={"events": events + secret}, headers=service)
        assert len(response.json()["accepted"]) == 6
        yield client


PATIENT_READS = [
    "/api/v1/patients/{pid}/progress",
    "/api/v1/patients/{pid}/series?days=7",
    "/api/v1/patients/{pid}/milestones",
    "/api/v1/patients/{pid}/insights",
    "/api/v1/patients/{pid}/report?from=2026-11-01&to=2026-11-30",
    "/api/v1/analytics/sessions/trends?period=week&patient_id={pid}",
]
PRACTICE_READS = [
    "/api/v1/analytics/overview",
    "/api/v1/analytics/sessions/trends?period=month",
    "/api/v1/analytics/topics",
    "/api/v1/analytics/heatmap?tz=Europe/Berlin",
]

# (role, patient) -> status, for every patient read.
PATIENT_MATRIX = {
    ("patient-p1", "p1"): 200,
    ("patient-p1", "p2"): 403,
    ("patient-p1", "p3"): 403,
    ("therapist-t1", "p1"): 200,
    ("therapist-t1", "p2"): 200,
    ("therapist-t1", "p3"): 403,
    ("therapist-t1", "ghost"): 403,
    ("service", "p3"): 200,
    ("service", "ghost"): 404,
    ("admin", "p3"): 200,
    ("admin", "ghost"): 404,
}


@pytest.mark.parametrize("path", PATIENT_READS)
@pytest.mark.parametrize(("who", "patient_id"), list(PATIENT_MATRIX))
def test_patient_reads(clinic: TestClient, path: str, who: str, patient_id: str) -> None:
    role, sub = ROLES[who]
    headers = {"Authorization": f"Bearer {token(role, sub)}"}
    response = clinic.get(path.format(pid=patient_id), headers=headers)
    expected = PATIENT_MATRIX[(who, patient_id)]
    assert response.status_code == expected, response.text
    if expected != 200:
        assert set(response.json()) == {"code", "detail"}
        assert patient_id not in response.json()["detail"] or expected == 404
    if who != "admin" and who != "service":
        assert "secret-topic" not in response.text


@pytest.mark.parametrize("path", PRACTICE_READS)
@pytest.mark.parametrize(
    ("who", "therapist_id", "expected"),
    [
        ("patient-p1", None, 403),
        ("therapist-t1", None, 200),
        ("therapist-t1", "t1", 200),
        ("therapist-t1", "t2", 403),
        ("service", "t1", 200),
        ("admin", "t2", 200),
        ("admin", None, 200),
    ],
)
def test_practice_reads(
    clinic: TestClient, path: str, who: str, therapist_id: str | None, expected: int
) -> None:
    role, sub = ROLES[who]
    if therapist_id is not None:
        path += ("&" if "?" in path else "?") + f"therapist_id={therapist_id}"
    response = clinic.get(path, headers={"Authorization": f"Bearer {token(role, sub)}"})
    assert response.status_code == expected, response.text
    if who == "therapist-t1":
        assert "secret-topic" not in response.text
    if expected == 200 and "overview" in path:
        assert (
            response.json()["total_patients"]
            == {None: 3, "t1": 2, "t2": 1}[therapist_id if who != "therapist-t1" else "t1"]
        )


@pytest.mark.parametrize(
    ("who", "expected"),
    [("patient-p1", 403), ("therapist-t1", 403), ("service", 403), ("admin", 200)],
)
def test_only_admin_reads_the_audit_log(clinic: TestClient, who: str, expected: int) -> None:
    role, sub = ROLES[who]
    response = clinic.get("/api/v1/audit", headers={"Authorization": f"Bearer {token(role, sub)}"})
    assert response.status_code == expected


@pytest.mark.parametrize(
    ("who", "ids", "expected"),
    [
        ("therapist-t1", "p1,p2", 200),
        ("therapist-t1", "p1,p3", 403),
        ("patient-p1", "p1,p2", 403),
        ("service", "p1,p3", 200),
        ("admin", "p1", 422),
        ("admin", ",".join(f"p{n}" for n in range(11)), 422),
    ],
)
def test_compare(clinic: TestClient, who: str, ids: str, expected: int) -> None:
    role, sub = ROLES[who]
    response = clinic.get(
        f"/api/v1/analytics/compare?patient_ids={ids}",
        headers={"Authorization": f"Bearer {token(role, sub)}"},
    )
    assert response.status_code == expected, response.text
    if expected == 422:
        assert response.json()["field"] == "patient_ids"


def test_every_read_is_audited_with_who_what_and_when(clinic: TestClient) -> None:
    reader = {"Authorization": f"Bearer {token('therapist', 't1')}"}
    assert clinic.get("/api/v1/patients/p2/progress", headers=reader).status_code == 200
    assert clinic.get("/api/v1/analytics/topics", headers=reader).status_code == 200
    admin = {"Authorization": f"Bearer {token('admin', 'ops')}"}
    entries = clinic.get("/api/v1/audit?limit=2", headers=admin).json()["entries"]
    newest, previous = entries
    assert (newest["role"], newest["sub"], newest["action"], newest["scope"]) == (
        "therapist",
        "t1",
        "analytics.topics",
        "therapist:t1",
    )
    assert (previous["action"], previous["patient_id"]) == ("progress", "p2")
    assert previous["at"] <= newest["at"]
    only_p2 = clinic.get("/api/v1/audit?patient_id=p2&limit=1000", headers=admin).json()
    assert {entry["patient_id"] for entry in only_p2["entries"]} == {"p2"}
