"""The connection both long-lived clients keep (``SessionClient``, ``DashboardClient``).

One background task connects, hands the connection to the client's :meth:`KeptConnection._serve`
and, when it drops (or cannot be opened), waits a jittered, growing delay and connects again.
A token the hub refuses (close 4001) stops the client for good: retrying cannot help.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from abc import abstractmethod
from typing import Self

from typing_extensions import TypedDict, Unpack

from clients.errors import SessionClientStopped
from clients.hub_client import (
    DEFAULT_TIMEOUT_S,
    ClosedOnExit,
    HubClient,
    HubClientError,
    HubClosed,
    stop_task,
)
from clients.messages import ConnectionState
from clients.retry import DEFAULT_BACKOFF_INITIAL_S, DEFAULT_BACKOFF_MAX_S, Backoff
from realtime.protocol import CLOSE_UNAUTHORIZED

log = logging.getLogger("progress_hub.client")
REFUSED_TOKEN = "the hub refused the token (4001)"


class ConnectionOptions(TypedDict, total=False):
    """How a kept connection is opened and reopened; each option has its default."""

    msgpack: bool
    """Speak ``progress.v1.msgpack`` instead of JSON (default: JSON)."""
    backoff_initial_s: float
    """The reconnect delay's first cap (:data:`~clients.retry.DEFAULT_BACKOFF_INITIAL_S`)."""
    backoff_max_s: float
    """The reconnect delay's ceiling (:data:`~clients.retry.DEFAULT_BACKOFF_MAX_S`)."""
    connect_timeout_s: float
    """How long opening a connection may take (:data:`~clients.hub_client.DEFAULT_TIMEOUT_S`)."""


class KeptConnection(ClosedOnExit):
    """A client that keeps one connection to the hub at ``url`` for as long as it runs.

    ``state`` tells where the connection is; ``connections`` counts those opened;
    ``failure`` says why the client stopped for good, if it did.
    """

    def __init__(self, url: str, token: str, **options: Unpack[ConnectionOptions]) -> None:
        self.url = url
        self._token = token
        self._connect = functools.partial(
            HubClient.connect,
            url,
            token,
            msgpack=options.get("msgpack", False),
            timeout=options.get("connect_timeout_s", DEFAULT_TIMEOUT_S),
        )
        self._backoff = Backoff(
            options.get("backoff_initial_s", DEFAULT_BACKOFF_INITIAL_S),
            options.get("backoff_max_s", DEFAULT_BACKOFF_MAX_S),
        )
        self._hub: HubClient | None = None
        self._live = asyncio.Event()  # set while _hub is connected and served
        self._task: asyncio.Task[None] | None = None
        self.failure: SessionClientStopped | None = None
        self.state: ConnectionState = "connecting"
        self.connections = 0

    @abstractmethod
    async def start(self) -> None:
        """Start connecting in the background."""

    @abstractmethod
    async def _serve(self, hub: HubClient) -> None:
        """Use a fresh connection until it drops; call :meth:`_went_live` once it is ready."""

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    def _mark_stopped(self) -> None:
        """The client stopped (closed, or for good)."""
        self.state = "stopped"

    def _start(self, name: str) -> None:
        self._task = asyncio.create_task(self._run(), name=name)

    async def _stop(self) -> None:
        if self._task is not None:
            await stop_task(self._task)
            self._task = None
        self._mark_stopped()

    def _went_live(self) -> None:
        """The connection is ready for use (subscribed where the client needs it)."""
        self.state = "live"
        self._live.set()

    async def _run(self) -> None:
        while True:
            try:
                hub = await self._connect()
            except HubClosed as closed:
                if closed.code == CLOSE_UNAUTHORIZED:
                    self._fail(REFUSED_TOKEN)
                    return
                await self._wait_before_retry()
                continue
            except Exception as error:  # noqa: BLE001 - refused, reset, bad handshake: retried
                log.debug("event=connect_failed error=%s", type(error).__name__)
                await self._wait_before_retry()
                continue
            self._backoff.reset()
            self.connections += 1
            self._hub = hub
            try:
                await self._serve(hub)
            except HubClosed as closed:
                if closed.code == CLOSE_UNAUTHORIZED:
                    self._fail(REFUSED_TOKEN)
                    return
            except (TimeoutError, HubClientError, OSError) as error:
                log.debug("event=connection_lost error=%s", type(error).__name__)
            finally:
                self._live.clear()
                self._hub = None
                await hub.close()
            await self._wait_before_retry()

    def _fail(self, reason: str) -> None:
        self.failure = SessionClientStopped(reason)
        self._mark_stopped()

    async def _wait_before_retry(self) -> None:
        self.state = "reconnecting"
        await asyncio.sleep(self._backoff.next_delay())
