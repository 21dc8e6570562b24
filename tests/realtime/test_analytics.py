"""REST figures against hand-computed expectations on a seeded clinic, at a fixed instant.

Now is Saturday 2026-11-21 12:00 UTC. Therapist t1 has:
- p1 (UTC): completed sessions ending Mon 11-16, Wed 11-18 and Fri 11-20 at 10:50 UTC
  (topics anxiety; the last also sleep), moods 4 -> 6; a session cancelled on Thu 11-19.
- p2 (UTC): a session completed Thu 10-15 at 10:50 UTC (anxiety); one scheduled for 11-25.
Therapist t2 has p3, which must appear in none of t1's figures.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from realtime.app import create_app
from tests.support import session_events, settings_for, token

NOW = datetime(2026, 11, 21, 12, tzinfo=UTC)
T1 = {"Authorization": f"Bearer {token('therapist', 't1')}"}


def events() -> list[dict[str, Any]]:
    p1 = [
        *session_events("p1", "s1", "2026-11-16"),
        *session_events("p1", "s2", "2026-11-18"),
        *session_events("p1", "s3", "2026-11-20"),
        *session_events("p1", "s4", "2026-11-19", status="cancelled", duration_s=0),
    ]
    p1[5]["topics"] = ["anxiety", "sleep"]
    p2 = session_events("p2", "s5", "2026-10-15") + [
        {
            "id": "plan",
            "kind": "session_scheduled",
            "patient_id": "p2",
            "at": "2026-11-20T08:00:00Z",
            "session_id": "s6",
            "scheduled_for": "2026-11-25T09:00:00Z",
        }
    ]
    p3 = session_events("p3", "s7", "2026-11-20")
    return p1 + p2 + p3


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    db = Path(tmp_path_factory.mktemp("analytics")) / "hub.db"
    with TestClient(create_app(settings_for(db), clock=lambda: NOW)) as client:
        service = {"Authorization": f"Bearer {token('service', 'platform')}"}
        for patient_id, therapist_id in (("p1", "t1"), ("p2", "t1"), ("p3", "t2")):
            body = {"therapist_id": therapist_id, "timezone": "UTC"}
            client.put(f"/api/v1/patients/{patient_id}", json=body, headers=service)
        reply = client.post("/api/v1/events", json={"events": events()}, headers=service)
        assert reply.json()["rejected"] == []
        yield client


def test_overview(clinic: TestClient) -> None:
    overview = clinic.get("/api/v1/analytics/overview", headers=T1).json()
    assert overview["total_patients"] == 2
    assert overview["active_patients"] == 1  # p2's last activity is 37 days old
    assert overview["sessions_this_week"] == 3  # Mon 11-16 onwards
    assert overview["sessions_this_month"] == 3
    assert overview["upcoming_sessions"] == 1
    assert overview["completion_rate"] == pytest.approx(4 / 5)


def test_monthly_trends_cover_twelve_months_ending_now(clinic: TestClient) -> None:
    trends = clinic.get("/api/v1/analytics/sessions/trends?period=month", headers=T1).json()
    assert trends["period"] == "month"
    data = trends["data"]
    assert len(data) == 12
    assert (data[-1]["sessions"], data[-1]["unique_patients"]) == (3, 1)
    assert (data[-2]["sessions"], data[-2]["unique_patients"]) == (1, 1)
    assert sum(bucket["sessions"] for bucket in data) == 4
    assert "Nov" in data[-1]["label"] and "Oct" in data[-2]["label"]


def test_weekly_trends_of_one_patient(clinic: TestClient) -> None:
    url = "/api/v1/analytics/sessions/trends?period=week&patient_id=p1"
    data = clinic.get(url, headers=T1).json()["data"]
    assert len(data) == 12
    assert data[-1]["sessions"] == 3 and sum(bucket["sessions"] for bucket in data) == 3


def test_topics_are_counts_and_shares_of_mentions(clinic: TestClient) -> None:
    topics = clinic.get("/api/v1/analytics/topics", headers=T1).json()["topics"]
    assert topics == [
        {"name": "anxiety", "count": 4, "percentage": pytest.approx(0.8)},
        {"name": "sleep", "count": 1, "percentage": pytest.approx(0.2)},
    ]


def test_heatmap_in_two_zones(clinic: TestClient) -> None:
    utc = clinic.get("/api/v1/analytics/heatmap?tz=UTC", headers=T1).json()
    assert utc["tz"] == "UTC" and utc["total"] == 4
    assert utc["peak_hour"] == 10 and utc["peak_day"] == "Mon"
    tokyo = clinic.get("/api/v1/analytics/heatmap?tz=Asia/Tokyo", headers=T1).json()
    assert tokyo["peak_hour"] == 19  # 10:50 UTC is 19:50 in Tokyo


def test_series_has_the_requested_days(clinic: TestClient) -> None:
    series = clinic.get("/api/v1/patients/p1/series?days=7", headers=T1).json()
    assert series["time_buckets"][-1] == "2026-11-21" and len(series["time_buckets"]) == 7
    # 11-15 .. 11-21: sessions completed on 11-16, 11-18 and 11-20; 11-19 was cancelled.
    assert series["series"]["activity_count"] == [0, 1, 0, 1, 0, 1, 0]
    assert series["series"]["minutes"] == [0, 50, 0, 50, 0, 50, 0]
    assert series["series"]["mood_post"][1] == 6 and series["series"]["mood_post"][0] is None


def test_compare_sets_figures_against_the_previous_period(clinic: TestClient) -> None:
    compared = clinic.get("/api/v1/analytics/compare?patient_ids=p1,p2&days=7", headers=T1).json()
    assert compared["days"] == 7
    p1, p2 = compared["patients"]
    assert p1["patient_id"] == "p1" and p2["patient_id"] == "p2"
    assert p1["sessions_completed"] == {"value": 3, "previous": 0, "change": 3, "change_pct": None}
    assert p1["completion_rate"]["value"] == pytest.approx(0.75)
    assert p1["avg_mood_post"]["value"] == 6.0
    assert p2["sessions_completed"]["value"] == 0
    assert p1["dropout_risk"]["change"] is None


def test_report_for_november(clinic: TestClient) -> None:
    report = clinic.get(
        "/api/v1/patients/p1/report?from=2026-11-01&to=2026-11-30", headers=T1
    ).json()
    assert report["sessions"]["completed"] == 3
    assert report["sessions"]["missed"] == 1
    assert report["sessions"]["completion_rate"] == pytest.approx(0.75)
    assert report["mood"]["avg_pre"] == 4.0 and report["mood"]["avg_post"] == 6.0
    assert report["mood"]["avg_change_pre_to_post"] == 2.0
    assert [m["rule"] for m in report["milestones"]][:1] == ["first_session"]
    assert any("3 of 4 sessions" in finding for finding in report["findings"])


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("/api/v1/analytics/sessions/trends?period=decade", "period"),
        ("/api/v1/analytics/heatmap?tz=Moon/Base", "tz"),
        ("/api/v1/patients/p1/series?days=0", "days"),
        ("/api/v1/patients/p1/series?days=many", "days"),
        ("/api/v1/patients/p1/series?colour=red", "colour"),
        ("/api/v1/patients/p1/report?from=2026-11-30&to=2026-11-01", "to"),
        ("/api/v1/patients/p1/report?to=2026-11-01", "from"),
        ("/api/v1/analytics/compare?patient_ids=p1,p2&days=-1", "days"),
    ],
)
def test_bad_queries_are_422_naming_the_field(clinic: TestClient, query: str, field: str) -> None:
    response = clinic.get(query, headers=T1)
    assert response.status_code == 422
    assert response.json()["field"] == field


def test_rate_limit_answers_429_with_retry_after(tmp_path: Path) -> None:
    settings = settings_for(tmp_path / "hub.db", rest_rate_per_s=0.5, rest_rate_burst=2)
    with TestClient(create_app(settings)) as client:
        statuses = [client.get("/api/v1/analytics/topics", headers=T1) for _ in range(3)]
        other = client.get(
            "/api/v1/analytics/topics", headers={"Authorization": f"Bearer {token('admin', 'x')}"}
        )
    assert [r.status_code for r in statuses] == [200, 200, 429]
    assert int(statuses[2].headers["Retry-After"]) >= 1
    assert other.status_code == 200  # the limit is per token
