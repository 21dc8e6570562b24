"""Outcomes on validated measures: baseline, latest, reliable change, caseness and recovery.

PROTOCOL.md section 8. A :class:`ScoredMeasure` is one completed questionnaire, scored; an
:class:`Outcome` is what one patient's scores on one instrument add up to. Every figure is a
function of the *set* of scores: they are ordered by ``at`` (ties by event id, then by the
answers), and a score given twice counts once, so the outcome is the same whatever order the
events arrived in and however often one was re-sent.

- baseline: the first score on record; latest: the last one; ``change`` = latest - baseline;
- ``reliable_change``: ``improved`` when the total fell by at least the instrument's
  reliable-change threshold, ``deteriorated`` when it rose by at least that much, else ``none``;
- caseness: a total at or above the instrument's cut-off; ``recovered``: a case at baseline and
  not a case now; ``reliable_recovery``: recovered and reliably improved.

:func:`practice_outcomes` aggregates a practice: among patients with at least two scores on an
instrument, the share who reliably improved, recovered, reliably recovered (those two over the
patients who were a case at baseline) and reliably deteriorated.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Literal, TypeVar

from domain.errors import StateFormatError
from domain.events import MeasureCompleted
from domain.instruments import INSTRUMENTS, Instrument, is_case, severity, total

ReliableChange = Literal["improved", "deteriorated", "none"]
DayKey = TypeVar("DayKey")
RATE_DIGITS: Final = 3
"""Practice rates are fractions in 0..1, rounded like the hub's other rates."""


def rfc3339_utc(at: datetime) -> str:
    """An instant as the hub writes every instant: RFC 3339 in UTC with ``Z``."""
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class ScoredMeasure:
    """One completed questionnaire: its answers and their total, when and by which event."""

    instrument: str
    at: datetime
    event_id: str
    items: tuple[int, ...]
    total: int


def score(
    instrument: Instrument, event_id: str, at: datetime, items: Iterable[int]
) -> ScoredMeasure:
    """Score a complete, valid set of answers (``events.MeasureCompleted`` checked them)."""
    answers = tuple(items)
    return ScoredMeasure(
        instrument.name, at.astimezone(UTC), event_id, answers, total(instrument, answers)
    )


def score_event(
    event: MeasureCompleted, instruments: Mapping[str, Instrument] = INSTRUMENTS
) -> ScoredMeasure:
    """Score a validated ``measure_completed`` event."""
    return score(instruments[event.instrument], event.id, event.at, event.items)


def _order(scored: ScoredMeasure) -> tuple[datetime, str, tuple[int, ...], int]:
    return (scored.at, scored.event_id, scored.items, scored.total)


@dataclass(frozen=True, slots=True)
class Outcome:
    """One patient's scores on one instrument (at least one), oldest first, without repeats."""

    instrument: Instrument
    history: tuple[ScoredMeasure, ...]

    @property
    def count(self) -> int:
        """How many scores are on record."""
        return len(self.history)

    @property
    def baseline(self) -> ScoredMeasure:
        """The first score on record."""
        return self.history[0]

    @property
    def latest(self) -> ScoredMeasure:
        """The last score on record."""
        return self.history[-1]

    @property
    def change(self) -> int:
        """Latest minus baseline total: negative is better on every catalogued instrument."""
        return self.latest.total - self.baseline.total

    @property
    def reliable_change(self) -> ReliableChange:
        """Whether the change exceeds measurement error, either way."""
        threshold = self.instrument.reliable_change
        change = self.change
        if change <= -threshold:
            return "improved"
        if change >= threshold:
            return "deteriorated"
        return "none"

    @property
    def caseness_at_baseline(self) -> bool:
        """Whether the baseline total was in the clinical range."""
        return is_case(self.instrument, self.baseline.total)

    @property
    def caseness_now(self) -> bool:
        """Whether the latest total is in the clinical range."""
        return is_case(self.instrument, self.latest.total)

    @property
    def recovered(self) -> bool:
        """A case at baseline and not a case now."""
        return self.caseness_at_baseline and not self.caseness_now

    @property
    def reliable_recovery(self) -> bool:
        """Recovered, and by a reliable improvement."""
        return self.recovered and self.reliable_change == "improved"

    def _point(self, scored: ScoredMeasure) -> dict[str, Any]:
        return {
            "total": scored.total,
            "severity": severity(self.instrument, scored.total),
            "at": rfc3339_utc(scored.at),
        }

    def to_wire(self, with_history: bool = True) -> dict[str, Any]:
        """The outcome as section 8 shows it; the progress document leaves ``history`` out."""
        document: dict[str, Any] = {
            "count": self.count,
            "baseline": self._point(self.baseline),
            "latest": self._point(self.latest),
            "change": self.change,
            "reliable_change": self.reliable_change,
            "caseness_at_baseline": self.caseness_at_baseline,
            "caseness_now": self.caseness_now,
            "recovered": self.recovered,
            "reliable_recovery": self.reliable_recovery,
        }
        if with_history:
            document["history"] = [
                {
                    "at": rfc3339_utc(scored.at),
                    "total": scored.total,
                    "severity": severity(self.instrument, scored.total),
                }
                for scored in self.history
            ]
        return document


def outcome(instrument: Instrument, scores: Iterable[ScoredMeasure]) -> Outcome | None:
    """The outcome of a patient's scores on ``instrument``; None when there is none.

    Scores on other instruments are ignored; a score present twice counts once.
    """
    mine = {scored for scored in scores if scored.instrument == instrument.name}
    if not mine:
        return None
    return Outcome(instrument, tuple(sorted(mine, key=_order)))


def patient_outcomes(
    scores: Iterable[ScoredMeasure], instruments: Mapping[str, Instrument] = INSTRUMENTS
) -> dict[str, Outcome]:
    """A patient's outcome on each instrument it has a score on, in catalogue order."""
    by_name: dict[str, set[ScoredMeasure]] = {}
    for scored in scores:
        by_name.setdefault(scored.instrument, set()).add(scored)
    result: dict[str, Outcome] = {}
    for name, instrument in instruments.items():
        mine = by_name.get(name)
        if mine:
            result[name] = Outcome(instrument, tuple(sorted(mine, key=_order)))
    return result


def daily_totals(outcome: Outcome, day_of: Callable[[datetime], DayKey]) -> dict[DayKey, int]:
    """The chart value of each day with a score: the total of the day's latest score.

    Args:
        outcome: one patient's outcome on one instrument.
        day_of: the patient's day of an instant (its local day, for the series).
    """
    # The history is oldest first, so the last score of a day overwrites the earlier ones.
    return {day_of(scored.at): scored.total for scored in outcome.history}


def measures_document(outcomes: Mapping[str, Outcome], with_history: bool) -> dict[str, Any]:
    """The ``measures`` object: REST ``outcomes`` with history, the progress document without."""
    return {name: item.to_wire(with_history) for name, item in outcomes.items()}


def outcomes_document(patient_id: str, outcomes: Mapping[str, Outcome]) -> dict[str, Any]:
    """``GET /api/v1/patients/{id}/outcomes``."""
    return {"patient_id": patient_id, "measures": measures_document(outcomes, True)}


def _rate(part: int, whole: int) -> float | None:
    # None, not 0.0, when nobody qualifies: "no patient recovered" and "no patient could" differ.
    return round(part / whole, RATE_DIGITS) if whole else None


def practice_outcomes(
    patients: Iterable[Mapping[str, Outcome]],
    instruments: Mapping[str, Instrument] = INSTRUMENTS,
) -> dict[str, dict[str, Any]]:
    """``GET /api/v1/analytics/outcomes``: a practice's outcomes, keyed by instrument.

    Args:
        patients: each patient's outcomes (``patient_outcomes``), one mapping per patient.
        instruments: the catalogue; every instrument in it gets an entry, measured or not.

    Returns:
        Per instrument, over the patients with at least two scores on it: ``patients``,
        ``cases_at_baseline``, and the rates ``reliable_improvement_rate``,
        ``reliable_deterioration_rate`` (over ``patients``), ``recovery_rate`` and
        ``reliable_recovery_rate`` (over ``cases_at_baseline``); a rate is None when its
        denominator is zero.
    """
    counts = {name: [0, 0, 0, 0, 0, 0] for name in instruments}
    for outcomes in patients:
        for name, item in outcomes.items():
            tally = counts.get(name)
            if tally is None or item.count < 2:
                continue
            change = item.reliable_change
            tally[0] += 1
            if item.caseness_at_baseline:
                tally[1] += 1
            if change == "improved":
                tally[2] += 1
            elif change == "deteriorated":
                tally[3] += 1
            if item.recovered:
                tally[4] += 1
            if item.reliable_recovery:
                tally[5] += 1
    return {
        name: {
            "patients": measured,
            "cases_at_baseline": cases,
            "reliable_improvement_rate": _rate(improved, measured),
            "recovery_rate": _rate(recovered, cases),
            "reliable_recovery_rate": _rate(reliably, cases),
            "reliable_deterioration_rate": _rate(deteriorated, measured),
        }
        for name, (measured, cases, improved, deteriorated, recovered, reliably) in counts.items()
    }


# -- state (what the tracker keeps) -----------------------------------------------------------


def scores_to_state(scores: Iterable[ScoredMeasure]) -> list[list[Any]]:
    """Scores as builtins, oldest first: ``[instrument, at, event_id, items, total]`` each."""
    return [
        [
            scored.instrument,
            rfc3339_utc(scored.at),
            scored.event_id,
            list(scored.items),
            scored.total,
        ]
        for scored in sorted(set(scores), key=_order)
    ]


def _restored(row: object) -> ScoredMeasure:
    if not isinstance(row, list) or len(row) != 5:
        raise StateFormatError("a score must be [instrument, at, event_id, items, total]")
    name, at, event_id, items, score_total = row
    if not (
        isinstance(name, str)
        and isinstance(at, str)
        and isinstance(event_id, str)
        and isinstance(items, list)
        and all(isinstance(answer, int) for answer in items)
        and isinstance(score_total, int)
    ):
        raise StateFormatError("a score has a field of the wrong type")
    try:
        when = datetime.fromisoformat(at)
    except ValueError:
        raise StateFormatError(f"a score's instant is not RFC 3339: {at!r}") from None
    if when.tzinfo is None:
        raise StateFormatError(f"a score's instant has no UTC offset: {at!r}")
    return ScoredMeasure(name, when.astimezone(UTC), event_id, tuple(items), score_total)


def scores_from_state(state: object) -> list[ScoredMeasure]:
    """Scores from :func:`scores_to_state`.

    Raises:
        StateFormatError: when ``state`` is not what ``scores_to_state`` writes.
    """
    if not isinstance(state, list):
        raise StateFormatError("scores must be a list")
    return [_restored(row) for row in state]
