"""Hypothesis strategies for questionnaire scores, and the arrivals a hub may see them in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import strategies as st

from domain.instruments import CATALOG, Instrument
from domain.outcomes import ScoredMeasure, score

START = datetime(2026, 9, 7, 9, tzinfo=UTC)
OFFSETS = [UTC, timezone(timedelta(hours=1)), timezone(timedelta(hours=-5))]


def answers(instrument: Instrument) -> st.SearchStrategy[list[int]]:
    """Any valid answers; often all alike, so that totals swing enough for reliable change."""
    count, low, high = instrument.items, instrument.item_min, instrument.item_max
    return st.one_of(
        st.lists(st.integers(low, high), min_size=count, max_size=count),
        st.integers(low, high).map(lambda answer: [answer] * count),
    )


@st.composite
def scores(draw: st.DrawFn, instruments: tuple[Instrument, ...] = CATALOG) -> list[ScoredMeasure]:
    """Distinct scores (one event id each) on a few days, so that ties on ``at`` are common."""
    result = []
    for index in range(draw(st.integers(1, 8))):
        instrument = draw(st.sampled_from(instruments))
        day = draw(st.integers(0, 5))
        at = (START + timedelta(days=7 * day)).astimezone(draw(st.sampled_from(OFFSETS)))
        event_id = f"m{draw(st.integers(0, 99))}-{index}"
        result.append(score(instrument, event_id, at, draw(answers(instrument))))
    return result


@st.composite
def arrivals(draw: st.DrawFn, final: list[ScoredMeasure]) -> list[ScoredMeasure]:
    """The same scores in any order, some of them re-sent."""
    again = draw(st.lists(st.sampled_from(final), max_size=len(final)))
    return draw(st.permutations([*final, *again]))
