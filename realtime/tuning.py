"""Process-wide settings for the hub's own process: the garbage collector and the GIL.

Applied by ``progress-hub serve`` (``realtime/cli.py``) to the process it owns, never to an app
embedded elsewhere.

GIL switch interval
-------------------
SQLite runs in aiosqlite's thread, and every call the group-commit writer makes (``BEGIN``,
``executemany``, ``COMMIT``) crosses threads twice. Each crossing needs the GIL; while the event
loop runs Python, a waiting thread gets it only when the switch interval (5 ms by default)
expires. Measured at 5,000 single-event publishes/s, a ``BEGIN IMMEDIATE`` (microseconds of
SQLite work) took 4.8 ms at the median with that default, so a commit cost three switch
intervals before any disk work; at 0.5 ms it took 0.2-1.2 ms, and the alert latency's p99
fell in both back-to-back pairs measured (122 -> 69 ms, 99 -> 54 ms, on a shared machine).

Garbage collector
-----------------
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
import sys
import time
from collections.abc import Callable
from typing import Any

DEFAULT_RESCAN_INTERVAL_S = 3600.0
SWITCH_INTERVAL_S = 0.0005


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


def tune_process(rescan_interval_s: float = DEFAULT_RESCAN_INTERVAL_S) -> FreezeSurvivors:
    """Apply both settings to this process; returns the collector hook (see :func:`untune`)."""
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    hook = FreezeSurvivors(rescan_interval_s)
    gc.callbacks.append(hook)
    return hook


def untune(hook: FreezeSurvivors) -> None:
    if hook in gc.callbacks:
        gc.callbacks.remove(hook)
