"""Token buckets: per WebSocket connection (frames) and per token (REST requests)."""

from __future__ import annotations

import hashlib
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass, field

MAX_TRACKED_TOKENS = 10_000


class TokenBucket:
    """``rate`` tokens a second, at most ``burst`` saved up."""

    __slots__ = ("_burst", "_clock", "_rate", "_stamp", "_tokens")

    def __init__(
        self,
        rate: float,
        burst: float,
        clock: Callable[[], float] = time.monotonic,
        now: float | None = None,
    ) -> None:
        self._rate = rate
        self._burst = burst
        self._tokens = burst
        self._clock = clock
        self._stamp = clock() if now is None else now

    def take(self, now: float | None = None) -> bool:
        """Take a token at ``now`` (default: the clock's time); ``False`` when none is left."""
        if now is None:
            now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._stamp) * self._rate)
        self._stamp = now
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        return False

    def retry_after_s(self) -> float:
        """Seconds until the next token."""
        return max(0.0, (1 - self._tokens) / self._rate) if self._rate > 0 else math.inf


@dataclass(eq=False, slots=True)
class RequestLimiter:
    """One bucket per token, the least recently used forgotten beyond ``max_tokens``.

    Keys are digests, so no token is kept in memory longer than its request.
    """

    rate: float
    burst: float
    _: KW_ONLY
    max_tokens: int = MAX_TRACKED_TOKENS
    clock: Callable[[], float] = time.monotonic
    _buckets: OrderedDict[bytes, TokenBucket] = field(
        default_factory=OrderedDict, init=False, repr=False
    )

    def check(self, token: str) -> float | None:
        """``None`` when the request may go ahead, else the seconds to wait."""
        key = hashlib.blake2b(token.encode(), digest_size=16).digest()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(self.rate, self.burst, self.clock)
            if len(self._buckets) > self.max_tokens:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
        return None if bucket.take() else bucket.retry_after_s()
