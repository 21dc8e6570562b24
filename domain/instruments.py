"""Validated questionnaires as data: items, range, severity bands, thresholds and their sources.

An :class:`Instrument` says everything the hub needs to score one questionnaire and judge change
on it (PROTOCOL.md section 8). Each number carries the citation it comes from, so a clinician
can check it. :data:`CATALOG` is the table of instruments the hub accepts; a clinic adds one
(the CORE-10, say) by adding an entry there, and every rule that scores, bands, judges change or
raises a screening alert reads it from the entry: nothing else names an instrument.

Items are numbered from 1, as on the printed questionnaire ("item 9").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

KROENKE_2001: Final = (
    "Kroenke K, Spitzer RL, Williams JBW. The PHQ-9: validity of a brief depression severity "
    "measure. J Gen Intern Med 2001;16(9):606-613"
)
SPITZER_2006: Final = (
    "Spitzer RL, Kroenke K, Williams JBW, Löwe B. A brief measure for assessing generalized "
    "anxiety disorder: the GAD-7. Arch Intern Med 2006;166(10):1092-1097"
)
NHS_TALKING_THERAPIES: Final = (
    "NHS England. NHS Talking Therapies for anxiety and depression manual: reliable "
    "improvement, recovery and reliable recovery"
)
JACOBSON_TRUAX_1991: Final = (
    "Jacobson NS, Truax P. Clinical significance: a statistical approach to defining meaningful "
    "change in psychotherapy research. J Consult Clin Psychol 1991;59(1):12-19"
)


@dataclass(frozen=True, slots=True)
class SeverityBand:
    """Totals from ``low`` to ``high`` (both included) carry the label ``name``."""

    name: str
    low: int
    high: int


@dataclass(frozen=True, slots=True)
class CriticalItem:
    """An item whose answer at or above ``at_least`` raises an alert at once, whatever the total.

    ``meaning`` names what the item asks in a few fixed words (it goes into the alert's
    ``detail``, which never carries anything a patient wrote).
    """

    item: int
    at_least: int
    code: str
    severity: str
    meaning: str


@dataclass(frozen=True, slots=True)
class Sources:
    """Where each number of an instrument comes from, as citations."""

    scale: str  # item count and answer range
    bands: str
    reliable_change: str
    caseness: str
    critical_items: str


@dataclass(frozen=True, slots=True)
class Instrument:
    """One validated questionnaire.

    Attributes:
        name: the name on the wire (``PHQ-9``).
        items: how many items it has.
        item_min: the lowest answer to an item.
        item_max: the highest answer to an item.
        bands: severity bands, lowest first, covering every possible total without gaps.
        reliable_change: a change in total of at least this much is reliable (beyond
            measurement error, Jacobson & Truax 1991).
        caseness: a total at or above this is a case (clinical range).
        critical_items: items that raise an alert by their answer alone.
        reversed_items: items scored ``item_max + item_min - answer`` (positively worded ones).
        sources: the citation for each number.
    """

    name: str
    items: int
    item_min: int
    item_max: int
    bands: tuple[SeverityBand, ...]
    reliable_change: int
    caseness: int
    critical_items: tuple[CriticalItem, ...]
    reversed_items: tuple[int, ...]
    sources: Sources

    @property
    def lowest_total(self) -> int:
        """The smallest total the questionnaire can give."""
        return self.items * self.item_min

    @property
    def highest_total(self) -> int:
        """The largest total the questionnaire can give."""
        return self.items * self.item_max

    @property
    def series_key(self) -> str:
        """The chart series of its daily totals: ``phq9_total`` for the PHQ-9."""
        return self.name.lower().replace("-", "") + "_total"


def questionnaire(
    name: str,
    *,
    items: int,
    answers: tuple[int, int],
    bands: Mapping[str, int],
    reliable_change: int,
    caseness: int,
    sources: Sources,
    critical_items: tuple[CriticalItem, ...] = (),
    reversed_items: tuple[int, ...] = (),
) -> Instrument:
    """A catalogue entry as the printed scoring sheet states it.

    ``answers`` is the lowest and highest answer to an item; ``bands`` maps each label to the
    highest total it covers, lowest first: each band starts one above the one before, the
    first at the lowest total, so the bands cannot leave a gap.
    """
    item_min, item_max = answers
    low, severity_bands = items * item_min, []
    for label, high in bands.items():
        severity_bands.append(SeverityBand(label, low, high))
        low = high + 1
    return Instrument(
        name=name,
        items=items,
        item_min=item_min,
        item_max=item_max,
        bands=tuple(severity_bands),
        reliable_change=reliable_change,
        caseness=caseness,
        critical_items=critical_items,
        reversed_items=reversed_items,
        sources=sources,
    )


PHQ_9: Final = questionnaire(
    "PHQ-9",
    items=9,
    answers=(0, 3),
    bands=dict(minimal=4, mild=9, moderate=14, moderately_severe=19, severe=27),
    reliable_change=6,
    caseness=10,
    critical_items=(
        CriticalItem(9, 1, "suicide_risk_screen", "critical", "thoughts of self-harm"),
    ),
    sources=Sources(
        scale=KROENKE_2001,
        bands=KROENKE_2001,
        reliable_change=f"{NHS_TALKING_THERAPIES}; method: {JACOBSON_TRUAX_1991}",
        caseness=NHS_TALKING_THERAPIES,
        critical_items=f"{KROENKE_2001} (any positive answer to item 9 warrants assessment)",
    ),
)

GAD_7: Final = questionnaire(
    "GAD-7",
    items=7,
    answers=(0, 3),
    bands=dict(minimal=4, mild=9, moderate=14, severe=21),
    reliable_change=4,
    caseness=8,
    sources=Sources(
        scale=SPITZER_2006,
        bands=SPITZER_2006,
        reliable_change=f"{NHS_TALKING_THERAPIES}; method: {JACOBSON_TRUAX_1991}",
        caseness=NHS_TALKING_THERAPIES,
        critical_items="none: the GAD-7 has no item that screens for risk",
    ),
)

CATALOG: Final[tuple[Instrument, ...]] = (PHQ_9, GAD_7)
"""Every instrument the hub accepts, in the order documents list them."""


def instrument_problems(instrument: Instrument) -> list[str]:
    """What is inconsistent in an instrument's table entry; empty when it is sound."""
    problems = []
    if instrument.items < 1 or instrument.item_min > instrument.item_max:
        problems.append("needs at least one item and item_min <= item_max")
    expected = instrument.lowest_total
    for band in instrument.bands:
        if band.low != expected or band.high < band.low:
            problems.append(f"band {band.name} must start at {expected}")
        expected = band.high + 1
    if expected != instrument.highest_total + 1:
        problems.append(f"the bands must end at {instrument.highest_total}")
    if instrument.reliable_change < 1:
        problems.append("reliable_change must be at least 1")
    if not instrument.lowest_total < instrument.caseness <= instrument.highest_total:
        problems.append("caseness must be a total the questionnaire can reach")
    numbers = [critical.item for critical in instrument.critical_items]
    for number in [*numbers, *instrument.reversed_items]:
        if not 1 <= number <= instrument.items:
            problems.append(f"item {number} does not exist")
    for critical in instrument.critical_items:
        if not instrument.item_min < critical.at_least <= instrument.item_max:
            problems.append(f"item {critical.item} can never reach {critical.at_least}")
    return problems


def registry(instruments: Iterable[Instrument]) -> Mapping[str, Instrument]:
    """A read-only lookup by name, refusing unsound entries and names used twice.

    Raises:
        ValueError: naming the instrument and what is wrong with it.
    """
    table: dict[str, Instrument] = {}
    for instrument in instruments:
        problems = instrument_problems(instrument)
        if instrument.name in table:
            problems.append("listed twice")
        if problems:
            raise ValueError(f"instrument {instrument.name}: {'; '.join(problems)}")
        table[instrument.name] = instrument
    return MappingProxyType(table)


INSTRUMENTS: Final = registry(CATALOG)
"""The instruments the hub accepts, by wire name."""


def item_problems(instrument: Instrument, items: Sequence[int]) -> list[str]:
    """Why ``items`` is not a complete set of answers to ``instrument``; empty when it is."""
    if len(items) != instrument.items:
        return [f"{instrument.name} has {instrument.items} items, got {len(items)}"]
    low, high = instrument.item_min, instrument.item_max
    return [
        f"item {number} is {answer}; {instrument.name} answers are {low}-{high}"
        for number, answer in enumerate(items, start=1)
        if not low <= answer <= high
    ]


def total(instrument: Instrument, items: Sequence[int]) -> int:
    """The questionnaire's score: the sum of the answers, reversed items turned around."""
    flip = instrument.item_min + instrument.item_max
    reversed_items = instrument.reversed_items
    return sum(
        flip - answer if number in reversed_items else answer
        for number, answer in enumerate(items, start=1)
    )


def severity(instrument: Instrument, score: int) -> str:
    """The severity band of a total.

    Raises:
        ValueError: for a total outside the questionnaire's range.
    """
    for band in instrument.bands:
        if band.low <= score <= band.high:
            return band.name
    raise ValueError(
        f"{instrument.name} totals are {instrument.lowest_total}-{instrument.highest_total}"
    )


def is_case(instrument: Instrument, score: int) -> bool:
    """Whether a total is in the clinical range (at or above the caseness cut-off)."""
    return score >= instrument.caseness
