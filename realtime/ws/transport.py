"""uvicorn's websockets-sansio protocol, with a short send path and a way to cut a peer off.

A slow consumer must learn it was cut off (close 4000), whatever its buffers. Two things stood
in the way. Bytes the hub has handed on wait in the transport's buffer and the kernel's send
buffer, which autotunes to megabytes: a close frame queued behind them reached a stalled
client after some 20,000 frames, or never. And an ASGI ``websocket.close`` first waits until
the transport is writable again, which for a peer that stopped reading is never, so no close
was sent at all and the socket lingered until the keepalive gave up.

So each connection's send path is kept short (a small ``SO_SNDBUF`` and transport buffer: the
backlog stays in the connection's own queue, which the hub can drop), and the app gets an ASGI
extension, ``progress_hub.cut_off``, that writes the close frame at once, past the
writability wait, and aborts the socket if the peer has not completed the closing handshake
within the deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.http11 import Request

CUT_OFF_EXTENSION = "progress_hub.cut_off"
# Enough for a burst of frames on a fast link (the kernel doubles it), small enough that a
# close frame written behind it reaches a peer that reads again within a moment.
SEND_BUFFER_BYTES = 64 * 1024
TRANSPORT_BUFFER_BYTES = 64 * 1024


class HubWebSocketProtocol(WebSocketsSansIOProtocol):
    """One WebSocket connection as uvicorn serves it, with a bounded send path."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER_BYTES)
        if isinstance(transport, asyncio.WriteTransport):
            transport.set_write_buffer_limits(high=TRANSPORT_BUFFER_BYTES)

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        scope: Any = getattr(self, "scope", None)
        if scope is not None:  # the handshake was accepted: the app is about to run
            scope["extensions"][CUT_OFF_EXTENSION] = {"cut_off": self.cut_off}

    def cut_off(self, code: int, reason: str, timeout_s: float) -> None:
        """Send the close frame now, and abort the socket after ``timeout_s`` unless closed."""
        if self.close_sent or self.disconnected or self.transport.is_closing():
            return
        self.queue.put_nowait({"type": "websocket.disconnect", "code": code, "reason": reason})
        self.conn.send_close(code, reason)
        self.transport.write(b"".join(self.conn.data_to_send()))
        self.close_sent = True
        if self.read_paused:  # read on, so the peer's answering close is seen
            self.read_paused = False
            self.transport.resume_reading()
        if self.close_timer is not None:
            self.close_timer.cancel()
        self.close_timer = self.loop.call_later(timeout_s, self._reset)

    def _reset(self) -> None:
        # Not close: it would wait to flush a buffer the peer is not reading, and the kernel
        # would go on trying to deliver its own. A zero linger makes close send a reset.
        sock = self.transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.transport.abort()
