from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from realtime.app import create_app
from tests.support import LiveServer, settings_for, start_server, token


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "hub.db"


@pytest.fixture
def client(db_path: Path) -> Iterator[TestClient]:
    """The app in-process, on a real SQLite file, lifespan running."""
    with TestClient(create_app(settings_for(db_path))) as test_client:
        yield test_client


@pytest.fixture
def registered(client: TestClient) -> TestClient:
    """Patients p1 and p2 of therapist t1, and p3 of therapist t2."""
    service = {"Authorization": f"Bearer {token('service', 'platform')}"}
    for patient_id, therapist_id in (("p1", "t1"), ("p2", "t1"), ("p3", "t2")):
        response = client.put(
            f"/api/v1/patients/{patient_id}",
            json={"therapist_id": therapist_id, "timezone": "Europe/Berlin"},
            headers=service,
        )
        assert response.status_code == 201, response.text
    return client


@pytest.fixture
def live_p1(db_path: Path) -> Iterator[LiveServer]:
    """A hub on a real socket with patient p1 of therapist t1; changes are pushed at once."""
    from tests.realtime.helpers import register

    server = start_server(settings_for(db_path, coalesce_s=0.0))
    register(server, "p1", "t1")
    try:
        yield server
    finally:
        server.stop()
