"""Token claims are checked as RFC 7519 types, through HTTP and the WebSocket handshake."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import jwt
import pytest
import websockets

from clients.hub_client import HubClient, HubClosed
from tests.support import SECRET, LiveServer, token

FAR_FUTURE = int(time.time()) + 10 * 365 * 86400


def _signed(**claims: Any) -> str:
    return jwt.encode({"sub": "ops", "role": "admin", **claims}, SECRET, algorithm="HS256")


@pytest.mark.parametrize(
    "claims",
    [
        {"exp": str(FAR_FUTURE)},
        {"exp": FAR_FUTURE, "nbf": "0"},
        {"exp": FAR_FUTURE, "iat": str(int(time.time()) - 60)},
        {"exp": [FAR_FUTURE]},
    ],
    ids=["exp-string", "nbf-string", "iat-string", "exp-list"],
)
def test_a_time_claim_that_is_not_a_number_is_refused(
    live_p1: LiveServer, claims: dict[str, Any]
) -> None:
    bearer = _signed(**claims)
    response = httpx.get(
        f"{live_p1.http_url}/api/v1/patients/p1/progress",
        headers={"Authorization": f"Bearer {bearer}"},
    )
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"

    with pytest.raises(HubClosed) as refused:
        asyncio.run(HubClient.connect(live_p1.ws_url, bearer))
    assert refused.value.code == 4001


def test_a_numeric_exp_still_works(live_p1: LiveServer) -> None:
    response = httpx.get(
        f"{live_p1.http_url}/api/v1/patients/p1/progress",
        headers={"Authorization": f"Bearer {_signed(exp=FAR_FUTURE, iat=time.time())}"},
    )
    assert response.status_code == 200, response.text


def test_a_query_token_and_a_different_header_token_are_refused(live_p1: LiveServer) -> None:
    admin, patient = token("admin", "ops"), token("patient", "p1")

    async def handshake(query: str, header: str) -> int | None:
        headers = {"Authorization": f"Bearer {header}"}
        async with websockets.connect(
            f"{live_p1.ws_url}?token={query}", additional_headers=headers
        ) as websocket:
            try:
                first = json.loads(await asyncio.wait_for(websocket.recv(), 5))
            except websockets.ConnectionClosed:
                return websocket.close_code
            assert first["type"] == "welcome" and first["sub"] == "ops"
            return None

    assert asyncio.run(handshake(admin, patient)) == 4001
    assert asyncio.run(handshake(patient, admin)) == 4001
    assert asyncio.run(handshake(admin, admin)) is None


def test_rest_never_reads_a_token_from_the_url(live_p1: LiveServer) -> None:
    admin = token("admin", "ops")
    for method, path in (
        ("GET", "/api/v1/analytics/topics"),
        ("GET", "/api/v1/patients/p1/progress"),
        ("POST", "/api/v1/events"),
    ):
        response = httpx.request(
            method, f"{live_p1.http_url}{path}", params={"token": admin}, json={"events": []}
        )
        # 401 (no token in the header) or 422 (``token`` is no parameter of this endpoint).
        assert response.status_code in (401, 422), (path, response.text)
