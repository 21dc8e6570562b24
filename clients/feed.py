"""A bounded feed of items a client hands to the app: read as an async iterator."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from typing import Generic, TypeVar

T = TypeVar("T")
DEFAULT_FEED_SIZE = 10_000


class Feed(Generic[T]):
    """Items in arrival order; when the app reads none, the oldest are dropped past ``maxlen``.

    ``dropped`` counts what was dropped, so an app can tell that it fell behind.
    """

    def __init__(self, maxlen: int = DEFAULT_FEED_SIZE) -> None:
        self._items: deque[T] = deque()
        self._maxlen = maxlen
        self._ready = asyncio.Event()
        self._closed = False
        self.dropped = 0

    def put(self, item: T) -> None:
        if len(self._items) >= self._maxlen:
            self._items.popleft()
            self.dropped += 1
        self._items.append(item)
        self._ready.set()

    def drain(self) -> list[T]:
        """Everything queued now, without waiting."""
        items = list(self._items)
        self._items.clear()
        return items

    def close(self) -> None:
        """End every iteration once what is queued has been read."""
        self._closed = True
        self._ready.set()

    async def get(self, timeout: float | None = None) -> T:
        """The next item.

        Raises:
            TimeoutError: nothing arrived within ``timeout``.
            StopAsyncIteration: the feed is closed and empty.
        """
        async with asyncio.timeout(timeout):
            while not self._items:
                if self._closed:
                    raise StopAsyncIteration
                self._ready.clear()
                await self._ready.wait()
        return self._items.popleft()

    def __aiter__(self) -> AsyncIterator[T]:
        return self

    async def __anext__(self) -> T:
        return await self.get()
