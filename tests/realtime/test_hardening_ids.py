"""Exactly-once without every id in memory: the log's key answers for ids the hub has let go."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from realtime.service import recent
from tests.realtime.helpers import checkin, register
from tests.support import settings_for, start_server, token

SERVICE = {"Authorization": f"Bearer {token('service', 'platform')}"}


def _publish(url: str, ids: list[str]) -> dict[str, list[str]]:
    events = [checkin(event_id, "p1", "2026-11-20") for event_id in ids]
    response = httpx.post(f"{url}/api/v1/events", json={"events": events}, headers=SERVICE)
    assert response.status_code == 200, response.text
    body: dict[str, list[str]] = response.json()
    return body


def _progress(url: str) -> object:
    return httpx.get(f"{url}/api/v1/patients/p1/series?days=366", headers=SERVICE).json()


def test_an_id_the_memory_front_has_forgotten_is_still_a_duplicate(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(recent.RecentIds.__init__, "__defaults__", (8,))
    live = start_server(settings_for(db_path))
    try:
        register(live, "p1", "t1")
        url = live.http_url
        assert _publish(url, ["old"])["accepted"] == ["old"]
        for batch in range(5):  # 20 newer ids push "old" out of an 8-id front
            _publish(url, [f"new-{batch}-{n}" for n in range(4)])
        before = _progress(url)
        again = _publish(url, ["old", "fresh", "new-4-3"])
        assert sorted(again["duplicates"]) == ["new-4-3", "old"]
        assert again["accepted"] == ["fresh"]
        assert _publish(url, ["old"])["duplicates"] == ["old"]
        assert _progress(url) != before  # "fresh" counted, "old" not twice
    finally:
        live.stop()


def test_after_a_restart_every_earlier_id_is_a_duplicate(db_path: Path) -> None:
    live = start_server(settings_for(db_path))
    try:
        register(live, "p1", "t1")
        assert _publish(live.http_url, ["a", "b"])["accepted"] == ["a", "b"]
    finally:
        live.stop()
    live = start_server(settings_for(db_path))
    try:
        before = _progress(live.http_url)
        again = _publish(live.http_url, ["b", "a", "c"])
        assert sorted(again["duplicates"]) == ["a", "b"] and again["accepted"] == ["c"]
        assert _progress(live.http_url) != before
        assert _publish(live.http_url, ["c"])["duplicates"] == ["c"]
    finally:
        live.stop()
