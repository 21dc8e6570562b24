"""The series' daily ``dropout_score`` column over the real REST endpoint (docs/domain.md §7).

Patient p1 (therapist t1, UTC) checks in once a day for 25 days, the mood falling over the last
week; the check-ins arrive newest first, as a phone that was offline sends them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from clients.hub_client import HubClient
from tests.support import LiveServer, token

T1 = {"Authorization": f"Bearer {token('therapist', 't1')}"}
DAYS = 25


def daily_checkins(now: datetime) -> list[dict[str, Any]]:
    """One check-in on each of the last 25 local days (UTC), today's before now."""
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    into_the_day = (now - midnight) / 2
    return [
        {
            "id": f"checkin-{back}",
            "kind": "mood_checkin",
            "patient_id": "p1",
            "at": (midnight - timedelta(days=back) + into_the_day).isoformat(),
            "score": 8 if back >= 7 else 2 + back // 2,
        }
        for back in range(DAYS)
    ]


def get(live: LiveServer, path: str) -> dict[str, Any]:
    response = httpx.get(f"{live.http_url}{path}", headers=T1)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_daily_check_in_patient_has_a_dropout_score_every_day(
    live_p1: LiveServer,
) -> None:
    async with await HubClient.connect(live_p1.ws_url, token("patient", "p1")) as patient:
        ack = await patient.publish(daily_checkins(datetime.now(UTC)))
    assert ack["rejected"] == []

    series = get(live_p1, "/api/v1/patients/p1/series")
    column = series["series"]["dropout_score"]
    progress = get(live_p1, "/api/v1/patients/p1/progress")
    assert len(column) == len(series["time_buckets"]) == 14
    assert None not in column
    assert series["meta"]["units"]["dropout_score"] == "score 0-1"
    assert column[-1] == progress["dropout_risk"]["score"]
    # Until a week ago the mood held at 8: no factor was raised. Then it fell day by day, and
    # each day's score shows the fall as far as it had gone by that evening.
    assert column[:7] == [0.0] * 7
    assert column[7:] == sorted(column[7:])
    assert column[-1] > 0.0
