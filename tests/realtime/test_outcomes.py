"""Validated measures over real sockets: alerts, the live series, REST outcomes (section 8).

Patient p1 (therapist t1, UTC) completes PHQ-9 16 -> 8 and GAD-7 12 -> 7 two weeks apart: a
reliable recovery on both.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx

from clients.hub_client import HubClient
from tests.realtime.helpers import mood_checkin, next_of_kind
from tests.support import LiveServer, session_events, token

T1 = {"Authorization": f"Bearer {token('therapist', 't1')}"}
T2 = {"Authorization": f"Bearer {token('therapist', 't2')}"}


def questionnaire(event_id: str, day: str, instrument: str, items: list[int]) -> dict[str, Any]:
    return {
        "id": event_id,
        "kind": "measure_completed",
        "patient_id": "p1",
        "at": f"{day}T10:00:00+01:00",
        "instrument": instrument,
        "items": items,
    }


def course() -> list[dict[str, Any]]:
    today = datetime.now(UTC).date().toordinal()
    first, second = (datetime.fromordinal(today - gap).date().isoformat() for gap in (14, 0))
    return [
        questionnaire("phq-1", first, "PHQ-9", [2, 2, 2, 2, 2, 2, 2, 2, 0]),
        questionnaire("gad-1", first, "GAD-7", [2, 2, 2, 2, 2, 1, 1]),
        questionnaire("phq-2", second, "PHQ-9", [1, 1, 1, 1, 1, 1, 1, 1, 0]),
        questionnaire("gad-2", second, "GAD-7", [1, 1, 1, 1, 1, 1, 1]),
    ]


def get(live: LiveServer, path: str, headers: dict[str, str] = T1) -> httpx.Response:
    return httpx.get(f"{live.http_url}{path}", headers=headers)


async def test_item_nine_pushes_the_critical_screen_alert_to_the_therapist(
    live_p1: LiveServer,
) -> None:
    async with (
        await HubClient.connect(live_p1.ws_url, token("therapist", "t1")) as therapist,
        await HubClient.connect(live_p1.ws_url, token("patient", "p1")) as patient,
    ):
        await therapist.subscribe("therapist:t1")
        await patient.publish([questionnaire("q1", "2026-11-20", "PHQ-9", [0] * 8 + [1])])
        alert = await next_of_kind(therapist, "alert")
    assert alert["channel"] == "therapist:t1"
    assert (alert["data"]["code"], alert["data"]["severity"]) == ("suicide_risk_screen", "critical")
    assert alert["data"]["patient_id"] == "p1"
    # Raised by that event: the alert names it, so a replay or a re-send cannot raise another.
    assert alert["data"]["event_id"] == "q1"
    assert alert["data"]["event_at"].endswith("Z") and alert["data"]["alert_id"]


async def test_a_reliable_rise_pushes_a_deterioration_warning(live_p1: LiveServer) -> None:
    async with (
        await HubClient.connect(live_p1.ws_url, token("therapist", "t1")) as therapist,
        await HubClient.connect(live_p1.ws_url, token("patient", "p1")) as patient,
    ):
        await therapist.subscribe("therapist:t1")
        await patient.publish([questionnaire("g1", "2026-11-01", "GAD-7", [0] * 7)])
        await patient.publish([questionnaire("g2", "2026-11-15", "GAD-7", [1] * 5 + [0, 0])])
        alert = await next_of_kind(therapist, "alert")
    assert (alert["data"]["code"], alert["data"]["severity"]) == (
        "reliable_deterioration",
        "warning",
    )
    assert alert["data"]["event_id"] == "g2"  # the score that made the change reliable


async def test_live_series_deltas_carry_the_days_totals(live_p1: LiveServer) -> None:
    async with (
        await HubClient.connect(live_p1.ws_url, token("therapist", "t1")) as therapist,
        await HubClient.connect(live_p1.ws_url, token("patient", "p1")) as patient,
    ):
        await therapist.subscribe("patient:p1")
        await patient.publish(course()[2:3])
        delta = await next_of_kind(therapist, "series")
    assert delta["data"]["values"]["phq9_total"] == 8
    assert delta["data"]["values"]["gad7_total"] is None


async def test_outcomes_progress_and_series_over_rest(live_p1: LiveServer) -> None:
    async with await HubClient.connect(live_p1.ws_url, token("patient", "p1")) as patient:
        ack = await patient.publish(course())
    assert ack["rejected"] == []
    outcomes = get(live_p1, "/api/v1/patients/p1/outcomes")
    assert outcomes.status_code == 200, outcomes.text
    measures = outcomes.json()["measures"]
    phq, gad = measures["PHQ-9"], measures["GAD-7"]
    assert (phq["baseline"]["total"], phq["latest"]["total"], phq["change"]) == (16, 8, -8)
    assert (gad["baseline"]["total"], gad["latest"]["total"], gad["change"]) == (12, 7, -5)
    assert phq["reliable_recovery"] and gad["reliable_recovery"]
    assert [point["total"] for point in phq["history"]] == [16, 8]
    assert phq["baseline"]["at"].endswith("Z")

    progress = get(live_p1, "/api/v1/patients/p1/progress").json()
    assert progress["measures"]["PHQ-9"]["latest"]["severity"] == "mild"
    assert "history" not in progress["measures"]["PHQ-9"]

    series = get(live_p1, "/api/v1/patients/p1/series?days=15").json()["series"]
    assert (series["phq9_total"][0], series["phq9_total"][-1]) == (16, 8)
    assert (series["gad7_total"][0], series["gad7_total"][-1]) == (12, 7)
    assert series["phq9_total"][1:-1] == [None] * 13

    today = datetime.now(UTC).date()
    span = f"from={datetime.fromordinal(today.toordinal() - 20).date()}&to={today}"
    report = get(live_p1, f"/api/v1/patients/p1/report?{span}").json()
    assert report["outcomes"]["GAD-7"]["reliable_recovery"] is True
    assert any(finding.startswith("PHQ-9 went from 16 to 8") for finding in report["findings"])

    practice = get(live_p1, "/api/v1/analytics/outcomes").json()
    assert practice["PHQ-9"]["patients"] == 1
    assert practice["PHQ-9"]["reliable_recovery_rate"] == 1.0
    assert practice["GAD-7"]["reliable_improvement_rate"] == 1.0


def test_outcomes_follow_the_read_rules_and_are_audited(live_p1: LiveServer) -> None:
    assert get(live_p1, "/api/v1/patients/p1/outcomes", T2).status_code == 403
    assert get(live_p1, "/api/v1/analytics/outcomes", T2).json()["PHQ-9"]["patients"] == 0
    assert get(live_p1, "/api/v1/patients/p1/outcomes").status_code == 200
    admin = {"Authorization": f"Bearer {token('admin', 'ops')}"}
    audit = get(live_p1, "/api/v1/audit?patient_id=p1", admin).json()
    assert any(entry["action"] == "outcomes" for entry in audit["entries"])


async def test_every_instant_the_hub_writes_ends_in_z(live_p1: LiveServer) -> None:
    async with (
        await HubClient.connect(live_p1.ws_url, token("therapist", "t1")) as therapist,
        await HubClient.connect(live_p1.ws_url, token("patient", "p1")) as patient,
    ):
        await therapist.subscribe("patient:p1")
        crisis = mood_checkin("low", "p1", "2026-11-20T12:00:00+01:00", 1)
        await patient.publish(session_events("p1", "s1", "2026-11-20"))
        celebration = await next_of_kind(therapist, "celebration")
        # After the celebration: while a crisis is open, celebrations are held (section 7).
        await patient.publish([crisis])
        await next_of_kind(therapist, "support")
    assert celebration["data"]["milestone"]["achieved_at"].endswith("Z")
    admin = {"Authorization": f"Bearer {token('admin', 'ops')}"}
    today = datetime.now(UTC).date()  # the live hub raises alerts at its own clock
    bodies = [
        get(live_p1, "/api/v1/patients/p1/milestones").text,
        get(live_p1, "/api/v1/patients/p1/progress").text,
        get(live_p1, f"/api/v1/patients/p1/report?from=2026-11-01&to={today}").text,
        get(live_p1, "/api/v1/audit", admin).text,
    ]
    assert '"achieved_at"' in bodies[0] and '"raised_at"' in bodies[2]
    for body in bodies:
        assert "+00:00" not in body


async def test_a_live_celebration_carries_the_rest_instant_when_a_batch_arrives_reversed(
    live_p1: LiveServer,
) -> None:
    checkins = [
        {
            "id": f"c{day}",
            "kind": "mood_checkin",
            "patient_id": "p1",
            "at": f"2026-11-{10 + day}T{9 + 4 * day:02d}:50:00Z",
            "score": 6,
        }
        for day in range(4)
    ]
    async with (
        await HubClient.connect(live_p1.ws_url, token("therapist", "t1")) as therapist,
        await HubClient.connect(live_p1.ws_url, token("patient", "p1")) as patient,
    ):
        await therapist.subscribe("patient:p1")
        await patient.publish(list(reversed(checkins)))
        celebration = await next_of_kind(therapist, "celebration")
    live = celebration["data"]["milestone"]
    listed = get(live_p1, "/api/v1/patients/p1/milestones").json()["milestones"]
    rest = next(item for item in listed if item["rule"] == live["rule"])
    assert live["achieved_at"] == rest["achieved_at"]
    assert rest["rule"] == "streak_3" and rest["achieved_at"] == "2026-11-12T17:50:00Z"
