"""Tokens never reach the log, whichever way a client sends them, accepted or refused."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.hubprocess import HubProcess
from tests.support import token

pytestmark = pytest.mark.slow


def test_no_token_reaches_the_log(tmp_path: Path) -> None:
    admin = token("admin", "ops")
    forged = token("admin", "ops", secret="not-the-hub-secret-0123456789abcdef")
    hub = HubProcess(tmp_path / "hub.db", tmp_path / "hub.log")
    try:
        ws_url = hub.url.replace("http", "ws", 1) + "/ws"
        with connect(f"{ws_url}?token={admin}") as accepted:
            assert json.loads(accepted.recv(timeout=10))["type"] == "welcome"
        with (
            pytest.raises(ConnectionClosed),
            connect(ws_url, additional_headers={"Authorization": f"Bearer {forged}"}) as refused,
        ):
            refused.recv(timeout=10)
        listed = httpx.get(
            f"{hub.url}/api/v1/alerts", headers={"Authorization": f"Bearer {admin}"}, timeout=10
        )
        assert listed.status_code == 200
        unauthorized = httpx.get(f"{hub.url}/api/v1/alerts?token={forged}", timeout=10)
        assert unauthorized.status_code in (401, 422)
    finally:
        hub.kill()
    log = hub.log.read_text()
    assert "event=ws_" in log  # the connections were logged...
    for secret in (admin, forged):
        assert secret not in log  # ...without their tokens
        assert secret.split(".")[2] not in log  # not even the signature alone
