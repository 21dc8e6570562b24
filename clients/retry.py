"""Jittered exponential backoff between reconnects: a random wait between half a cap and the
cap, which doubles per failure, so a fleet of clients does not stampede a hub that comes back
and no client retries in a tight loop."""

from __future__ import annotations

import random

DEFAULT_BACKOFF_INITIAL_S = 0.25
DEFAULT_BACKOFF_MAX_S = 15.0


class Backoff:
    def __init__(
        self,
        initial_s: float = DEFAULT_BACKOFF_INITIAL_S,
        max_s: float = DEFAULT_BACKOFF_MAX_S,
        rng: random.Random | None = None,
    ) -> None:
        if not 0 < initial_s <= max_s:
            raise ValueError("backoff needs 0 < initial_s <= max_s")
        self._initial = initial_s
        self._max = max_s
        self._rng = rng or random.Random()
        self.failures = 0

    def next_delay(self) -> float:
        """The wait before the next attempt; each call counts one more failure."""
        cap = min(self._max, self._initial * 2**self.failures)
        self.failures = min(self.failures + 1, 32)
        return self._rng.uniform(cap / 2, cap)

    def reset(self) -> None:
        self.failures = 0
