"""Token claims are checked as RFC 7519 types, through HTTP and the WebSocket handshake."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import jwt
import pytest

from clients.hub_client import HubClient, HubClosed
from tests.support import SECRET, LiveServer

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
