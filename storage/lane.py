"""The group-commit writer's urgent lane: which queued writes an urgent write may pass.

See :mod:`storage.writer` for the rule; this is its one implementation, run by the writer
thread on the writes it has taken from its queue and not yet committed.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from storage.multirow import Row

Step = tuple[str, Sequence[Row]]
Steps = Sequence[Step]
Queued = TypeVar("Queued")


@dataclass(frozen=True, slots=True)
class Lane:
    """Which lane a write takes: ``urgent`` or not, and the keys it ``follows`` (``None``: all
    its keys), as :mod:`storage.writer` describes."""

    urgent: bool = False
    follows: frozenset[str] | None = None


BULK = Lane()


@dataclass(slots=True)
class Write:
    """Rows to commit in one transaction, and what the urgent lane needs to know of them."""

    steps: list[Step]
    rows: int
    done: asyncio.Future[int] = field(repr=False)
    urgent: bool = False
    # What the write touches (patient ids); ``None``: anything, so nothing passes it.
    keys: frozenset[str] | None = None
    # The keys whose earlier writes must commit first (``None``: its keys).
    follows: frozenset[str] | None = None


def take_urgent(pending: deque[Queued], max_rows: int) -> list[Write]:
    """Take out the urgent writes that may go first, with the queued writes they must follow.

    Only writes before the first barrier (a read, the close, a write without keys) move. Walking
    back from the last urgent write, a write moves when it is urgent or holds a key that a
    write moving after it follows, so nothing that passes a write follows any of its keys.
    Empty when nothing is urgent, or when the writes to move would exceed ``max_rows`` (then
    everything is committed in arrival order, as it would have been without a lane).
    """
    movable: list[Queued] = []
    for item in pending:
        if not isinstance(item, Write) or item.keys is None:
            break
        movable.append(item)
    writes = [item for item in movable if isinstance(item, Write)]
    last = max((i for i, write in enumerate(writes) if write.urgent), default=-1)
    if last < 0:
        return []
    followed: set[str] = set()
    moving: list[Write] = []
    rows = 0
    for write in reversed(writes[: last + 1]):
        assert write.keys is not None and write.follows is not None
        if write.urgent or not write.keys.isdisjoint(followed):
            followed.update(write.follows)
            moving.append(write)
            rows += write.rows
    if rows > max_rows:
        return []
    moving.reverse()
    chosen = {id(write) for write in moving}
    staying = [item for item in movable[: last + 1] if id(item) not in chosen]
    for _ in range(last + 1):
        pending.popleft()
    pending.extendleft(reversed(staying))
    return moving
