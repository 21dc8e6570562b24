"""uvicorn, taught the contract's shutdown: stop accepting, flush, close sockets with 1001."""

from __future__ import annotations

import signal
import socket
from types import FrameType

import uvicorn

from realtime.runtime import Runtime
from realtime.ws.transport import HubWebSocketProtocol


class HubServer(uvicorn.Server):
    """A uvicorn server whose shutdown drains the hub before uvicorn closes connections.

    Left alone, uvicorn would close every WebSocket with 1012; the contract promises 1001
    after everything accepted has been flushed.
    """

    def __init__(self, config: uvicorn.Config, runtime: Runtime) -> None:
        if config.ws == "websockets-sansio":
            config.ws = HubWebSocketProtocol  # same protocol, bounded send path (transport.py)
        super().__init__(config)
        self.runtime = runtime

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # uvicorn re-raises a caught signal once it has shut down, so the process would die of
        # SIGTERM; the contract wants exit 0 after a graceful shutdown, so it is not recorded.
        if self.should_exit and sig == signal.SIGINT:
            self.force_exit = True
        else:
            self.should_exit = True

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()
        await self.runtime.drain()
        await super().shutdown(sockets)
