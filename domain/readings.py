"""The mood readings a tracker keeps: only those a rule may still read, whatever the order.

The trend (and the ``mood_improving`` insight and the dropout risk's falling-mood factor, both
built on it) reads at most the newest ``READINGS_READ`` readings by event time; so does the
chart's daily dropout score, but as of the end of each local day (the newest readings dated
before that day ended). Monthly and per-day mood averages come from the day buckets' sums,
never from these lists. Keeping every reading would grow a tracker by one key and score per
mood event for ever.

What is kept: every reading with fewer than ``READINGS_READ`` check-ins after it on its own
local day (dated after it and before the end of that day, ``ZoneClock.day_end``). Check-ins
are never withdrawn (a session's pre or post mood is, when a later-keyed event supersedes the
session's start or end). A reading with that many check-ins after it on its day has at least
that many after it before the end of that day and of every later one, for good: no rule, as of
any day's end or now, can read it, and its withdrawal, had it been kept, would not have changed
the newest ``READINGS_READ`` before any of those cuts. The newest ``READINGS_READ`` readings
before any day's end are therefore all kept. The kept set is a function of the set of readings
(counting kept check-ins gives the same answer: the ones a count needs are always kept), so it
is the same whatever order, and however often, they arrive.

The bound, per local day with check-ins: ``READINGS_READ`` check-ins plus the session moods
newer than the oldest of them. A patient sending every event on one day keeps that many; one
with a check-in every day keeps one reading per day, like the list of active days.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterable
from typing import Final, Protocol

from domain.sessions import Key, SessionFacts
from domain.zoneclock import ZoneClock

TREND_WINDOW: Final = 6
"""The mood trend compares the mean of the last 6 readings with the 6 before."""
READINGS_READ: Final = 2 * TREND_WINDOW
"""The most readings any rule reads: the trend's two windows, the newest by event time."""
LONGEST_DAY_S: Final = 3 * 86400.0
"""More than any local day lasts (24 h, one more at a DST switch, up to 26 more at a move)."""


class Kept(Protocol):
    """Where a tracker keeps its readings: parallel lists in event-time order, and the kept
    check-ins' keys, sorted."""

    reading_keys: list[Key]
    reading_scores: list[int]
    recent_checkins: list[Key]


def _after(checkins: list[Key], key: Key, day_end: float) -> int:
    """How many kept check-ins are dated after ``key`` and before ``day_end``."""
    return bisect_left(checkins, (day_end,)) - bisect_right(checkins, key)


def add(kept: Kept, key: Key, score: int, day_end: float) -> None:
    """Keep a session's pre or post mood unless its day already has enough check-ins after it.

    ``day_end`` is the end of the reading's local day.
    """
    if _after(kept.recent_checkins, key, day_end) >= READINGS_READ:
        return
    index = bisect_left(kept.reading_keys, key)
    kept.reading_keys.insert(index, key)
    kept.reading_scores.insert(index, score)


def remove(keys: list[Key], scores: list[int], key: Key) -> None:
    """Withdraw a session's mood; one that was never kept is already gone."""
    index = bisect_left(keys, key)
    if index < len(keys) and keys[index] == key:
        del keys[index]
        del scores[index]


def add_checkin(kept: Kept, key: Key, score: int, clock: ZoneClock) -> None:
    """Keep a check-in's mood; earlier readings of its day may now be dropped."""
    keys, scores, checkins = kept.reading_keys, kept.reading_scores, kept.recent_checkins
    span = clock.day_span_at(key[0])
    day_end = span[1] if span is not None else clock.day_end_at(key[0])
    if _after(checkins, key, day_end) >= READINGS_READ:
        return
    insort(checkins, key)
    index = bisect_left(keys, key)
    keys.insert(index, key)
    scores.insert(index, score)
    # Only readings dated less than a day before it share its day; skip the scan while too
    # few check-ins lie around it for any of them to reach the count.
    start = (key[0] - LONGEST_DAY_S,)
    near = bisect_left(checkins, (key[0] + LONGEST_DAY_S,)) - bisect_left(checkins, start)
    if near < READINGS_READ:
        return
    if span is None:
        for at in range(index - 1, bisect_left(keys, start) - 1, -1):
            if _after(checkins, keys[at], clock.day_end_at(keys[at][0])) >= READINGS_READ:
                _drop(kept, at)
        return
    # One zone: its day's readings are those since the day's start, all ending with it, so
    # the count after each falls from the oldest on: drop from the oldest until one stays.
    at = bisect_left(keys, (span[0],))
    while keys[at] < key and _after(checkins, keys[at], day_end) >= READINGS_READ:
        _drop(kept, at)


def _drop(kept: Kept, at: int) -> None:
    """Forget the reading at index ``at``, and its check-in key if it is one."""
    earlier = kept.reading_keys.pop(at)
    del kept.reading_scores[at]
    checkins = kept.recent_checkins
    found = bisect_left(checkins, earlier)
    if found < len(checkins) and checkins[found] == earlier:
        del checkins[found]


def restored(keys: list[Key], sessions: Iterable[SessionFacts]) -> list[Key]:
    """The check-in keys among saved readings: those no session's winning start or end carries."""
    session_keys = set()
    for facts in sessions:
        if facts.mood_pre is not None and facts.started_key is not None:
            session_keys.add(facts.started_key)
        if facts.mood_post is not None and facts.ended_key is not None:
            session_keys.add(facts.ended_key)
    return [key for key in keys if key not in session_keys]
