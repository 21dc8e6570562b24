"""Hostile bodies over real HTTP: each gets the error shape, and the connection stays usable."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.support import LiveServer, token

SERVICE = {"Authorization": f"Bearer {token('service', 'platform')}"}
JSON = {**SERVICE, "Content-Type": "application/json"}


@pytest.fixture
def http(live_p1: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_p1.http_url, timeout=10) as client:
        yield client


def _assert_invalid_body(response: httpx.Response, mentions: str) -> None:
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "bad_request" and body["field"] == "body", body
    assert mentions in body["detail"]


def _still_serves(http: httpx.Client) -> None:
    """The same keep-alive connection answers the next request."""
    response = http.get("/api/v1/patients/p1/progress", headers=SERVICE)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "body",
    ["[" * 10_000 + "]" * 10_000, '{"events": ' + "[" * 100_000, '{"events": [' + "{" * 5000],
    ids=["array", "unterminated-events", "objects"],
)
def test_deep_nesting_is_422_with_the_error_shape(http: httpx.Client, body: str) -> None:
    response = http.post("/api/v1/events", content=body, headers=JSON)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "bad_request"
    assert response.json()["field"] == "body"
    _still_serves(http)


@pytest.mark.parametrize(
    ("path", "method", "body"),
    [
        (
            "/api/v1/events",
            "POST",
            '{"events":[{"id":"\\ud800","kind":"mood_checkin","patient_id":"p1",'
            '"at":"2026-11-20T12:00:00Z","score":5}]}',
        ),
        ("/api/v1/patients/p9", "PUT", '{"therapist_id":"t\\udc00","timezone":"UTC"}'),
        ("/api/v1/patients/p9", "PUT", '{"therapist_id":"t1","timezone":"UTC","\\ud800":1}'),
    ],
    ids=["event-id", "therapist-id", "key"],
)
def test_a_lone_surrogate_is_422_and_the_connection_stays_usable(
    http: httpx.Client, path: str, method: str, body: str
) -> None:
    response = http.request(method, path, content=body, headers=JSON)
    _assert_invalid_body(response, "surrogate")
    _still_serves(http)


def test_a_lone_surrogate_sent_as_raw_bytes_is_not_utf8(http: httpx.Client) -> None:
    body = b'{"therapist_id":"t\xed\xa0\x80","timezone":"UTC"}'
    response = http.put("/api/v1/patients/p9", content=body, headers=JSON)
    _assert_invalid_body(response, "UTF-8")
    _still_serves(http)
