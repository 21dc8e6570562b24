"""The mood readings a tracker keeps: only those a rule may still read, whatever the order.

The trend (and the ``mood_improving`` insight and the dropout risk's falling-mood factor, both
built on it) reads at most the newest ``READINGS_READ`` readings by event time; monthly and
per-day mood averages come from the day buckets' sums, never from these lists. Keeping every
reading would grow a tracker by one key and score per mood event for ever.

What is kept: every reading with fewer than ``READINGS_READ`` check-ins after it. Check-ins are
never withdrawn (a session's pre or post mood is, when a later-keyed event supersedes the
session's start or end, and a zone change withdraws and re-adds it under the same key). So a
reading with that many check-ins after it has at least that many readings after it for good:
no rule can ever read it, and its withdrawal, had it been kept, would not have changed the
newest ``READINGS_READ``. The kept set is a function of the set of readings, so it is the same
whatever order (and however often) they arrive, and it always holds the newest
``READINGS_READ`` readings, or all of them when there are fewer.

The bound: ``READINGS_READ`` check-ins plus the session moods newer than the oldest of them.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterable
from typing import Final

from domain.sessions import Key, SessionFacts

TREND_WINDOW: Final = 6
"""The mood trend compares the mean of the last 6 readings with the 6 before."""
READINGS_READ: Final = 2 * TREND_WINDOW
"""The most readings any rule reads: the trend's two windows, the newest by event time."""


def floor(checkins: list[Key]) -> Key | None:
    """The oldest key a kept reading may have; None while every reading is kept."""
    return checkins[0] if len(checkins) >= READINGS_READ else None


def add(keys: list[Key], scores: list[int], checkins: list[Key], key: Key, score: int) -> None:
    """Keep a session's pre or post mood unless it is behind the floor."""
    oldest = floor(checkins)
    if oldest is not None and key < oldest:
        return
    index = bisect_left(keys, key)
    keys.insert(index, key)
    scores.insert(index, score)


def remove(keys: list[Key], scores: list[int], key: Key) -> None:
    """Withdraw a session's mood; one dropped behind the floor is already gone."""
    index = bisect_left(keys, key)
    if index < len(keys) and keys[index] == key:
        del keys[index]
        del scores[index]


def add_checkin(
    keys: list[Key], scores: list[int], checkins: list[Key], key: Key, score: int
) -> None:
    """Keep a check-in's mood; the floor may rise past older readings, which are dropped."""
    oldest = floor(checkins)
    if oldest is not None and key < oldest:
        return
    insort(checkins, key)
    index = bisect_left(keys, key)
    keys.insert(index, key)
    scores.insert(index, score)
    if len(checkins) > READINGS_READ:
        del checkins[0]
        trim(keys, scores, checkins)


def trim(keys: list[Key], scores: list[int], checkins: list[Key]) -> None:
    """Drop the readings behind the floor."""
    oldest = floor(checkins)
    if oldest is None:
        return
    cut = bisect_left(keys, oldest)
    if cut:
        del keys[:cut]
        del scores[:cut]


def restored(keys: list[Key], scores: list[int], sessions: Iterable[SessionFacts]) -> list[Key]:
    """The newest check-in keys among saved readings, after trimming the readings to them.

    A saved state holds only the readings; the check-ins among them are those no session's
    winning start or end carries. A state saved before readings were bounded holds every
    reading: it is trimmed here to what a live tracker keeps.
    """
    session_keys = set()
    for facts in sessions:
        if facts.mood_pre is not None and facts.started_key is not None:
            session_keys.add(facts.started_key)
        if facts.mood_post is not None and facts.ended_key is not None:
            session_keys.add(facts.ended_key)
    checkins = [key for key in keys if key not in session_keys][-READINGS_READ:]
    trim(keys, scores, checkins)
    return checkins
