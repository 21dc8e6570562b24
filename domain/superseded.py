"""Which local days saw a session claim that a later-dated one superseded.

A tracker keeps only the winning start and end of each session (the larger event-time key).
The chart's daily dropout score scores each day from the facts dated by its end; a day that
ended after the older of two claims on the same start or end and before the newer one saw the
older claim in force, which the tracker no longer holds. Such days are noted here, as sorted
disjoint ``(first, last)`` spans of day ordinals, and score ``null``: the hub cannot know them.

The spans are the union over every pair of claims seen, so they are the same whatever order
the claims arrive in. Claims dated on the same local day note nothing, so a patient sending
every event on one day adds at most one span.
"""

from __future__ import annotations

from bisect import bisect_left

from domain.sessions import Key


def note(spans: list[tuple[int, int]], one: Key, one_day: int, other: Key, other_day: int) -> None:
    """Two claims on one session's start or end: note the days that saw only the older."""
    older, newer = (one_day, other_day) if one < other else (other_day, one_day)
    if older >= newer:
        return
    first, last = older, newer - 1
    index = bisect_left(spans, (first,))
    if index and spans[index - 1][1] >= first - 1:
        index -= 1
        first = spans[index][0]
    end = index
    while end < len(spans) and spans[end][0] <= last + 1:
        last = max(last, spans[end][1])
        end += 1
    spans[index:end] = [(first, last)]


def covers(spans: list[tuple[int, int]], day: int) -> bool:
    """Whether ``day`` lies in one of the noted spans."""
    index = bisect_left(spans, (day + 1,))
    return bool(index) and spans[index - 1][1] >= day
