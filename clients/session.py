"""``SessionClient``: a patient app's or session server's connection to the hub, with an outbox.

::

    async with SessionClient("ws://127.0.0.1:8000/ws", token, outbox="app-outbox.db") as client:
        await client.publish({"kind": "mood_checkin", "patient_id": "p1",
                              "at": "2026-11-21T09:30:00+01:00", "score": 6})
        await client.flush(timeout=10)

Theory of operation
-------------------
``publish`` only writes the event to the outbox (a local SQLite file, or memory when
``outbox=None``) and returns. One background task keeps a connection: it connects, reads the
hub's ``welcome.limits``, and sends the oldest waiting events in batches that fit those limits,
one ``publish`` frame at a time. An event leaves the outbox only when an ``ack`` lists it as
accepted or duplicate; one the hub rejects for good (``invalid_event``, ``unknown_patient``,
``forbidden``) leaves it too and is handed to the app through :meth:`SessionClient.rejected`,
so a bad event never blocks the rest. ``internal`` rejections stay and are retried. When the
connection drops (or an ack does not come within ``ack_timeout_s``), the task waits a jittered,
growing delay and reconnects; whatever was not acknowledged is sent again, and the event ids
make that harmless. A token the hub refuses (close 4001) stops the client: retrying cannot
help, and :meth:`flush` raises :class:`SessionClientStopped`.

A patient's client also subscribes to its own channel after each connect, so the hub
redelivers every unacknowledged celebration; each reaches :meth:`celebrations` once per client.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from typing_extensions import Unpack

from clients.errors import SessionClientStopped
from clients.feed import Feed
from clients.hub_client import DEFAULT_TIMEOUT_S, HubClient, HubClientError, HubClosed, stop_task
from clients.ids import EventIds
from clients.keeper import ConnectionOptions, KeptConnection
from clients.messages import Celebration, ConnectionState, Rejection, SendTotals
from clients.outbox import FRAME_OVERHEAD_BYTES, Outbox, frame_size, too_large_ack
from realtime.protocol import (
    DEFAULT_MAX_EVENTS_PER_PUBLISH,
    celebrated_frame,
    publish_frame,
    subscribe_frame,
)

__all__ = [
    "Celebration",
    "ConnectionState",
    "Rejection",
    "SendTotals",
    "SessionClient",
    "SessionClientStopped",
]

log = logging.getLogger("progress_hub.client")

DEFAULT_ACK_TIMEOUT_S: Final = 30.0
DEFAULT_CLOSE_FLUSH_S: Final = 5.0
DEFAULT_MAX_FRAME_BYTES: Final = 256 * 1024
# Rejections worth retrying: the hub could not store the event, through no fault of its own.
RETRIED_CODES: Final = frozenset({"internal"})

RETRY_CELEBRATED_S: Final = 0.1
MAX_EVENT_ID_LENGTH: Final = 64


class SessionClient(KeptConnection):
    """Publishes events through a durable outbox and receives the patient's celebrations.

    Args:
        url: the hub's WebSocket endpoint, e.g. ``ws://127.0.0.1:8000/ws``.
        token: a ``patient`` or ``service`` token.
        outbox: the SQLite file that keeps unsent events across restarts; ``None`` keeps them
            in memory only.
        msgpack: speak ``progress.v1.msgpack`` instead of JSON.
        celebrations: subscribe to the patient's own channel for celebrations (default: when
            the token's role is ``patient``).
        backoff_initial_s, backoff_max_s: the reconnect delay's first cap and its ceiling.
        ack_timeout_s: how long an ``ack`` may take before the connection is deemed dead.
        max_batch_events: at most this many events per ``publish`` (the hub's own limit, from
            ``welcome.limits``, applies too); smaller batches get each ack back sooner.
    """

    def __init__(
        self,
        url: str,
        token: str,
        *,
        outbox: str | Path | None = None,
        celebrations: bool | None = None,
        ack_timeout_s: float = DEFAULT_ACK_TIMEOUT_S,
        max_batch_events: int = DEFAULT_MAX_EVENTS_PER_PUBLISH,
        **options: Unpack[ConnectionOptions],
    ) -> None:
        super().__init__(url, token, **options)
        self._max_batch_events = max_batch_events
        self._want_celebrations = celebrations
        self._ack_timeout_s = ack_timeout_s
        self._outbox = Outbox(outbox)
        self._ids = EventIds()
        self._wakeup = asyncio.Event()
        self._drained = asyncio.Event()
        self._stopped = asyncio.Event()
        self._celebrations: Feed[Celebration] = Feed()
        self._rejected: Feed[Rejection] = Feed()
        # Milestones shown through celebrations() or marked celebrated: never shown again.
        self._seen_milestones: set[str] = set()
        self.totals = SendTotals(0, 0, 0)
        """What the hub answered for this client's events since it started."""

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the outbox and start connecting in the background."""
        await self._outbox.open()
        self._wakeup.set()  # send whatever a previous run left in the outbox
        self._start("progress-hub-session-client")

    async def close(self, flush_timeout: float = DEFAULT_CLOSE_FLUSH_S) -> None:
        """Try to send what waits for up to ``flush_timeout`` seconds, then stop.

        What is still unacknowledged stays in the outbox file for the next start.
        """
        if self._task is not None and flush_timeout > 0 and self.failure is None:
            with contextlib.suppress(TimeoutError, SessionClientStopped):
                await self.flush(flush_timeout)
        await self._stop()
        self._celebrations.close()
        self._rejected.close()
        await self._outbox.close()

    def _mark_stopped(self) -> None:
        super()._mark_stopped()
        self._stopped.set()

    async def _close_on_error(self) -> None:
        await self.close(flush_timeout=0)  # stop at once: what waits stays in the outbox

    # -- the app's side -----------------------------------------------------------------------

    async def publish(self, event: Mapping[str, Any]) -> str:
        """Put one event in the outbox; returns its id (a new UUIDv7 when it had none)."""
        (event_id,) = await self.publish_many([event])
        return event_id

    async def publish_many(self, events: Sequence[Mapping[str, Any]]) -> list[str]:
        """Put events in the outbox in one transaction; returns their ids in order.

        Raises:
            ValueError: an ``id`` that is not a string of 1-64 characters (the hub could not
                acknowledge it by id, so it would never leave the outbox).
        """
        stored = [dict(event) for event in events]
        for event in stored:
            if event.get("id") is None:
                event["id"] = self._ids.new()
            event_id = event["id"]
            if not isinstance(event_id, str) or not 1 <= len(event_id) <= MAX_EVENT_ID_LENGTH:
                raise ValueError(f"id: must be a string of 1-{MAX_EVENT_ID_LENGTH} characters")
        await self._outbox.add(stored)
        self._drained.clear()
        self._wakeup.set()
        return [str(event["id"]) for event in stored]

    async def flush(self, timeout: float | None = None) -> None:
        """Wait until every event in the outbox was acknowledged (or rejected for good).

        Raises:
            TimeoutError: events still wait after ``timeout`` seconds.
            SessionClientStopped: the client stopped (e.g. its token was refused).
        """
        async with asyncio.timeout(timeout):
            while True:
                if self.failure is not None:
                    raise self.failure
                if self._drained.is_set() and not self._wakeup.is_set():
                    return
                waits = {asyncio.ensure_future(e.wait()) for e in (self._stopped, self._drained)}
                try:
                    await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    for wait in waits:
                        wait.cancel()
                if self._stopped.is_set() and self.failure is None:
                    raise SessionClientStopped("the client was closed")

    async def pending(self) -> int:
        return await self._outbox.count()  # how many events wait in the outbox

    def celebrations(self) -> Feed[Celebration]:
        """Celebrations to show, each once per client: ``async for c in client.celebrations()``."""
        return self._celebrations

    def rejected(self) -> Feed[Rejection]:
        """Events the hub refused for good: ``async for r in client.rejected()``."""
        return self._rejected

    async def celebrated(
        self, milestone_ids: list[str], timeout: float = DEFAULT_TIMEOUT_S
    ) -> list[str]:
        """Tell the hub these celebrations were shown; returns the ids it newly marked.

        Raises:
            TimeoutError: no connection came up, or the hub did not answer, in time.
            HubClientError: the hub refused (``forbidden`` for anyone but the patient).
        """
        async with asyncio.timeout(timeout):
            while True:
                await self._live.wait()
                hub = self._hub
                if hub is None:
                    continue
                try:
                    reply = await hub.request(celebrated_frame(list(milestone_ids)))
                except HubClosed:
                    # The connection is going: give the reconnect loop a moment, then retry.
                    await asyncio.sleep(RETRY_CELEBRATED_S)
                    continue
                self._seen_milestones.update(milestone_ids)
                return [str(item) for item in reply.get("milestone_ids", milestone_ids)]

    # -- the connection -----------------------------------------------------------------------

    async def _serve(self, hub: HubClient) -> None:
        limits = hub.welcome.get("limits") or {}
        max_events = min(
            self._max_batch_events,
            int(limits.get("max_events_per_publish", DEFAULT_MAX_EVENTS_PER_PUBLISH)),
        )
        max_bytes = int(limits.get("max_frame_bytes", DEFAULT_MAX_FRAME_BYTES))
        role, sub = hub.welcome.get("role"), hub.welcome.get("sub")
        wants = self._want_celebrations
        if (role == "patient" if wants is None else wants) and isinstance(sub, str):
            with contextlib.suppress(HubClientError):  # an unregistered patient: nothing to wait on
                await hub.request(subscribe_frame(f"patient:{sub}"))
        self._went_live()
        receiver = asyncio.create_task(self._receive(hub))
        try:
            await self._send(hub, max_events, max_bytes)
        finally:
            with contextlib.suppress(HubClosed):
                await stop_task(receiver)

    async def _receive(self, hub: HubClient) -> None:
        async for frame in hub.messages():
            data = frame.get("data")
            if frame.get("type") != "message" or not isinstance(data, dict):
                continue
            milestone = data.get("milestone")
            if data.get("kind") == "celebration" and isinstance(milestone, dict):
                milestone_id = str(milestone.get("id"))
                if milestone_id in self._seen_milestones:
                    continue
                self._seen_milestones.add(milestone_id)
                self._celebrations.put(
                    Celebration(
                        milestone_id,
                        str(milestone.get("rule")),
                        str(milestone.get("title")),
                        str(milestone.get("achieved_at")),
                    )
                )

    async def _send(self, hub: HubClient, max_events: int, max_bytes: int) -> None:
        while True:
            batch = await self._outbox.batch(max_events, max_bytes)
            if not batch:
                if not self._wakeup.is_set():
                    self._drained.set()
                await self._wait_for_work(hub)
                continue
            if len(batch) == 1 and frame_size(batch[0]) > max_bytes - FRAME_OVERHEAD_BYTES:
                await self._settle(batch, too_large_ack(batch[0], max_bytes))
                continue
            ack = await hub.request(publish_frame(batch), timeout=self._ack_timeout_s)
            if await self._settle(batch, ack):
                await asyncio.sleep(self._backoff.next_delay())  # the hub could not store some
            else:
                self._backoff.reset()

    async def _wait_for_work(self, hub: HubClient) -> None:
        """Wait for a publish; return early if the connection died meanwhile."""
        woken = asyncio.ensure_future(self._wakeup.wait())
        try:
            done, _ = await asyncio.wait(
                {woken, hub.closed_task}, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            woken.cancel()
        if woken in done:
            self._wakeup.clear()
        else:
            raise HubClosed(hub.close_code, "connection closed")

    async def _settle(self, batch: list[dict[str, Any]], ack: dict[str, Any]) -> bool:
        """Remove what the ack settles; returns whether some events must be retried."""
        by_id = {str(event["id"]): event for event in batch}
        accepted = [str(item) for item in ack.get("accepted", [])]
        duplicates = [str(item) for item in ack.get("duplicates", [])]
        refused: list[str] = []
        retry = False
        for item in ack.get("rejected", []):
            event_id, code = str(item.get("id", "")), str(item.get("code", ""))
            if code in RETRIED_CODES:
                retry = True
                continue
            refused.append(event_id)
            event = by_id.get(event_id, {"id": event_id})
            self._rejected.put(Rejection(event, code, str(item.get("detail", ""))))
        await self._outbox.remove(accepted + duplicates + refused)
        self.totals = SendTotals(
            self.totals.accepted + len(accepted),
            self.totals.duplicates + len(duplicates),
            self.totals.rejected + len(refused),
        )
        return retry
