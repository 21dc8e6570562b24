"""Helpers shared by the WebSocket tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import httpx

from clients.hub_client import HubClient
from tests.support import LiveServer, token

SERVICE = {"Authorization": f"Bearer {token('service', 'platform')}"}


def register(live: LiveServer, patient_id: str, therapist_id: str, tz: str = "UTC") -> None:
    response = httpx.put(
        f"{live.http_url}/api/v1/patients/{patient_id}",
        json={"therapist_id": therapist_id, "timezone": tz},
        headers=SERVICE,
    )
    assert response.status_code in (200, 201), response.text


@asynccontextmanager
async def connected(live: LiveServer, *who: tuple[str, str]) -> AsyncIterator[list[HubClient]]:
    """One open connection per ``(role, sub)``, in that order; all closed on the way out."""
    async with AsyncExitStack() as stack:
        clients = []
        for role, sub in who:
            client = await HubClient.connect(live.ws_url, token(role, sub))
            clients.append(await stack.enter_async_context(client))
        yield clients


async def next_of_kind(client: HubClient, kind: str, timeout: float = 10.0) -> dict[str, Any]:
    """The next ``message`` whose data is of ``kind``, skipping others."""
    while True:
        frame = await client.next_message(timeout=timeout)
        if frame.get("type") == "message" and frame["data"]["kind"] == kind:
            return frame


async def drain(client: HubClient, quiet_s: float = 0.3) -> list[dict[str, Any]]:
    """Every frame that arrives until the connection has been quiet for ``quiet_s``."""
    frames = []
    while True:
        try:
            frames.append(await client.next_message(timeout=quiet_s))
        except TimeoutError:
            return frames


def mood_checkin(event_id: str, patient_id: str, at: str, score: int) -> dict[str, Any]:
    """A ``mood_checkin`` event as a platform sends it, ``at`` as written on the wire."""
    return {
        "id": event_id,
        "kind": "mood_checkin",
        "patient_id": patient_id,
        "at": at,
        "score": score,
    }


def checkin(event_id: str, patient_id: str, day: str, score: int = 6) -> dict[str, Any]:
    """A mood check-in at noon UTC on ``day``."""
    return mood_checkin(event_id, patient_id, f"{day}T12:00:00+00:00", score)
