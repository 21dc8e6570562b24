"""One therapy session as merged from its scheduled, started and ended events."""

from __future__ import annotations

from dataclasses import dataclass

from domain.events import SessionEnded, SessionScheduled, SessionStarted

Key = tuple[float, str]
"""Event-time precedence: ``(timestamp, event id)``; the larger key is the later fact."""


@dataclass(slots=True)
class SessionFacts:
    """The winning scheduled/started/ended event of one therapy session, with their keys."""

    scheduled: SessionScheduled | None = None
    scheduled_key: Key | None = None
    started: SessionStarted | None = None
    started_key: Key | None = None
    started_day: int = 0
    ended: SessionEnded | None = None
    ended_key: Key | None = None
    ended_day: int = 0

    def mood_change(self) -> int | None:
        """Post minus pre mood when both are known."""
        if self.started is None or self.ended is None:
            return None
        pre, post = self.started.mood_pre, self.ended.mood_post
        return None if pre is None or post is None else post - pre
