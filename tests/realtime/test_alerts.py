"""The alert inbox through real sockets and HTTP (``PROTOCOL.md`` section 7)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from clients.hub_client import HubClient, HubClientError
from tests.realtime.helpers import checkin, connected, drain, next_of_kind, register
from tests.support import LiveServer, settings_for, start_server, token, wait_until

ADMIN = {"Authorization": f"Bearer {token('admin', 'ops')}"}
T1 = {"Authorization": f"Bearer {token('therapist', 't1')}"}
T2 = {"Authorization": f"Bearer {token('therapist', 't2')}"}
WEBHOOK_SECRET = "webhook-secret-0123456789abcdef-0123"


@pytest.fixture
def live(db_path: Path) -> Iterator[LiveServer]:
    server = start_server(settings_for(db_path, coalesce_s=0.0, alert_escalate_after_s=0.4))
    register(server, "p1", "t1")
    try:
        yield server
    finally:
        server.stop()


async def test_a_crisis_reaches_the_therapist_with_its_alert_and_the_patient_with_support(
    live: LiveServer,
) -> None:
    async with connected(live, ("therapist", "t1"), ("patient", "p1")) as (therapist, patient):
        subscribed = await therapist.subscribe("therapist:t1")
        assert subscribed["snapshot"]["open_alerts"] == []
        await patient.subscribe("patient:p1")
        ack = await patient.publish([checkin("e1", "p1", "2026-11-21", score=1)])
        assert ack["accepted"] == ["e1"]
        alert = (await next_of_kind(therapist, "alert"))["data"]
        support = (await next_of_kind(patient, "support"))["data"]
    assert alert["code"] == "mood_crisis" and alert["severity"] == "critical"
    assert alert["event_id"] == "e1" and alert["event_at"] == "2026-11-21T12:00:00Z"
    assert alert["state"] == "open" and alert["escalations"] in (0, 1)
    assert alert["alert_id"].startswith("al_") and alert["therapist_id"] == "t1"
    assert support["resources"][0]["name"] == "Local emergency services"
    listed = httpx.get(f"{live.http_url}/api/v1/alerts", headers=T1).json()
    assert [a["alert_id"] for a in listed["alerts"]] == [alert["alert_id"]]
    assert listed["next_before"] is None


async def test_acknowledge_over_websocket_and_resolve_over_rest_are_told_and_audited(
    live: LiveServer,
) -> None:
    async with await HubClient.connect(live.ws_url, token("patient", "p1")) as patient:
        await patient.publish([checkin("e1", "p1", "2026-11-21", score=1)])
    async with await HubClient.connect(live.ws_url, token("therapist", "t1")) as therapist:
        subscribed = await therapist.subscribe("therapist:t1")
        (open_alert,) = subscribed["snapshot"]["open_alerts"]
        again = await next_of_kind(therapist, "alert")  # redelivered on every subscribe
        assert again["data"]["alert_id"] == open_alert["alert_id"]
        alert_id = open_alert["alert_id"]
        ok = await therapist.request(
            {"type": "acknowledge_alert", "alert_ids": [alert_id], "note": "called"}
        )
        assert ok["type"] == "ok" and ok["alert_ids"] == [alert_id]
        updated = (await next_of_kind(therapist, "alert_updated"))["data"]
        assert updated["state"] == "acknowledged" and updated["acknowledged_by"] == "t1"
        assert updated["acknowledged_at"].endswith("Z") and updated["note"] == "called"
        twice = await therapist.request({"type": "acknowledge_alert", "alert_ids": [alert_id]})
        assert twice["alert_ids"] == []
        with pytest.raises(HubClientError) as refused:
            await therapist.request({"type": "acknowledge_alert", "alert_ids": ["al_nope"]})
        assert refused.value.frame["code"] == "forbidden"
        assert (
            httpx.post(f"{live.http_url}/api/v1/alerts/{alert_id}/resolve", headers=T2).status_code
            == 403
        )
        resolved = httpx.post(
            f"{live.http_url}/api/v1/alerts/{alert_id}/resolve", json={"note": "safe"}, headers=T1
        )
        assert resolved.status_code == 200 and resolved.json()["state"] == "resolved"
        closed = (await next_of_kind(therapist, "alert_updated"))["data"]
        assert closed["state"] == "resolved"
    missing = httpx.post(f"{live.http_url}/api/v1/alerts/al_nope/acknowledge", headers=ADMIN)
    assert missing.status_code == 404 and missing.json()["code"] == "unknown_alert"
    assert httpx.get(f"{live.http_url}/api/v1/alerts", headers=T1).json()["alerts"] == []
    everything = httpx.get(f"{live.http_url}/api/v1/alerts?state=all", headers=T1).json()
    assert [a["state"] for a in everything["alerts"]] == ["resolved"]
    await live.runtime.audit.flush()
    audit = httpx.get(f"{live.http_url}/api/v1/audit?patient_id=p1", headers=ADMIN).json()
    actions = [entry["action"] for entry in audit["entries"]]
    assert "alert_acknowledge" in actions and "alert_resolve" in actions


async def test_an_open_critical_alert_escalates_three_times_to_the_therapist_and_the_clinic(
    live: LiveServer,
) -> None:
    async with connected(live, ("admin", "ops"), ("therapist", "t1")) as (clinic, therapist):
        await clinic.subscribe("clinic:escalations")
        await therapist.subscribe("therapist:t1")
        async with await HubClient.connect(live.ws_url, token("patient", "p1")) as patient:
            await patient.publish([checkin("e1", "p1", "2026-11-21", score=1)])
        counts = [(await next_of_kind(clinic, "alert_escalated"))["data"]["escalations"]]
        counts += [(await next_of_kind(clinic, "alert_escalated"))["data"]["escalations"]]
        counts += [(await next_of_kind(clinic, "alert_escalated"))["data"]["escalations"]]
        seen = (await next_of_kind(therapist, "alert_escalated"))["data"]
        assert counts == [1, 2, 3] and seen["escalations"] == 1
        assert not [f for f in await drain(clinic, 1.0) if f["data"]["kind"] == "alert_escalated"]
    with pytest.raises(HubClientError):
        async with await HubClient.connect(live.ws_url, token("therapist", "t1")) as other:
            await other.subscribe("clinic:escalations")


async def test_no_celebration_reaches_a_patient_in_crisis_until_the_alert_is_acknowledged(
    live: LiveServer,
) -> None:
    async with await HubClient.connect(live.ws_url, token("patient", "p1")) as patient:
        await patient.subscribe("patient:p1")
        for day in ("2026-11-18", "2026-11-19", "2026-11-20"):
            await patient.publish([checkin(f"m-{day}", "p1", day, score=1)])
        kinds = [frame["data"]["kind"] for frame in await drain(patient, 0.5)]
        assert "support" in kinds and "celebration" not in kinds
        page = httpx.get(f"{live.http_url}/api/v1/alerts", headers=T1).json()
        ids = [a["alert_id"] for a in page["alerts"]]
        assert len(ids) == 3
        milestones = httpx.get(f"{live.http_url}/api/v1/patients/p1/milestones", headers=T1)
        assert [m["rule"] for m in milestones.json()["milestones"]] == ["streak_3"]
        for alert_id in ids:
            httpx.post(f"{live.http_url}/api/v1/alerts/{alert_id}/acknowledge", headers=T1)
        celebration = (await next_of_kind(patient, "celebration"))["data"]
    assert celebration["milestone"]["rule"] == "streak_3"
    assert (
        celebration["milestone"]["achieved_at"] == milestones.json()["milestones"][0]["achieved_at"]
    )


class Receiver:
    """A webhook receiver on loopback that fails, hangs, then answers 200."""

    def __init__(self, script: list[str]) -> None:
        self.script = list(script)
        self.received: list[tuple[dict[str, Any], bytes, str]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                step = receiver.script.pop(0) if receiver.script else "ok"
                receiver.received.append(
                    (json.loads(body), body, self.headers["X-Progress-Hub-Signature"])
                )
                if step == "hang":
                    time.sleep(1.5)
                self.send_response(500 if step == "fail" else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


async def test_webhooks_are_signed_retried_through_failures_and_a_restart_with_one_id(
    db_path: Path,
) -> None:
    receiver = Receiver(["fail", "hang"] + ["fail"] * 1000)
    settings = settings_for(
        db_path,
        coalesce_s=0.0,
        webhooks=(receiver.url,),
        webhook_secret=WEBHOOK_SECRET,
        webhook_timeout_s=0.3,
        webhook_max_backoff_s=0.2,
    )
    server = start_server(settings)
    try:
        register(server, "p1", "t1")
        async with await HubClient.connect(server.ws_url, token("patient", "p1")) as patient:
            await patient.publish([checkin("e1", "p1", "2026-11-21", score=1)])
        wait_until(lambda: len(receiver.received) >= 3, 10, "three attempts")
    finally:
        server.stop()
    receiver.script = []  # the receiver comes back; the hub too
    tries = len(receiver.received)
    server = start_server(settings)
    try:
        wait_until(lambda: len(receiver.received) > tries, 10, "delivery after restart")
        metrics = httpx.get(f"{server.http_url}/metrics").text
        raised = [body for body, _, _ in receiver.received]
        alert_id = raised[0]["alert"]["alert_id"]
        httpx.post(f"{server.http_url}/api/v1/alerts/{alert_id}/acknowledge", headers=T1)
        wait_until(lambda: len(receiver.received) > len(raised), 10, "the acknowledgement")
    finally:
        server.stop()
        receiver.close()
    told = receiver.received[-1][0]
    assert told["type"] == "alert.acknowledged" and told["alert"]["state"] == "acknowledged"
    assert told["delivery_id"] != raised[0]["delivery_id"]
    bodies = raised
    assert {body["delivery_id"] for body in bodies} == {bodies[0]["delivery_id"]}
    assert {body["type"] for body in bodies} == {"alert.raised"}
    assert bodies[0]["alert"]["event_id"] == "e1"
    for _, raw, signature in receiver.received:
        digest = hmac.new(WEBHOOK_SECRET.encode(), raw, hashlib.sha256).hexdigest()
        assert signature == f"sha256={digest}"
    assert 'progress_hub_webhook_deliveries_total{outcome="delivered"} 1.0' in metrics
