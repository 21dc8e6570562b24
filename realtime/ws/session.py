"""The protocol policy of one WebSocket connection, without any I/O (as python-websockets does it).

Theory of operation
-------------------
A :class:`Session` is told what happened on its connection (a frame of ``size`` bytes arrived,
this frame was decoded, decoding failed with this error, a publish was answered, the hub asks
to close) and answers with :class:`Action` s for the connection to perform: send a frame,
hand a publish to the service, subscribe, close with a code. It never reads a clock (``now`` is
passed in), never touches a socket and never awaits, so every rule below is tested by feeding
it frames (``tests/realtime/test_session.py``).

The rules it enforces (``PROTOCOL.md`` section 4):

- a frame over ``max_frame_bytes`` closes the connection with 1009;
- beyond ``rate_limit_frames_per_s`` (burst ``rate_limit_burst``) a frame is answered with
  ``rate_limited`` and dropped;
- a peer that breaks the contract (a :class:`~realtime.errors.FrameError`) more than
  ``bad_frame_limit`` times in ``bad_frame_window_s`` is closed with 4008, after the error
  that explains it;
- at most ``max_inflight_publishes`` publishes wait for their ``ack``; then reading pauses
  (:attr:`Session.reading_paused`) until one is answered;
- a graceful close (1001) first answers every publish already read; a slow consumer (4000)
  is closed without flushing what it could not take.

States and transitions, all in :data:`TRANSITIONS`::

    OPEN ──close()──> CLOSING ──closed()──> CLOSED
      └───────────────closed()──────────────┘        (the peer went away)
"""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass
from typing import Final

from realtime.errors import FrameError, HubError, RateLimited
from realtime.protocol import (
    CLOSE_GOING_AWAY,
    CLOSE_SLOW_CONSUMER,
    CLOSE_TOO_LARGE,
    CLOSE_TOO_MANY_BAD_FRAMES,
    AcknowledgeAlert,
    Celebrated,
    ClientFrame,
    Frame,
    Ping,
    Publish,
    Subscribe,
    Unsubscribe,
    error_frame,
    pong_frame,
)
from realtime.ratelimit import TokenBucket
from realtime.settings import Limits


class State(enum.Enum):
    OPEN = "open"
    """Frames are read and answered."""
    CLOSING = "closing"
    """A close was decided: nothing new is taken on; what is owed is still sent."""
    CLOSED = "closed"
    """The socket is gone."""


class Trigger(enum.Enum):
    CLOSE = "close"
    CLOSED = "closed"


TRANSITIONS: Final[dict[tuple[State, Trigger], State]] = {
    (State.OPEN, Trigger.CLOSE): State.CLOSING,
    (State.OPEN, Trigger.CLOSED): State.CLOSED,
    (State.CLOSING, Trigger.CLOSED): State.CLOSED,
}
"""Every legal transition; any other is a bug in the hub and fails loudly."""


# -- actions: what the connection is asked to do ---------------------------------------------


@dataclass(frozen=True, slots=True)
class Send:
    frame: Frame


@dataclass(frozen=True, slots=True)
class Close:
    """Close with ``code``: wait for unanswered publishes first when ``answer_first``, and
    flush the send queue first when ``flush``."""

    code: int
    reason: str
    answer_first: bool
    flush: bool


Action = Send | Close | Publish | Subscribe | Unsubscribe | Celebrated | AcknowledgeAlert
"""A frame the session passes on (publish, subscribe, unsubscribe, celebrated,
acknowledge_alert) is itself the action: the connection performs it with the service, the bus
and the channel use cases."""


class Verdict(enum.Enum):
    """What to do with a frame of a given size, before decoding it."""

    READ = "read"
    TOO_LARGE = "too_large"
    RATE_LIMITED = "rate_limited"
    IGNORE = "ignore"


class Session:
    """The policy of one connection; see the module's theory of operation.

    Every connection has one, idle ones included, so it keeps no per-instance dict and makes its
    token bucket and bad-frame window only when a frame first needs them.
    """

    __slots__ = ("_bad_frames", "_rate", "close_code", "limits", "state", "unanswered")

    def __init__(self, limits: Limits) -> None:
        # The bucket would start full when the connection opens and stay full until the first
        # frame (it never holds more than its burst), so it is made at that frame.
        self.limits = limits
        self.state = State.OPEN
        self.close_code: int | None = None
        self._rate: TokenBucket | None = None
        self._bad_frames: deque[float] | None = None
        self.unanswered = 0

    def _move(self, trigger: Trigger) -> None:
        try:
            self.state = TRANSITIONS[(self.state, trigger)]
        except KeyError:
            raise RuntimeError(
                f"session: no {trigger.value!r} in state {self.state.value!r}"
            ) from None

    # -- reading ------------------------------------------------------------------------------

    def receive(self, size: int, now: float) -> Verdict:
        """Judge a frame of ``size`` bytes before it is decoded."""
        if self.state is not State.OPEN:
            return Verdict.IGNORE  # closing: frames read after that are not taken on
        if size > self.limits.max_frame_bytes:
            return Verdict.TOO_LARGE
        rate = self._rate
        if rate is None:
            limits = self.limits
            rate = self._rate = TokenBucket(
                limits.rate_limit_frames_per_s, limits.rate_limit_burst, now=now
            )
        if not rate.take(now):
            return Verdict.RATE_LIMITED
        return Verdict.READ

    def too_large(self) -> list[Action]:
        return self.close(CLOSE_TOO_LARGE, f"frame over {self.limits.max_frame_bytes} bytes")

    def rate_limited(self) -> list[Action]:
        return [Send(error_of(RateLimited("too many frames; slow down")))]

    def frame(self, frame: ClientFrame) -> list[Action]:
        """The actions a decoded, well-formed frame asks for."""
        if isinstance(frame, Ping):
            return [Send(pong_frame(frame.ref))]
        return [frame]

    def refused(self, error: HubError, ref: str | None, now: float) -> list[Action]:
        """Answer a refusal; a peer that keeps breaking the contract is closed with 4008."""
        actions: list[Action] = [Send(error_of(error, ref))]
        if not isinstance(error, FrameError):
            return actions
        window = self._bad_frames
        if window is None:
            window = self._bad_frames = deque()
        window.append(now)
        while window and window[0] < now - self.limits.bad_frame_window_s:
            window.popleft()
        if len(window) > self.limits.bad_frame_limit:
            actions += self.close(CLOSE_TOO_MANY_BAD_FRAMES, "too many bad frames")
        return actions

    # -- publishes in flight ------------------------------------------------------------------

    @property
    def reading_paused(self) -> bool:
        """Whether the next frame must wait until a publish is answered."""
        return self.unanswered >= self.limits.max_inflight_publishes

    def publish_taken(self) -> None:
        self.unanswered += 1

    def publish_answered(self) -> bool:
        """Count an answer; ``True`` when nothing is left unanswered."""
        self.unanswered -= 1
        return not self.unanswered

    # -- closing ------------------------------------------------------------------------------

    def close(self, code: int, reason: str = "") -> list[Action]:
        """Start the close sequence; a second close does nothing."""
        if self.state is not State.OPEN:
            return []
        self._move(Trigger.CLOSE)
        self.close_code = code
        return [
            Close(
                code,
                reason,
                # A graceful shutdown answers every publish already read before saying goodbye.
                answer_first=code == CLOSE_GOING_AWAY and self.unanswered > 0,
                # Flush what the client is owed (the error that explains a 4008, say); a slow
                # consumer's queue is exactly what it cannot take, so it is dropped instead.
                flush=code != CLOSE_SLOW_CONSUMER,
            )
        ]

    def closed(self) -> None:
        """The socket is gone, whichever side closed it (told once or more)."""
        if self.state is not State.CLOSED:
            self._move(Trigger.CLOSED)


def error_of(error: HubError, ref: str | None = None) -> Frame:
    """The ``error`` frame for any of the hub's errors: the one WebSocket mapping."""
    return error_frame(error.code, error.detail, ref if ref is not None else error.ref)
