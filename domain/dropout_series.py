"""The chart's daily ``dropout_score`` column: each day's score as it stood at that day's end.

A day's value is the score a tracker fed only the events dated before the day ended
(``ZoneClock.day_end``) would give for that day: :func:`~domain.dropout.dropout_score` with
every time-ordered list cut at that instant. Today's is the live score (the progress
document's ``dropout_risk.score``). A day is ``None`` where the hub cannot know it:

- a claim on a session's start or end dated by that day was superseded by one dated after it
  (the tracker keeps only the winner, :mod:`domain.superseded`);
- a move of time zone unsettles it (``ZoneClock.unsettled``): it recurs after a later day, or
  ends within a week after the move.
"""

from __future__ import annotations

from collections.abc import Iterable

from domain import superseded
from domain.dropout import dropout_score
from domain.ledger import Ledger

UNIT = "score 0-1"


def dropout_column(ledger: Ledger, days: Iterable[int], today: int) -> list[float | None]:
    """The dropout score as of the end of each local day in ``days`` (ordinals)."""
    clock = ledger.clock
    column: list[float | None] = []
    for day in days:
        if day >= today:
            column.append(dropout_score(ledger, today))
            continue
        end = clock.day_end(day)
        if superseded.covers(ledger.superseded_spans, end) or clock.unsettled(day):
            column.append(None)
        else:
            column.append(dropout_score(ledger, day, end))
    return column
