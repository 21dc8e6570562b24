"""When a session claim was in force that a later-dated one superseded.

A tracker keeps only the winning start and end of each session (the larger event-time key).
The chart's daily dropout score scores each day from the facts dated before its end; a day
that ended after the older of two claims on the same start or end and not after the newer one
saw the older claim in force, which the tracker no longer holds: such a day scores ``null``.

Noted here, as sorted disjoint ``(from, to)`` spans of POSIX timestamps: for each pair of claims
seen, the span from the older to the newer (times, not days, so a later move of time zone
changes nothing noted). Spans less than ``MERGE_GAP_S`` apart are merged, which keeps the list
short while corrections keep coming (at the cost of a null for a midnight inside such a gap).
The result is the union of every pair's span with the short gaps closed: a function of the set
of claims, the same whatever order they arrive in.
"""

from __future__ import annotations

from bisect import bisect_left
from typing import Final

from domain.sessions import Key

MERGE_GAP_S: Final = 3600.0
"""Spans closer than an hour are kept as one."""


def note(spans: list[tuple[float, float]], one: Key, other: Key) -> None:
    """Two claims on one session's start or end: note the span the older one was in force."""
    start, end = min(one[0], other[0]), max(one[0], other[0])
    if start == end:
        return
    index = bisect_left(spans, (start,))
    if index and spans[index - 1][1] >= start - MERGE_GAP_S:
        index -= 1
        start = spans[index][0]
    stop = index
    while stop < len(spans) and spans[stop][0] <= end + MERGE_GAP_S:
        end = max(end, spans[stop][1])
        stop += 1
    spans[index:stop] = [(start, end)]


def covers(spans: list[tuple[float, float]], cut: float) -> bool:
    """Whether a day ending at ``cut`` saw a claim later superseded (``from < cut <= to``)."""
    index = bisect_left(spans, (cut,))
    return bool(index) and spans[index - 1][1] >= cut
