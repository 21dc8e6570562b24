"""``DashboardClient``: live messages for therapists' dashboards, resumed across reconnects.

::

    async with DashboardClient("ws://127.0.0.1:8000/ws", token,
                               channels=["therapist:t1", "patient:p1"]) as dashboard:
        async for item in dashboard:
            if isinstance(item, Subscribed) and not item.recovered:
                redraw(item.snapshot, item.series)     # start afresh
            elif isinstance(item, AlertMessage):
                ...

Theory of operation
-------------------
The client remembers, per channel, the ``epoch`` and the ``offset`` of the last message it
handed over. After a reconnect it subscribes again with ``since`` set to that position: inside
the hub's history the missed messages follow in order (``recovered`` true), and none is handed
over twice. Otherwise (a hub restart changes the epoch; a gap older than the history)
``recovered`` is false: the :class:`Subscribed` item then carries the snapshot and, for a
patient channel, the chart series fetched over REST, which stand in for what was missed.
Subscriptions are sent without a ``ref`` so that their ``subscribed`` answers arrive in order
with the messages: positions are therefore always updated before the messages that follow.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from typing import Any

from typing_extensions import Unpack

from clients.feed import Feed
from clients.hub_client import DEFAULT_TIMEOUT_S, HubClient, HubClosed
from clients.keeper import ConnectionOptions, KeptConnection
from clients.messages import DashboardItem, HubError, Subscribed, parse_message
from clients.rest import RestError, call, http_base
from realtime.protocol import (
    Since,
    acknowledge_alert_frame,
    subscribe_frame,
    unsubscribe_frame,
)

__all__ = ["DashboardClient"]

log = logging.getLogger("progress_hub.client")
DEFAULT_SERIES_DAYS = 14


class DashboardClient(KeptConnection):
    """Subscribes to channels and yields :data:`~clients.messages.DashboardItem` in order.

    Args:
        url: the hub's WebSocket endpoint.
        token: a ``therapist`` (or ``admin``) token.
        channels: channels to subscribe to at once; more with :meth:`subscribe`.
        msgpack: speak ``progress.v1.msgpack``.
        series_days: how many days of series to fetch when a patient channel starts afresh.
    """

    def __init__(
        self,
        url: str,
        token: str,
        channels: Iterable[str] = (),
        *,
        series_days: int = DEFAULT_SERIES_DAYS,
        **options: Unpack[ConnectionOptions],
    ) -> None:
        super().__init__(url, token, **options)
        self._series_days = series_days
        self._channels: dict[str, Since | None] = dict.fromkeys(channels)
        self._items: Feed[DashboardItem] = Feed()

    async def start(self) -> None:
        self._start("progress-hub-dashboard-client")

    async def close(self) -> None:
        await self._stop()

    def __aiter__(self) -> Feed[DashboardItem]:
        return self._items

    async def next(self, timeout: float | None = None) -> DashboardItem:
        """The next item.

        Raises:
            TimeoutError: nothing arrived in time.
        """
        return await self._items.get(timeout)

    def position(self, channel: str) -> Since | None:
        """The last position handed over on ``channel`` (what a resume asks from)."""
        return self._channels.get(channel)

    async def subscribe(self, channel: str) -> None:
        """Add a channel; its :class:`Subscribed` item comes through the iterator."""
        if channel in self._channels:
            return
        self._channels[channel] = None
        hub = self._hub
        if hub is not None:
            with contextlib.suppress(HubClosed):  # the reconnect subscribes it
                await hub.send(subscribe_frame(channel))

    async def unsubscribe(self, channel: str) -> None:
        self._channels.pop(channel, None)
        hub = self._hub
        if hub is not None:
            with contextlib.suppress(HubClosed):
                await hub.send(unsubscribe_frame(channel))

    async def acknowledge_alerts(
        self, alert_ids: list[str], note: str | None = None, timeout: float = DEFAULT_TIMEOUT_S
    ) -> list[str]:
        """Acknowledge open alerts (``PROTOCOL.md`` section 7); returns the ids this call changed.

        An alert already acknowledged (or resolved) is not changed, so acknowledging twice
        returns ``[]``; each change also arrives as an ``alert_updated`` :class:`AlertMessage`
        on the therapist's channel, which carries the alert as stored (``acknowledged_by``,
        ``acknowledged_at``, ``note``). ``note``: up to 2,000 characters.

        Raises:
            HubClientError: refused: ``forbidden`` (another therapist's patient, or an id a
                therapist cannot know; nothing changes) or ``bad_frame`` (no ids, a note too long).
            TimeoutError: no connection or no answer in time.
        """
        async with asyncio.timeout(timeout):
            await self._live.wait()
            hub = self._hub
            if hub is None:
                raise HubClosed(None, "not connected")
            reply = await hub.request(acknowledge_alert_frame(list(alert_ids), note))
        return [str(item) for item in reply.get("alert_ids", [])]

    async def _serve(self, hub: HubClient) -> None:
        for channel, since in list(self._channels.items()):
            await hub.send(subscribe_frame(channel, since))
        self._went_live()
        await self._consume(hub)

    def _mark_stopped(self) -> None:
        super()._mark_stopped()
        self._items.close()

    async def _consume(self, hub: HubClient) -> None:
        async for frame in hub.messages():
            kind = frame.get("type")
            if kind == "subscribed":
                await self._subscribed(frame)
            elif kind == "message":
                self._message(frame)
            elif kind == "error":
                self._items.put(HubError(str(frame.get("code")), str(frame.get("detail"))))

    async def _subscribed(self, frame: dict[str, Any]) -> None:
        channel = str(frame.get("channel"))
        if channel not in self._channels:
            return  # unsubscribed meanwhile
        epoch, offset = str(frame.get("epoch")), int(frame.get("offset", 0))
        recovered = bool(frame.get("recovered"))
        before = self._channels[channel]
        snapshot = frame.get("snapshot") or {}
        series = None
        if not recovered and channel.startswith("patient:"):
            series = await self._fetch_series(channel.partition(":")[2])
        # Recovered: the missed messages follow and move the position; else start from here.
        self._channels[channel] = before if recovered and before else Since(epoch, offset)
        self._items.put(Subscribed(channel, epoch, offset, recovered, snapshot, series))

    def _message(self, frame: dict[str, Any]) -> None:
        message = parse_message(frame)
        position = self._channels.get(message.channel, None)
        if message.channel not in self._channels or position is None:
            return
        if message.offset <= position.offset:
            return  # already handed over (a resubscription to a live channel replays it)
        self._channels[message.channel] = Since(position.epoch, message.offset)
        self._items.put(message)

    async def _fetch_series(self, patient_id: str) -> dict[str, Any] | None:
        url = f"{http_base(self.url)}/api/v1/patients/{patient_id}/series?days={self._series_days}"
        try:
            return await asyncio.to_thread(call, "GET", url, self._token)
        except (RestError, OSError) as error:
            log.warning("event=series_fetch_failed error=%s", type(error).__name__)
            return None
