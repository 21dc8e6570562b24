"""An instant no calendar can hold costs only its own event, live and across a restart."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.hubprocess import HubProcess
from tests.realtime.helpers import register
from tests.support import LiveServer, token

SERVICE = {"Authorization": f"Bearer {token('service', 'platform')}"}
POISON_AT = "0001-01-01T00:00:00+14:00"


def _checkin(event_id: str, at: str, patient_id: str = "p1") -> dict[str, Any]:
    return {"id": event_id, "kind": "mood_checkin", "patient_id": patient_id, "at": at, "score": 5}


def _publish(url: str, events: list[dict[str, Any]], bearer: str) -> dict[str, Any]:
    response = httpx.post(
        f"{url}/api/v1/events", json={"events": events}, headers={"Authorization": bearer}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _mood_checkins(url: str, patient_id: str) -> Any:
    response = httpx.get(f"{url}/api/v1/patients/{patient_id}/series?days=366", headers=SERVICE)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize(
    ("poison_at", "zone", "bearer"),
    [
        (POISON_AT, "UTC", f"Bearer {token('service', 'platform')}"),
        ("0001-01-01T00:00:00Z", "America/New_York", f"Bearer {token('patient', 'p9')}"),
        ("9999-12-31T23:59:59-14:00", "Pacific/Kiritimati", f"Bearer {token('service', 'x')}"),
    ],
    ids=["plus-14", "patient-new-york", "year-9999"],
)
def test_an_instant_out_of_range_is_invalid_and_its_neighbour_is_applied(
    live_p1: LiveServer, poison_at: str, zone: str, bearer: str
) -> None:
    register(live_p1, "p9", "t1", zone)
    url = live_p1.http_url
    before = _mood_checkins(url, "p9")
    innocent = _checkin("innocent", "2026-11-20T12:00:00Z", "p9")
    scheduled = {
        "id": "far-schedule",
        "kind": "session_scheduled",
        "patient_id": "p9",
        "at": "2026-11-20T12:00:00Z",
        "session_id": "s1",
        "scheduled_for": poison_at,
    }
    ack = _publish(url, [_checkin("a-poison", poison_at, "p9"), innocent, scheduled], bearer)
    assert ack["accepted"] == ["innocent"]
    assert ack["duplicates"] == []
    assert {(r["id"], r["code"]) for r in ack["rejected"]} == {
        ("a-poison", "invalid_event"),
        ("far-schedule", "invalid_event"),
    }
    assert all("must lie from 1900" in r["detail"] for r in ack["rejected"]), ack
    assert _mood_checkins(url, "p9") != before  # the innocent event counts
    again = _publish(url, [innocent], bearer)
    assert again["duplicates"] == ["innocent"] and again["accepted"] == []


def _unapplied_metric(url: str) -> float:
    for line in httpx.get(f"{url}/metrics").text.splitlines():
        if line.startswith("progress_hub_events_unapplied "):
            return float(line.split()[1])
    raise AssertionError("no progress_hub_events_unapplied metric")


@pytest.mark.slow
def test_a_poisoned_row_in_the_database_does_not_stop_the_restart(tmp_path: Path) -> None:
    db, log = tmp_path / "hub.db", tmp_path / "hub.log"
    hub = HubProcess(db, log)
    try:
        response = httpx.put(
            f"{hub.url}/api/v1/patients/p1",
            json={"therapist_id": "t1", "timezone": "Pacific/Kiritimati"},
            headers=SERVICE,
        )
        assert response.status_code == 201, response.text
        bearer = SERVICE["Authorization"]
        ack = _publish(hub.url, [_checkin("good-1", "2026-11-20T12:00:00Z")], bearer)
        assert ack["accepted"] == ["good-1"]
    finally:
        hub.kill()  # SIGKILL: no snapshot, the restart replays the log
    poison = _checkin("a-poison", POISON_AT)
    with sqlite3.connect(db) as connection:
        connection.execute(
            "INSERT INTO events (id, patient_id, kind, at, received_at, body) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                "a-poison",
                "p1",
                "mood_checkin",
                POISON_AT,
                "2026-11-20T12:00:01+00:00",
                json.dumps(poison),
            ),
        )
    connection.close()
    hub = HubProcess(db, log)
    try:
        bearer = SERVICE["Authorization"]
        after = _publish(hub.url, [_checkin("good-2", "2026-11-20T13:00:00Z")], bearer)
        assert after["accepted"] == ["good-2"]
        again = _publish(hub.url, [_checkin("good-1", "2026-11-20T12:00:00Z")], bearer)
        assert again["duplicates"] == ["good-1"]
        progress = httpx.get(f"{hub.url}/api/v1/patients/p1/progress", headers=SERVICE)
        assert progress.status_code == 200, progress.text
        assert _unapplied_metric(hub.url) == 1
    finally:
        hub.kill()
    lines = [line for line in log.read_text().splitlines() if "a-poison" in line]
    assert len(lines) == 1 and "event=event_unapplied" in lines[0], lines
    assert "Traceback" not in log.read_text()
