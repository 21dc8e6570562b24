"""An asyncio client for the hub's WebSocket protocol, for patient apps, session servers and
dashboards written in Python.

It speaks only the wire contract (through ``realtime.protocol``), never the server's internals::

    async with await HubClient.connect("ws://127.0.0.1:8000/ws", token) as hub:
        ack = await hub.publish([{"id": "e1", "kind": "mood_checkin", ...}])
        subscribed = await hub.subscribe("patient:p1")
        message = await hub.next_message()
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Mapping
from types import TracebackType
from typing import Any, cast

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from realtime.protocol import (
    SUBPROTOCOL_JSON,
    SUBPROTOCOL_MSGPACK,
    CelebratedFrame,
    Codec,
    Frame,
    PingFrame,
    PublishFrame,
    SinceWire,
    SubscribeFrame,
    UnsubscribeFrame,
)

DEFAULT_TIMEOUT_S = 10.0


async def stop_task(task: asyncio.Task[Any]) -> None:
    """Cancel ``task`` and wait until it has ended."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


class HubClientError(Exception):
    """The hub answered a request with an ``error`` frame."""

    def __init__(self, frame: Frame) -> None:
        super().__init__(f"{frame.get('code')}: {frame.get('detail')}")
        self.code: str = str(frame.get("code"))
        self.frame = frame


class HubClosed(Exception):
    """The connection closed; ``code`` is the WebSocket close code."""

    def __init__(self, code: int | None, reason: str) -> None:
        super().__init__(f"connection closed ({code}): {reason}")
        self.code = code
        self.reason = reason


class ClosedOnExit(ABC):
    """``async with`` closes the client however the block is left."""

    @abstractmethod
    async def close(self) -> None: ...

    async def _close_on_error(self) -> None:
        """Close when the ``async with`` block raised."""
        await self.close()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await (self.close() if exc_type is None else self._close_on_error())


class HubClient(ClosedOnExit):
    """One connection to the hub.

    Replies (``ack``, ``subscribed``, ``pong``, …) are matched to requests by ``ref``;
    ``message`` frames and unsolicited errors wait in :meth:`next_message`.
    """

    def __init__(self, websocket: ClientConnection, codec: Codec, welcome: Frame) -> None:
        self._websocket = websocket
        self._codec = codec
        self.welcome = welcome
        self._refs = itertools.count(1)
        self._waiting: dict[str, asyncio.Future[Frame]] = {}
        self._inbox: asyncio.Queue[Frame] = asyncio.Queue()
        self._closed: HubClosed | None = None
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def connect(
        cls, url: str, token: str, *, msgpack: bool = False, timeout: float = DEFAULT_TIMEOUT_S
    ) -> HubClient:
        """Open a connection and wait for ``welcome``.

        Raises:
            HubClosed: the hub refused the connection (4001 for a bad token).
        """
        subprotocol = SUBPROTOCOL_MSGPACK if msgpack else SUBPROTOCOL_JSON
        websocket = await connect(
            url,
            subprotocols=[subprotocol],  # type: ignore[list-item]
            additional_headers={"Authorization": f"Bearer {token}"},
            max_size=None,
            open_timeout=timeout,
        )
        codec = Codec(subprotocol)
        try:
            first = codec.decode(await asyncio.wait_for(websocket.recv(), timeout))
        except ConnectionClosed as closed:
            received = closed.rcvd
            raise HubClosed(
                received.code if received else None, received.reason if received else ""
            ) from None
        if first.get("type") != "welcome":
            await websocket.close()
            raise HubClientError(first)
        return cls(websocket, codec, first)

    async def __aenter__(self) -> HubClient:
        return self

    async def close(self) -> None:
        await self._websocket.close()
        await stop_task(self._reader)

    @property
    def close_code(self) -> int | None:
        return self._websocket.close_code

    @property
    def closed_task(self) -> asyncio.Task[None]:
        """Done once the connection has closed (await it to learn when)."""
        return self._reader

    async def _read(self) -> None:
        try:
            async for data in self._websocket:
                frame = self._codec.decode(data)
                ref = frame.get("ref")
                waiter = self._waiting.pop(ref, None) if isinstance(ref, str) else None
                if waiter is not None and not waiter.done():
                    waiter.set_result(frame)
                else:
                    self._inbox.put_nowait(frame)
        except ConnectionClosed:
            pass
        self._closed = HubClosed(self._websocket.close_code, self._websocket.close_reason or "")
        for waiter in self._waiting.values():
            if not waiter.done():
                waiter.set_exception(self._closed)
        self._waiting.clear()

    async def request(self, frame: Mapping[str, Any], timeout: float = DEFAULT_TIMEOUT_S) -> Frame:
        """Send a frame with a fresh ``ref`` and wait for the reply that echoes it.

        Raises:
            HubClientError: the reply was an ``error`` frame.
            HubClosed: the connection closed first.
        """
        if self._closed is not None:
            raise self._closed
        ref = f"r{next(self._refs)}"
        waiter: asyncio.Future[Frame] = asyncio.get_running_loop().create_future()
        self._waiting[ref] = waiter
        try:
            await self._send(self._codec.encode({**frame, "ref": ref}))
            reply = await asyncio.wait_for(waiter, timeout)
        finally:
            # A failed send or a timeout leaves nobody to read the waiter: drop it.
            if (
                self._waiting.pop(ref, None) is not None
                and waiter.done()
                and not waiter.cancelled()
            ):
                waiter.exception()
        if reply.get("type") == "error":
            raise HubClientError(reply)
        return reply

    async def _send(self, data: str | bytes) -> None:
        try:
            await self._websocket.send(data)
        except ConnectionClosed:
            self._closed = HubClosed(self._websocket.close_code, self._websocket.close_reason or "")
            raise self._closed from None

    async def send(self, frame: Frame) -> None:
        """Send a frame without waiting for a reply: a reply without ``ref`` (or with one no
        request waits for) arrives through :meth:`next_message`, in order with the messages.

        Raises:
            HubClosed: the connection is closed.
        """
        await self._send(self._codec.encode(frame))

    async def send_raw(self, data: str | bytes) -> None:
        """Send arbitrary data (for testing how the hub copes with bad frames).

        Raises:
            HubClosed: the connection is closed.
        """
        await self._send(data)

    async def publish(
        self, events: list[dict[str, Any]], timeout: float = DEFAULT_TIMEOUT_S
    ) -> Frame:
        """Publish events; returns the ``ack`` once every accepted event is durable."""
        frame: PublishFrame[dict[str, Any]] = {"type": "publish", "events": events}
        return await self.request(frame, timeout)

    async def subscribe(self, channel: str, since: Mapping[str, Any] | None = None) -> Frame:
        frame: SubscribeFrame = {"type": "subscribe", "channel": channel}
        if since is not None:
            # Passed on as given: a test may send a malformed position on purpose.
            frame["since"] = cast(SinceWire, since)
        return await self.request(frame)

    async def unsubscribe(self, channel: str) -> Frame:
        frame: UnsubscribeFrame = {"type": "unsubscribe", "channel": channel}
        return await self.request(frame)

    async def celebrated(self, milestone_ids: list[str]) -> Frame:
        frame: CelebratedFrame = {"type": "celebrated", "milestone_ids": milestone_ids}
        return await self.request(frame)

    async def ping(self) -> Frame:
        frame: PingFrame = {"type": "ping"}
        return await self.request(frame)

    async def messages(self) -> AsyncIterator[Frame]:
        """Every frame that answers no request, in order, for as long as the connection lasts.

        Raises:
            HubClosed: the connection closed and nothing is left to read.
        """
        while True:
            yield await self.next_message(timeout=None)

    async def next_message(self, timeout: float | None = DEFAULT_TIMEOUT_S) -> Frame:
        """The next frame that answered no request (``message``, unsolicited ``error``);
        ``timeout=None`` waits for as long as the connection lasts.

        Raises:
            HubClosed: the connection closed and nothing is left to read.
            TimeoutError: nothing arrived in time.
        """
        if self._closed is not None and self._inbox.empty():
            raise self._closed
        getter = asyncio.ensure_future(self._inbox.get())
        done, _ = await asyncio.wait(
            {getter, self._reader}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
        if getter in done:
            return getter.result()
        getter.cancel()
        if self._closed is not None:
            raise self._closed
        raise TimeoutError("no message in time")
