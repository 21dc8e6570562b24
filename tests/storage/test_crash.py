"""An acknowledged event survives SIGKILL: kill the hub mid-stream, restart, check everything.

Eight clients publish as fast as the hub acknowledges. The hub process is killed with SIGKILL
at an arbitrary moment; a new process on the same file must already hold every id that was
acknowledged (republishing answers ``duplicates``), and every patient's figures must equal
those computed by replaying the whole log from the file, from scratch, with the domain alone.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from clients.hub_client import HubClient, HubClosed
from domain.events import parse_event
from domain.patients import Patient, ZoneChange
from domain.progress import PatientProgress
from tests.hubprocess import HubProcess
from tests.support import token

pytestmark = pytest.mark.slow
PATIENTS = [f"p{n}" for n in range(6)]
SERVICE = {"Authorization": f"Bearer {token('service', 'platform')}"}


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "hub.db"


def event(client: int, number: int) -> dict[str, Any]:
    patient = PATIENTS[(client + number) % len(PATIENTS)]
    day = 1 + number % 28
    base = {
        "id": f"c{client}-{number}",
        "patient_id": patient,
        "at": f"2026-10-{day:02d}T08:30:00Z",
    }
    if number % 3 == 0:
        return {**base, "kind": "mood_checkin", "score": 1 + number % 10}
    return {
        **base,
        "kind": "session_ended",
        "session_id": f"s{client}-{number}",
        "status": "completed" if number % 4 else "no_show",
        "duration_s": 600 + number % 7 * 60,
        "mood_post": 1 + number % 10,
    }


async def publish_until_killed(url: str, client: int, acked: set[str]) -> None:
    try:
        async with await HubClient.connect(url, token("service", "platform")) as hub:
            number = 0
            while True:
                batch = [event(client, number + n) for n in range(25)]
                number += 25
                ack = await hub.publish(batch, timeout=10)
                acked.update(ack["accepted"])
    except (HubClosed, OSError, TimeoutError):
        return  # the kill ends every client, one way or another


def replayed_figures(db: Path, now: datetime) -> dict[str, dict[str, Any]]:
    """Every patient's snapshot from the log alone, as a fresh process would compute it."""
    with sqlite3.connect(db) as connection:
        patients = {
            patient_id: Patient(
                patient_id,
                therapist_id,
                tuple(ZoneChange(datetime.fromisoformat(at), tz) for at, tz in json.loads(history)),
            )
            for patient_id, therapist_id, history in connection.execute(
                "SELECT patient_id, therapist_id, zone_history FROM patients"
            )
        }
        trackers = {patient_id: PatientProgress(p) for patient_id, p in patients.items()}
        for (body,) in connection.execute("SELECT body FROM events ORDER BY seq"):
            parsed = parse_event(json.loads(body))
            trackers[parsed.patient_id].apply(parsed, now)
    return {patient_id: tracker.snapshot(now) for patient_id, tracker in trackers.items()}


STABLE_FIGURES = ("total_sessions", "engagement", "streak", "mood_trend", "goals", "milestones")


def stable(snapshot: dict[str, Any]) -> dict[str, Any]:
    # Figures that cannot move between two reads a moment apart (risk and momentum decay with
    # the clock, so they are compared separately).
    figures = {key: snapshot[key] for key in STABLE_FIGURES}
    figures["engagement"] = {
        key: value for key, value in snapshot["engagement"].items() if key != "momentum"
    }
    return figures


async def test_every_acknowledged_event_survives_sigkill(db: Path) -> None:
    hub = HubProcess(db)
    try:
        for patient_id in PATIENTS:
            body = {"therapist_id": "t1", "timezone": "Europe/Berlin"}
            response = httpx.put(
                f"{hub.url}/api/v1/patients/{patient_id}", json=body, headers=SERVICE
            )
            assert response.status_code == 201
        acked: set[str] = set()
        ws_url = f"ws://127.0.0.1:{hub.port}/ws"
        publishers = [asyncio.create_task(publish_until_killed(ws_url, n, acked)) for n in range(8)]
        deadline = asyncio.get_running_loop().time() + 15
        while len(acked) < 3000 and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
        hub.kill()
        await asyncio.gather(*publishers)
    finally:
        hub.stop()
    assert len(acked) >= 1000, "the publishers barely ran; the test proves nothing"

    restarted = HubProcess(db)
    try:
        async with await HubClient.connect(
            f"ws://127.0.0.1:{restarted.port}/ws", token("service", "platform")
        ) as hub_client:
            lost: list[str] = []
            ids = sorted(acked)
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                client, number = zip(*(item[1:].split("-") for item in chunk), strict=True)
                events = [event(int(c), int(n)) for c, n in zip(client, number, strict=True)]
                ack = await hub_client.publish(events)
                lost.extend(ack["accepted"])
        served = {
            patient_id: httpx.get(
                f"{restarted.url}/api/v1/patients/{patient_id}/progress", headers=SERVICE
            ).json()
            for patient_id in PATIENTS
        }
    finally:
        restarted.stop()
    assert lost == [], f"{len(lost)} acknowledged events were lost"

    replayed = replayed_figures(db, datetime.now(UTC))
    for patient_id in PATIENTS:
        assert stable(served[patient_id]) == stable(replayed[patient_id]), patient_id
        assert (
            served[patient_id]["dropout_risk"]["level"]
            == replayed[patient_id]["dropout_risk"]["level"]
        )
