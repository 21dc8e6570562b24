"""One therapy session as merged from its scheduled, started and ended events."""

from __future__ import annotations

from dataclasses import dataclass, fields
from operator import attrgetter

Key = tuple[float, str]
"""Event-time precedence ``(POSIX timestamp, event id)``: the larger key is the later fact.

A plain tuple, so that a tracker's saved state holds keys as builtins.
"""


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


session_row = attrgetter(*(field.name for field in fields(SessionFacts)))
"""A session's facts as a tuple in declaration order (``SessionFacts(*row)`` rebuilds them)."""
