"""The inbox's listing, restarts, metrics, held insights and bounded outbox, for real."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from clients.hub_client import HubClient
from realtime.jobs.escalation import MAX_PASS_S
from tests.realtime.helpers import checkin, drain, next_of_kind, register
from tests.support import LiveServer, settings_for, start_server, token, wait_until

ADMIN = {"Authorization": f"Bearer {token('admin', 'ops')}"}
T1 = {"Authorization": f"Bearer {token('therapist', 't1')}"}
P1 = {"Authorization": f"Bearer {token('patient', 'p1')}"}
SERVICE = {"Authorization": f"Bearer {token('service', 'platform')}"}


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


def publish(live: LiveServer, *events: dict[str, object]) -> None:
    answer = httpx.post(
        f"{live.http_url}/api/v1/events", json={"events": list(events)}, headers=SERVICE
    )
    assert answer.status_code == 200 and not answer.json()["rejected"], answer.text


@pytest.fixture
def live(db_path: Path) -> Iterator[LiveServer]:
    server = start_server(settings_for(db_path, coalesce_s=0.0))
    register(server, "p1", "t1")
    register(server, "p2", "t2")
    try:
        yield server
    finally:
        server.stop()


def test_the_listing_pages_newest_first_filters_and_keeps_to_the_readers_patients(
    live: LiveServer,
) -> None:
    for n in range(3):
        publish(live, checkin(f"e{n}", "p1", f"2026-11-1{n}", score=1))
    publish(live, checkin("other", "p2", "2026-11-12", score=2))
    url = f"{live.http_url}/api/v1/alerts"
    first = httpx.get(f"{url}?limit=2", headers=T1).json()
    assert [a["event_id"] for a in first["alerts"]] == ["e2", "e1"]
    rest = httpx.get(f"{url}?limit=2&before={first['next_before']}", headers=T1).json()
    assert [a["event_id"] for a in rest["alerts"]] == ["e0"] and rest["next_before"] is None
    everyone = httpx.get(f"{url}?state=all", headers=ADMIN).json()["alerts"]
    assert [a["event_id"] for a in everyone] == ["other", "e2", "e1", "e0"]
    assert httpx.get(f"{url}?severity=warning", headers=T1).json()["alerts"] == []
    only_p2 = httpx.get(f"{url}?patient_id=p2", headers=ADMIN).json()["alerts"]
    assert [a["patient_id"] for a in only_p2] == ["p2"]
    assert httpx.get(f"{url}?patient_id=p2", headers=T1).status_code == 403
    assert httpx.get(url, headers=P1).status_code == 403
    assert httpx.get(f"{url}?state=closed", headers=T1).status_code == 422
    assert httpx.get(f"{url}?limit=0", headers=T1).status_code == 422


def test_open_alerts_gauge_time_to_acknowledge_and_escalations_are_exported(
    live: LiveServer,
) -> None:
    publish(live, checkin("e1", "p1", "2026-11-21", score=1))
    metrics = httpx.get(f"{live.http_url}/metrics").text
    assert 'progress_hub_alerts_open{severity="critical"} 1.0' in metrics
    alert_id = httpx.get(f"{live.http_url}/api/v1/alerts", headers=T1).json()["alerts"][0][
        "alert_id"
    ]
    acknowledged = httpx.post(
        f"{live.http_url}/api/v1/alerts/{alert_id}/acknowledge", headers=T1
    ).json()
    again = httpx.post(f"{live.http_url}/api/v1/alerts/{alert_id}/acknowledge", headers=T1)
    assert again.json() == acknowledged
    metrics = httpx.get(f"{live.http_url}/metrics").text
    assert 'progress_hub_alerts_open{severity="critical"} 0.0' in metrics
    assert "progress_hub_alert_time_to_acknowledge_seconds_count 1.0" in metrics
    assert "progress_hub_alert_escalations_total 0.0" in metrics


async def test_positive_insights_wait_while_a_crisis_is_open(live: LiveServer) -> None:
    async with await HubClient.connect(live.ws_url, token("patient", "p1")) as patient:
        await patient.subscribe("patient:p1")
        # A crisis, then three good days: the streak reaches 3 (a celebration) and, on the
        # fourth active day running, momentum 0.62 makes "maintain pace" true (an insight).
        today = datetime.now(UTC).date()
        for n, score in enumerate([1, 6, 6, 6]):
            day = (today - timedelta(days=3 - n)).isoformat()
            await patient.publish([checkin(f"m{n}", "p1", day, score=score)])
        held = [f["data"] for f in await drain(patient, 0.5)]
        assert not [d for d in held if d["kind"] in ("insight", "celebration")]
        insights = httpx.get(f"{live.http_url}/api/v1/patients/p1/insights", headers=T1).json()
        codes = {item["code"] for item in insights["insights"]}
        for alert in httpx.get(f"{live.http_url}/api/v1/alerts", headers=T1).json()["alerts"]:
            httpx.post(f"{live.http_url}/api/v1/alerts/{alert['alert_id']}/resolve", headers=T1)
        # Wait (with a deadline) for what the resolution releases, then for anything after it.
        released: list[dict[str, Any]] = []
        kinds: set[str] = set()
        while not {"insight", "celebration"} <= kinds:
            frame = await patient.next_message(timeout=10)
            if frame.get("type") == "message":
                released.append(frame["data"])
                kinds.add(frame["data"]["kind"])
        released += [f["data"] for f in await drain(patient, 0.3)]
    released_codes = {d["code"] for d in released if d["kind"] == "insight"}
    assert released_codes and released_codes <= {"mood_improving", "maintain_pace"}
    assert released_codes <= codes | {"maintain_pace", "mood_improving"}
    assert [d["milestone"]["rule"] for d in released if d["kind"] == "celebration"] == ["streak_3"]


async def test_escalation_survives_a_restart_and_stops_after_three(db_path: Path) -> None:
    clock = Clock(datetime(2026, 11, 21, 12, 0, tzinfo=UTC))
    settings = settings_for(db_path, coalesce_s=0.0, alert_escalate_after_s=600.0)
    server = start_server(settings, clock=clock)
    try:
        register(server, "p1", "t1")
        publish(server, checkin("e1", "p1", "2026-11-21", score=1))
    finally:
        server.stop()
    clock.now += timedelta(seconds=601)
    server = start_server(settings, clock=clock)
    try:
        async with await HubClient.connect(server.ws_url, token("admin", "ops")) as clinic:
            subscribed = await clinic.subscribe("clinic:escalations")
            escalated = subscribed["snapshot"]["escalated_alerts"] or [
                (await next_of_kind(clinic, "alert_escalated"))["data"]
            ]
        assert [a["escalations"] for a in escalated] == [1]
        clock.now += timedelta(seconds=3600)
    finally:
        server.stop()
    server = start_server(settings, clock=clock)
    try:
        url = f"{server.http_url}/api/v1/alerts"

        def escalations() -> int:
            return int(httpx.get(url, headers=T1).json()["alerts"][0]["escalations"])

        # Due twice over while the hub was down: the two escalations left happen, no more, one
        # per escalation pass (every MAX_PASS_S here): allow two passes and a loaded machine.
        wait_until(lambda: escalations() == 3, 2 * MAX_PASS_S + 20, "the last escalations")
        clock.now += timedelta(seconds=3600)
        async with await HubClient.connect(server.ws_url, token("admin", "ops")) as clinic:
            subscribed = await clinic.subscribe("clinic:escalations")
            frames = await drain(clinic, 0.5)
        assert [a["escalations"] for a in subscribed["snapshot"]["escalated_alerts"]] == [3]
        assert not [f for f in frames if f["data"]["kind"] == "alert_escalated"]
        assert escalations() == 3
    finally:
        server.stop()


def test_a_full_outbox_drops_new_deliveries_with_a_metric_and_a_log_line(
    db_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings_for(
        db_path,
        coalesce_s=0.0,
        webhooks=("http://127.0.0.1:9/unreachable",),
        webhook_secret="x" * 32,
        webhook_max_queued=1,
        webhook_max_backoff_s=60.0,
    )
    server = start_server(settings)
    try:
        register(server, "p1", "t1")
        with caplog.at_level(logging.ERROR, logger="progress_hub.webhooks"):
            publish(server, checkin("e1", "p1", "2026-11-20", score=1))
            publish(server, checkin("e2", "p1", "2026-11-21", score=1))
        metrics = httpx.get(f"{server.http_url}/metrics").text
        alerts = httpx.get(f"{server.http_url}/api/v1/alerts", headers=T1).json()["alerts"]
    finally:
        server.stop()
    assert len(alerts) == 2  # the alerts themselves are never dropped
    assert 'progress_hub_webhook_deliveries_total{outcome="dropped"} 1.0' in metrics
    assert "progress_hub_webhook_queue_depth 1.0" in metrics
    assert any("event=webhook_queue_full" in record.getMessage() for record in caplog.records)


async def test_a_subscription_publishes_open_alerts_again_up_to_the_cap(db_path: Path) -> None:
    server = start_server(settings_for(db_path, coalesce_s=0.0, redeliver_max=2))
    try:
        register(server, "p1", "t1")
        for n in range(3):
            publish(server, checkin(f"e{n}", "p1", f"2026-11-1{n}", score=1))
        async with await HubClient.connect(server.ws_url, token("therapist", "t1")) as therapist:
            subscribed = await therapist.subscribe("therapist:t1")
            again = [f["data"] for f in await drain(therapist, 0.5)]
    finally:
        server.stop()
    assert [a["event_id"] for a in subscribed["snapshot"]["open_alerts"]] == ["e0", "e1", "e2"]
    assert [(a["kind"], a["event_id"]) for a in again] == [("alert", "e0"), ("alert", "e1")]
