"""The questionnaires a tracker keeps: its patient's scores and the deterioration watch.

A :class:`MeasureBook` is the tracker's part for PROTOCOL.md section 8. It holds the set of
scores (so outcomes are the same whatever the arrival order), raises the alerts of
:func:`domain.measure_alerts.measure_alerts` for each newly added score, and gives the chart
values of a day: each instrument's ``series_key`` with the day's latest total, None without one.

Only the scores are saved: the watch is a function of them (``DeteriorationWatch.of``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from domain.effects import Effect
from domain.events import MeasureCompleted
from domain.instruments import INSTRUMENTS, Instrument
from domain.measure_alerts import DeteriorationWatch, measure_alerts
from domain.outcomes import (
    Outcome,
    ScoredMeasure,
    daily_totals,
    patient_outcomes,
    score_event,
    scores_from_state,
    scores_to_state,
)

DayTotals = tuple[tuple[str, int | None], ...]
"""A day's chart totals: ``(series_key, total or None)`` for every instrument, catalogue order."""


def _empty_totals(instruments: Mapping[str, Instrument]) -> DayTotals:
    return tuple((instrument.series_key, None) for instrument in instruments.values())


_CATALOGUE_EMPTY: DayTotals = _empty_totals(INSTRUMENTS)


@dataclass(slots=True, eq=False)
class MeasureBook:
    """A patient's scored questionnaires and which deterioration alerts are raised."""

    scores: set[ScoredMeasure] = field(default_factory=set)
    watch: DeteriorationWatch = DeteriorationWatch()
    instruments: Mapping[str, Instrument] = field(default_factory=lambda: INSTRUMENTS)

    def add(self, event: MeasureCompleted, effects: list[Effect]) -> None:
        """Score a questionnaire and append the alerts it raises (screening first)."""
        scored = score_event(event, self.instruments)
        if scored in self.scores:
            return
        self.scores.add(scored)
        self.watch, alerts = measure_alerts(self.watch, scored, self.outcomes(), self.instruments)
        effects.extend(alerts)

    def outcomes(self) -> dict[str, Outcome]:
        """The patient's outcome on each instrument with a score, catalogue order."""
        return patient_outcomes(self.scores, self.instruments)

    def totals_by_day(self, day_of: Callable[[datetime], int]) -> dict[int, DayTotals]:
        """Every day with a score and its chart totals (days without one are :meth:`empty`)."""
        if not self.scores:
            return {}
        per_instrument = {
            name: daily_totals(item, day_of) for name, item in self.outcomes().items()
        }
        days = {day for totals in per_instrument.values() for day in totals}
        return {
            day: tuple(
                (instrument.series_key, per_instrument.get(name, {}).get(day))
                for name, instrument in self.instruments.items()
            )
            for day in days
        }

    def empty(self) -> DayTotals:
        """The chart totals of a day without a score."""
        if self.instruments is INSTRUMENTS:
            return _CATALOGUE_EMPTY  # every apply asks: built once for the catalogue
        return _empty_totals(self.instruments)

    def to_state(self) -> list[list[Any]]:
        """Builtins for the tracker's saved state (the scores, oldest first)."""
        return scores_to_state(self.scores)

    @classmethod
    def from_state(cls, state: object) -> MeasureBook:
        """The book :meth:`to_state` wrote; None (an older state) reads as no scores.

        Raises:
            StateFormatError: when ``state`` is not what ``to_state`` writes.
        """
        scores = set(scores_from_state([] if state is None else state))
        return cls(scores, DeteriorationWatch.of(patient_outcomes(scores).values()))


def series_columns(
    book: MeasureBook, ordinals: Iterable[int], day_of: Callable[[datetime], int]
) -> dict[str, list[float | None]]:
    """The instruments' chart columns over ``ordinals`` (null on days without a score)."""
    by_day = book.totals_by_day(day_of)
    empty = book.empty()
    columns: dict[str, list[float | None]] = {key: [] for key, _ in empty}
    for ordinal in ordinals:
        for key, value in by_day.get(ordinal, empty):
            columns[key].append(value)
    return columns
