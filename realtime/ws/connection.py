"""One authenticated WebSocket client until close: the I/O around a :class:`Session`.

The receive loop reads frames, decodes them and performs what the session asks
(:mod:`realtime.ws.session` holds every rule: limits, the bad-frame window, publishes in
flight, the close sequence); a sender task drains a bounded queue onto the socket, so nothing
the hub does ever waits on a slow peer. A publish is handed to the service's next group commit
and answered from there, with no task of its own: a client may pipeline batches while earlier
ones wait for their commit, and each ``ack`` carries its ``ref``.

Idle connections are most of what a hub holds, so each holds little: the receive loop runs in
the ASGI task, the sender and its queue exist only while frames wait (the handshake:
:mod:`realtime.ws.endpoint`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections import deque
from collections.abc import Sequence
from typing import TYPE_CHECKING

from starlette.websockets import WebSocket, WebSocketDisconnect

from domain.events import Event, RejectedEvent, parse_events
from realtime.auth import Principal
from realtime.channels.bus import Encoded
from realtime.errors import FrameError, HubError, InternalError
from realtime.protocol import (
    CLOSE_SLOW_CONSUMER,
    AcknowledgeAlert,
    Celebrated,
    Codec,
    Frame,
    Publish,
    Subscribe,
    Unsubscribe,
    ack_frame,
    decode_error_ref,
    ok_frame,
    parse_client_frame,
    subscribed_frame,
    unsubscribed_frame,
    welcome_frame,
)
from realtime.service.commits import AckResult
from realtime.ws.ingest import fast_publish
from realtime.ws.session import Action, Close, Send, Session, Verdict, error_of
from realtime.ws.transport import CUT_OFF_EXTENSION

if TYPE_CHECKING:
    from realtime.runtime import Runtime

log = logging.getLogger("progress_hub.connection")

CLOSE_TIMEOUT_S = 2.0
# A slow consumer's close frame waits behind what it has not read; give it time to catch up
# and learn why it was cut off, then end the connection regardless.
SLOW_CLOSE_TIMEOUT_S = 10.0


class Connection:
    """A connected, authenticated client: moves bytes and performs its session's actions."""

    # No per-instance dict: thousands of these live at once.
    __slots__ = (
        "__weakref__",
        "_all_answered",
        "_close_code",
        "_ended",
        "_queue",
        "_sender",
        "_slot_freed",
        "_task",
        "codec",
        "connection_id",
        "principal",
        "runtime",
        "session",
        "websocket",
    )

    def __init__(
        self, websocket: WebSocket, principal: Principal, codec: Codec, runtime: Runtime
    ) -> None:
        self.websocket = websocket
        self.principal = principal
        self.codec = codec
        self.runtime = runtime
        self.connection_id = secrets.token_hex(8)
        self.session = Session(runtime.settings.limits)
        # Frames waiting for the sender; made when one is offered, dropped once all are sent.
        self._queue: deque[Encoded] | None = None
        # Resolved when an answer frees a slot (reading paused) or the last one is sent.
        self._slot_freed: asyncio.Future[None] | None = None
        self._all_answered: asyncio.Future[None] | None = None
        self._ended = False
        # Set once the close frame is due: from then on nothing more is queued.
        self._close_code: int | None = None
        self._sender: asyncio.Task[None] | None = None
        # The ASGI task running the receive loop, while it does.
        self._task: asyncio.Task[object] | None = None

    # -- Subscriber -------------------------------------------------------------------------

    def offer(self, encoded: Encoded) -> bool:
        if self._close_code is not None:
            return True
        queue = self._queue
        if queue is None:
            queue = self._queue = deque()
        elif len(queue) >= self.session.limits.send_queue_frames:
            return False
        queue.append(encoded)
        self.runtime.metrics.queue_depth.observe(len(queue))
        if self._sender is None and not self._ended:
            # The sender runs only while frames wait: an idle connection holds no task for it.
            self._sender = asyncio.get_running_loop().create_task(self._send_loop(queue))
        return True

    def overflowed(self) -> None:
        self.runtime.metrics.slow_consumer_closes.inc()
        asyncio.get_running_loop().create_task(self.close(CLOSE_SLOW_CONSUMER, "slow consumer"))

    # -- lifecycle --------------------------------------------------------------------------

    async def run(self) -> None:
        """Read frames and perform what the session asks, until either side closes.

        In the ASGI task and one coroutine: every idle connection holds this frame, so another
        task or coroutine would be paid thousands of times over. close() may cancel the task.
        """
        self._opened()
        websocket, session = self.websocket, self.session
        max_bytes = session.limits.max_frame_bytes
        close_code: int | None = None
        task = self._task = asyncio.current_task()
        try:
            while self._close_code is None:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    close_code = int(message.get("code", 1000))
                    break
                data: str | bytes | None = message.get("text")
                if data is None:
                    data = message.get("bytes")
                if data is None:
                    continue
                size = (
                    len(data)
                    if isinstance(data, bytes) or len(data) * 4 <= max_bytes
                    else len(data.encode("utf-8"))
                )
                match session.receive(size, time.monotonic()):
                    case Verdict.READ:
                        await self._handle(data)
                    case Verdict.TOO_LARGE:
                        await self._perform(session.too_large())
                        break
                    case Verdict.RATE_LIMITED:
                        self.runtime.metrics.rate_limited.inc()
                        await self._perform(session.rate_limited())
        except WebSocketDisconnect as disconnect:
            close_code = disconnect.code
        except asyncio.CancelledError:
            if self._close_code is None:
                raise  # cancelled from outside, not by close()
            if task is not None:
                task.uncancel()  # the cancel was ours and is handled: the ASGI task goes on
        finally:
            self._finished(close_code)

    def _opened(self) -> None:
        # Not logged in run(): logging asks for its caller's frame, which a coroutine then keeps.
        runtime = self.runtime
        runtime.connections.add(self)
        runtime.metrics.connections.labels(self.principal.role.value).inc()
        log.info(
            "event=ws_open connection=%s role=%s sub=%s codec=%s",
            self.connection_id,
            self.principal.role.value,
            self.principal.sub,
            self.codec.subprotocol,
        )
        self.send(
            welcome_frame(
                self.connection_id,
                self.principal.role.value,
                self.principal.sub,
                runtime.settings.welcome_limits(),
            )
        )

    def _finished(self, close_code: int | None) -> None:
        runtime = self.runtime
        self._task = None
        self.session.closed()
        runtime.bus.unsubscribe_all(self)
        runtime.connections.discard(self)
        runtime.metrics.connections.labels(self.principal.role.value).dec()
        self._ended = True  # publishes still committing are answered to nobody
        # Let go of the sender: a finished task keeps its exception, whose traceback holds
        # this connection, a cycle only the collector could free (see realtime/tuning.py).
        sender, self._sender, self._queue = self._sender, None, None
        if sender is not None:
            sender.cancel()
        log.info(
            "event=ws_close connection=%s code=%s",
            self.connection_id,
            self._close_code or close_code,
        )

    async def close(self, code: int, reason: str = "") -> None:
        """Close once with ``code``; later calls do nothing."""
        await self._perform(self.session.close(code, reason))

    async def _close(self, close: Close) -> None:
        if close.answer_first:
            self._all_answered = asyncio.get_running_loop().create_future()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._all_answered), CLOSE_TIMEOUT_S)
        sender = self._sender
        if close.flush and sender is not None and not sender.done():
            # The sender ends when the queue is empty and its last frame is written (or the
            # connection ended); waiting neither raises nor cancels it.
            await asyncio.wait((sender,), timeout=CLOSE_TIMEOUT_S)
        self._close_code = close.code
        self.runtime.bus.unsubscribe_all(self)
        if self._sender is not None:
            self._sender.cancel()
        if close.code == CLOSE_SLOW_CONSUMER and self._cut_off(close.reason):
            return
        timeout = SLOW_CLOSE_TIMEOUT_S if close.code == CLOSE_SLOW_CONSUMER else CLOSE_TIMEOUT_S
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.websocket.close(close.code, close.reason), timeout)
        task = self._task
        if task is not None and asyncio.current_task() is not task:
            # A peer that never answers the close must not keep the connection alive.
            task.cancel()

    def _cut_off(self, reason: str) -> bool:
        """Drop the queue and close with 4000 now, past the frames the peer has not read.

        Returns whether the server could (``realtime.ws.transport``); otherwise the caller
        closes the ASGI way.
        """
        extension = self.websocket.scope.get("extensions", {}).get(CUT_OFF_EXTENSION)
        if extension is None:
            return False
        queue, self._queue = self._queue, None
        if queue is not None:
            queue.clear()
        extension["cut_off"](CLOSE_SLOW_CONSUMER, reason, SLOW_CLOSE_TIMEOUT_S)
        return True

    async def _send_loop(self, queue: deque[Encoded]) -> None:
        websocket = self.websocket
        binary = self.codec.binary
        while queue:
            encoded = queue.popleft()
            if binary:
                assert isinstance(encoded, bytes)
                await websocket.send_bytes(encoded)
            else:
                assert isinstance(encoded, str)
                await websocket.send_text(encoded)
        # Nothing awaits between the empty check and here, so no frame is left unsent: the next
        # offer() makes a queue and starts a sender again. A send that raised leaves both set,
        # so later frames pile up until the queue is full, as on any peer that stopped reading.
        if self._queue is queue:
            self._queue = None
        self._sender = None

    def send(self, frame: Frame) -> None:
        """Queue a frame for this client alone; a full queue means a slow consumer."""
        if not self.offer(self.codec.encode(frame)):
            self.runtime.bus.unsubscribe_all(self)
            self.overflowed()

    # -- receiving --------------------------------------------------------------------------

    async def _handle(self, data: str | bytes) -> None:
        max_events = self.runtime.settings.limits.max_events_per_publish
        if isinstance(data, str) and not self.codec.binary:
            published = fast_publish(data, max_events)
            if published is not None:
                await self._publish(published[0], published[1])
                return
        ref: str | None = None
        try:
            raw = self.codec.decode(data)
            ref = decode_error_ref(raw)
            frame = parse_client_frame(raw, max_events=max_events)
        except FrameError as error:
            await self._refuse(error, error.ref or ref)
            return
        await self._perform(self.session.frame(frame))

    async def _refuse(self, error: HubError, ref: str | None) -> None:
        self.runtime.metrics.frame_errors.labels(error.code).inc()
        await self._perform(self.session.refused(error, ref, time.monotonic()))

    async def _perform(self, actions: list[Action]) -> None:
        for action in actions:
            match action:
                case Send(frame=frame):
                    self.send(frame)
                case Close():
                    await self._close(action)
                case Publish(ref=ref, events=events):
                    await self._publish(ref, parse_events(events))
                case Subscribe():
                    await self._subscribe(action)
                case Unsubscribe(ref=ref, channel=channel):
                    self.runtime.bus.unsubscribe(self, str(channel))
                    self.send(unsubscribed_frame(ref, str(channel)))
                case Celebrated():
                    await self._celebrated(action)
                case AcknowledgeAlert():
                    await self._acknowledge_alerts(action)

    async def _publish(self, ref: str | None, events: Sequence[Event | RejectedEvent]) -> None:
        session = self.session
        while session.reading_paused:
            self._slot_freed = asyncio.get_running_loop().create_future()
            await self._slot_freed
        session.publish_taken()
        started = time.perf_counter()

        def answer(result: AckResult) -> None:
            self._answered()
            if self._ended:
                return
            self.runtime.metrics.observe_ack(result, time.perf_counter() - started)
            self.send(ack_frame(ref, result.accepted, result.duplicates, result.rejected))

        try:
            self.runtime.service.submit(self.principal, events, answer)
        except Exception:
            log.exception("event=publish_error connection=%s", self.connection_id)
            self._answered()
            self.send(error_of(InternalError("the hub could not process this publish"), ref))

    def _answered(self) -> None:
        nothing_left = self.session.publish_answered()
        slot_freed, self._slot_freed = self._slot_freed, None
        if slot_freed is not None and not slot_freed.done():
            slot_freed.set_result(None)
        all_answered = self._all_answered
        if nothing_left and all_answered is not None and not all_answered.done():
            all_answered.set_result(None)

    async def _subscribe(self, join: Subscribe) -> None:
        channels, channel = self.runtime.channels, join.channel
        try:
            snapshot = channels.snapshot(self.principal, channel)
        except HubError as error:
            await self._refuse(error, join.ref)
            return
        attachment = self.runtime.bus.subscribe(self, str(channel), join.since)
        self.send(
            subscribed_frame(
                join.ref,
                str(channel),
                attachment.epoch,
                attachment.offset,
                attachment.recovered,
                snapshot,
            )
        )
        for encoded in attachment.missed:
            if not self.offer(encoded):
                self.runtime.bus.unsubscribe_all(self)
                self.overflowed()
                return
        channels.subscribed(self.principal, channel)

    async def _celebrated(self, acknowledge: Celebrated) -> None:
        try:
            marked = await self.runtime.channels.celebrated(
                self.principal, acknowledge.milestone_ids
            )
        except HubError as error:
            await self._refuse(error, acknowledge.ref)
            return
        self.send(ok_frame(acknowledge.ref, milestone_ids=marked))

    async def _acknowledge_alerts(self, acknowledge: AcknowledgeAlert) -> None:
        # PROTOCOL.md section 7: ``ok`` lists the ids this frame changed.
        try:
            _, changed = await self.runtime.alerts.acknowledge(
                self.principal, acknowledge.alert_ids, acknowledge.note, skip_unknown=True
            )
        except HubError as error:
            await self._refuse(error, acknowledge.ref)
            return
        self.send(ok_frame(acknowledge.ref, alert_ids=[alert.alert_id for alert in changed]))
