"""One therapy session as merged from its scheduled, started and ended events."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, cast

from mypy_extensions import mypyc_attr


class Key(NamedTuple):
    """Event-time precedence: ``(timestamp, event id)``; the larger key is the later fact.

    Keys are plain tuples, made by :func:`event_key` and read by index (the state holds them as
    builtins). Declared as a NamedTuple because mypyc keeps NamedTuple values boxed: a plain
    ``tuple[float, str]`` is unboxed in compiled code and boxed anew at every store, identity
    test and comparison, several allocations per event instead of one.
    """

    ts: float
    event_id: str


def event_key(ts: float, event_id: str) -> Key:
    """The key of the event with id ``event_id`` dated ``ts`` (a POSIX timestamp)."""
    return cast(Key, (ts, event_id))


# Acyclic: holds only keys, numbers and strings, so compiled facts skip the cyclic collector.
@mypyc_attr(acyclic=True)
@dataclass(slots=True)
class SessionFacts:
    """What the winning scheduled/started/ended event of one session said, with their keys.

    Only the plain fields the figures read are kept, never the events themselves: a tracker's
    state stays small and made of builtins. A part is known when its key is not None.
    """

    scheduled_key: Key | None = None
    scheduled_for: float = 0.0  # POSIX timestamp
    started_key: Key | None = None
    started_day: int = 0
    mood_pre: int | None = None
    ended_key: Key | None = None
    ended_day: int = 0
    status: str = ""  # completed / cancelled / no_show once ended
    duration_s: float = 0.0
    mood_post: int | None = None
    topics: tuple[str, ...] = ()

    def mood_change(self) -> int | None:
        """Post minus pre mood when both are known."""
        pre, post = self.mood_pre, self.mood_post
        return None if pre is None or post is None else post - pre
