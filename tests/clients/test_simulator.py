"""``progress-hub simulate`` against a real hub: a practice that registers, streams and alerts."""

from __future__ import annotations

import io

import httpx
import pytest

from clients.hub_client import HubClient
from clients.simulator import Simulation, simulate
from realtime.cli import main
from tests.support import LiveServer, token


async def test_a_simulated_practice_streams_with_its_personas(live_p1: LiveServer) -> None:
    out = io.StringIO()
    therapist = token("therapist", "t7")
    async with await HubClient.connect(live_p1.ws_url, therapist) as watcher:
        await watcher.subscribe("therapist:t7")
        report = await simulate(
            Simulation(
                url=live_p1.ws_url,
                token=token("service", "simulator"),
                therapist_id="t7",
                patients=4,
                rate=40,
                seconds=1.5,
                seed=3,
            ),
            out,
        )
        alerts: set[tuple[str, str]] = set()
        while len(alerts) < 2:
            frame = await watcher.next_message(timeout=10)
            alerts.add((frame["data"]["code"], frame["data"]["patient_id"]))
    assert alerts == {("mood_crisis", "t7-p04"), ("dropout_risk_high", "t7-p02")}
    headers = {"Authorization": f"Bearer {therapist}"}
    overview = httpx.get(f"{live_p1.http_url}/api/v1/analytics/overview", headers=headers).json()
    assert overview["total_patients"] == 4
    # Every event sent was answered; only questionnaires may be refused (no measures yet).
    assert report.accepted + sum(report.rejected.values()) == report.published
    assert set(report.rejected) <= {"invalid_event measure_completed"}
    assert report.published > 100
    assert "simulate: sent" in out.getvalue() and "4 patients of t7 registered" in out.getvalue()


@pytest.mark.parametrize("flag", [["--patients", "0"], ["--rate", "0"], ["--seconds", "-1"]])
def test_simulate_refuses_nonsense_numbers(flag: list[str], capsys: pytest.CaptureFixture) -> None:
    argv = ["simulate", "--therapist", "t1", "--token", "x", *flag]
    assert main(argv) == 2
    assert "must be above 0" in capsys.readouterr().err
