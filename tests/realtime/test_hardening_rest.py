"""Hostile bodies over real HTTP: each gets the error shape, and the connection stays usable."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

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


def _param_schema(document: dict[str, Any], path: str, name: str) -> dict[str, Any]:
    for param in document["paths"][path]["get"]["parameters"]:
        if param["name"] == name:
            schema: dict[str, Any] = param["schema"]
            return schema
    raise AssertionError(f"{path} documents no {name}")


def _document_allows(schema: dict[str, Any], value: str) -> bool:
    if "enum" in schema and value not in schema["enum"]:
        return False
    return "pattern" not in schema or re.search(schema["pattern"], value) is not None


@pytest.mark.parametrize(
    ("path", "name", "value"),
    [
        *[
            ("/api/v1/analytics/heatmap", "tz", zone)
            for zone in ("", "Mars/Olympus", "posixrules", "localtime", "Factory")
        ],
        ("/api/v1/analytics/overview", "tz", "posix/Europe/Berlin"),
        ("/api/v1/analytics/sessions/trends", "tz", "0"),
        *[
            ("/api/v1/analytics/compare", "patient_ids", ids)
            for ids in ("", "p1", ",,", ",".join(f"p{i}" for i in range(11)))
        ],
    ],
)
def test_a_query_the_server_refuses_is_one_the_document_refuses(
    http: httpx.Client, path: str, name: str, value: str
) -> None:
    response = http.get(path, params={name: value}, headers=SERVICE)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == name
    document = http.get("/openapi.json").json()
    assert not _document_allows(_param_schema(document, path, name), value)


def test_every_documented_zone_is_served(http: httpx.Client) -> None:
    document = http.get("/openapi.json").json()
    zones = _param_schema(document, "/api/v1/analytics/heatmap", "tz")["enum"]
    assert "Europe/Berlin" in zones and "UTC" in zones
    registered = document["components"]["schemas"]["PatientRegistration"]["properties"]
    assert registered["timezone"]["enum"] == zones
    for tz in zones[::25]:
        response = http.get("/api/v1/analytics/heatmap", params={"tz": tz}, headers=SERVICE)
        assert response.status_code == 200, (tz, response.text)


@pytest.mark.parametrize("timezone", ["0", "", "posixrules", "localtime", "Factory", "right/UTC"])
def test_a_registration_zone_that_is_no_location_is_422(http: httpx.Client, timezone: str) -> None:
    response = http.put(
        "/api/v1/patients/p7", json={"therapist_id": "t1", "timezone": timezone}, headers=SERVICE
    )
    assert response.status_code == 422, response.text
    assert response.json()["field"] == "timezone"
    document = http.get("/openapi.json").json()
    registered = document["components"]["schemas"]["PatientRegistration"]["properties"]
    assert timezone not in registered["timezone"]["enum"]


def test_a_wrong_method_is_405_with_allow(http: httpx.Client) -> None:
    response = http.get("/api/v1/events", headers=SERVICE)
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
    assert response.headers["allow"] == "POST"
    response = http.delete("/api/v1/patients/p1", headers=SERVICE)
    assert response.status_code == 405 and response.headers["allow"] == "PUT"
