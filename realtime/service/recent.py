"""The ids the hub saw last: a bounded front for the event log's key.

Whether an id was ever accepted is answered by the store (``known_event_ids``); this front
answers the common case, a client re-sending what it just sent, without a round trip, and
keeps memory flat however many events arrive.
"""

from __future__ import annotations

from collections import deque

DEFAULT_CAPACITY = 16_384


class RecentIds:
    """Up to ``capacity`` ids, oldest forgotten first.

    Membership is exact for what it holds: an id in it was accepted (durable or in flight).
    An id not in it may still be in the log; ask the store.
    """

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self._capacity = capacity
        self._ids: set[str] = set()
        self._order: deque[str] = deque()

    def __contains__(self, event_id: str) -> bool:
        return event_id in self._ids

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, event_id: str) -> None:
        ids = self._ids
        if event_id in ids:
            return
        ids.add(event_id)
        order = self._order
        order.append(event_id)
        if len(order) > self._capacity:
            ids.discard(order.popleft())

    def discard(self, event_id: str) -> None:
        # Its slot in the order stays until it ages out; dropping an absent id is harmless.
        self._ids.discard(event_id)
