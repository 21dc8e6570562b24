"""How the hub's process uses Python's cyclic garbage collector.

Why: the hub's live state only grows (trackers keep every event, channels keep their history),
and CPython 3.11 walks all of it on every full collection. Measured in the latency bench
(5,000 single-event publishes/s, fresh database): 28 full collections in 26 s took 6.1 s of the
event loop, up to 506 ms each, which alone put the p99 far past its 20 ms target.

Policy: whatever survives a full collection has shown it is long-lived; it is frozen
(:func:`gc.freeze`), so later collections walk only what was created since. Reference counting
still frees frozen objects as usual; only a reference *cycle* that dies after being frozen is
kept until the next rescan. The hub breaks its own per-connection cycles when a connection ends
(``Connection.run``); what is left is small and comes from libraries (uvicorn's HTTP protocol
and its parser refer to each other). Measured with 8 rounds of 1,000 WebSocket connections
opened and closed under load: RSS grew 10-11 MiB a round with or without this policy (the
events themselves), against 30 MiB a round before the connection's cycles were broken.

``rescan_interval_s`` bounds what such cycles can hold: at most once per interval, the next full
collection walks everything again (one long pause, seconds with millions of events in memory),
and freezing resumes after it. The start-up freeze in ``realtime/cli.py`` is part of the same
permanent generation, so a rescan walks the start-up state too.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Any

DEFAULT_RESCAN_INTERVAL_S = 3600.0


class FreezeSurvivors:
    """A ``gc.callbacks`` hook that freezes the survivors of each full collection."""

    def __init__(
        self,
        rescan_interval_s: float = DEFAULT_RESCAN_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._rescan_interval_s = rescan_interval_s
        self._clock = clock
        self._last_rescan = clock()
        self.frozen_after = 0  # full collections followed by a freeze
        self.rescans = 0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase != "stop" or info.get("generation") != 2:
            return
        now = self._clock()
        if now - self._last_rescan >= self._rescan_interval_s:
            # Hand everything back to the collector; the next full collection frees the
            # cycles that died while frozen, and this hook freezes what survives it.
            self._last_rescan = now
            self.rescans += 1
            gc.unfreeze()
            return
        gc.freeze()
        self.frozen_after += 1


def install(rescan_interval_s: float = DEFAULT_RESCAN_INTERVAL_S) -> FreezeSurvivors:
    """Apply the policy to this process (the hub's own process only, never an embedding app)."""
    hook = FreezeSurvivors(rescan_interval_s)
    gc.callbacks.append(hook)
    return hook


def uninstall(hook: FreezeSurvivors) -> None:
    if hook in gc.callbacks:
        gc.callbacks.remove(hook)
