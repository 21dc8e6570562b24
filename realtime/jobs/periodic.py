"""Work the hub does every so often, whatever the clients do: the domain's tick, snapshots, purges.

Each job runs after each interval, one run at a time; a run that fails is logged and the next
one comes anyway, so a full disk during a snapshot never stops the tick.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger("progress_hub.jobs")


class Periodic:
    """The hub's background jobs, started by :meth:`every`, stopped together by :meth:`cancel`."""

    def __init__(self) -> None:
        self._tasks: list[asyncio.Task[None]] = []

    def every(self, interval_s: float, job: Callable[[], Awaitable[object]], name: str) -> None:
        """Run ``job`` every ``interval_s`` seconds from now on; 0 or less never runs it."""
        if interval_s > 0:
            task = asyncio.create_task(_forever(interval_s, job, name), name=f"progress-hub-{name}")
            self._tasks.append(task)

    def cancel(self) -> None:
        for task in self._tasks:
            task.cancel()


async def _forever(interval_s: float, job: Callable[[], Awaitable[object]], name: str) -> None:
    while True:
        await asyncio.sleep(interval_s)
        try:
            await job()
        except Exception:
            log.exception("event=%s_failed", name)
