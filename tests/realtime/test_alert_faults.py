"""Exactly one alert per crisis event, whatever step of the publish path the process dies at.

A real hub process is told (``PROGRESS_HUB_FAULT``) to SIGKILL itself at one step between the
apply and the ack; the test publishes a crisis check-in, sees the process die, starts a new one
on the same file and checks the alert: absent together with its event when the kill came before
the commit, present exactly once after it, and never a second one when the event is sent again.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx
import pytest

from realtime.faults import STEPS
from tests.hubprocess import HubProcess
from tests.support import token

pytestmark = pytest.mark.slow
SERVICE = {"Authorization": f"Bearer {token('service', 'platform')}"}
ADMIN = {"Authorization": f"Bearer {token('admin', 'ops')}"}
CRISIS = {
    "id": "e-crisis",
    "kind": "mood_checkin",
    "patient_id": "p1",
    "at": "2026-11-21T09:30:00+01:00",
    "score": 1,
}


def stored_alerts(db: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(db) as connection:
        return connection.execute("SELECT event_id, code, alert_id FROM alerts").fetchall()


@pytest.mark.parametrize("step", STEPS)
def test_a_crisis_event_has_exactly_one_alert_after_a_kill_at_any_step(
    tmp_path: Path, step: str
) -> None:
    db = tmp_path / "hub.db"
    hub = HubProcess(db, fault=step)
    try:
        registered = httpx.put(
            f"{hub.url}/api/v1/patients/p1",
            json={"therapist_id": "t1", "timezone": "UTC"},
            headers=SERVICE,
        )
        assert registered.status_code in (200, 201)
        with pytest.raises(httpx.HTTPError):  # the process dies before it answers
            httpx.post(f"{hub.url}/api/v1/events", json={"events": [CRISIS]}, headers=SERVICE)
        hub.process.wait(timeout=10)
        assert hub.process.returncode == -9
    finally:
        hub.stop()

    expected_before = 0 if step == "after_apply" else 1
    assert len(stored_alerts(db)) == expected_before

    hub = HubProcess(db)
    try:
        listed = httpx.get(f"{hub.url}/api/v1/alerts?state=all", headers=ADMIN).json()
        assert len(listed["alerts"]) == expected_before
        again = httpx.post(
            f"{hub.url}/api/v1/events", json={"events": [CRISIS]}, headers=SERVICE
        ).json()
        if step == "after_apply":
            assert again["accepted"] == ["e-crisis"]
        else:
            assert again["duplicates"] == ["e-crisis"]
        listed = httpx.get(f"{hub.url}/api/v1/alerts?state=all", headers=ADMIN).json()
        assert [(a["event_id"], a["code"]) for a in listed["alerts"]] == [
            ("e-crisis", "mood_crisis")
        ]
        alert = listed["alerts"][0]
        assert alert["event_at"] == "2026-11-21T08:30:00Z"
        assert alert["raised_at"].endswith("Z")
        assert alert["state"] == "open"
    finally:
        hub.stop()
    assert [(e, c) for e, c, _ in stored_alerts(db)] == [("e-crisis", "mood_crisis")]
