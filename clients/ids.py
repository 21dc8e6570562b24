"""Time-ordered event ids (UUIDv7, RFC 9562) for events the app publishes without one."""

from __future__ import annotations

import os
import time
import uuid


class EventIds:
    """Makes UUIDv7 strings that sort by creation time, also within one millisecond.

    The 12 bits after the millisecond timestamp count up within the millisecond (RFC 9562's
    "method 1"), so ids one client makes in a burst stay in order; the last 62 bits are random,
    so two clients never collide.
    """

    def __init__(self) -> None:
        self._last_ms = -1
        self._counter = 0

    def new(self) -> str:
        now_ms = time.time_ns() // 1_000_000
        if now_ms <= self._last_ms:
            self._counter += 1
            if self._counter > 0xFFF:  # 4,096 in one millisecond: borrow the next one
                self._last_ms += 1
                self._counter = 0
            now_ms = self._last_ms
        else:
            self._last_ms = now_ms
            self._counter = int.from_bytes(os.urandom(2)) & 0x3FF  # room to count upwards
        random_bits = int.from_bytes(os.urandom(8)) & ((1 << 62) - 1)
        value = (
            (now_ms & ((1 << 48) - 1)) << 80
            | 0x7 << 76
            | self._counter << 64
            | 0b10 << 62
            | random_bits
        )
        return str(uuid.UUID(int=value))
