"""Instruments as data: the catalogue's numbers at every boundary, their sources, a new entry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.effects import AlertRaised
from domain.instruments import (
    CATALOG,
    GAD_7,
    INSTRUMENTS,
    PHQ_9,
    CriticalItem,
    Instrument,
    SeverityBand,
    Sources,
    instrument_problems,
    is_case,
    item_problems,
    questionnaire,
    registry,
    severity,
    total,
)
from domain.measure_alerts import DeteriorationWatch, measure_alerts
from domain.outcomes import patient_outcomes, practice_outcomes, score
from tests.domain.builders import reliably_recovered

# Section 8's bands, written out as ranges so that every total is checked against the contract.
PHQ_9_BANDS = [
    ("minimal", range(0, 5)),
    ("mild", range(5, 10)),
    ("moderate", range(10, 15)),
    ("moderately_severe", range(15, 20)),
    ("severe", range(20, 28)),
]
GAD_7_BANDS = [
    ("minimal", range(0, 5)),
    ("mild", range(5, 10)),
    ("moderate", range(10, 15)),
    ("severe", range(15, 22)),
]


@pytest.mark.parametrize(
    ("instrument", "bands"), [(PHQ_9, PHQ_9_BANDS), (GAD_7, GAD_7_BANDS)], ids=["PHQ-9", "GAD-7"]
)
def test_every_total_gets_the_contract_band(
    instrument: Instrument, bands: list[tuple[str, range]]
) -> None:
    expected = {score: name for name, totals in bands for score in totals}
    assert sorted(expected) == list(range(instrument.highest_total + 1))
    assert {score: severity(instrument, score) for score in expected} == expected


@pytest.mark.parametrize(
    ("instrument", "boundaries"),
    [
        (PHQ_9, [(4, "minimal"), (5, "mild"), (9, "mild"), (10, "moderate"), (14, "moderate")]),
        (PHQ_9, [(15, "moderately_severe"), (19, "moderately_severe"), (20, "severe")]),
        (GAD_7, [(4, "minimal"), (5, "mild"), (9, "mild"), (10, "moderate"), (15, "severe")]),
    ],
)
def test_band_edges_as_the_contract_states_them(
    instrument: Instrument, boundaries: list[tuple[int, str]]
) -> None:
    assert [severity(instrument, score) for score, _ in boundaries] == [
        name for _, name in boundaries
    ]


@pytest.mark.parametrize("instrument", CATALOG, ids=lambda item: item.name)
def test_a_total_outside_the_questionnaire_has_no_band(instrument: Instrument) -> None:
    for impossible in (-1, instrument.highest_total + 1):
        with pytest.raises(ValueError, match=instrument.name):
            severity(instrument, impossible)


def test_caseness_cut_offs_are_ten_and_eight() -> None:
    assert (is_case(PHQ_9, 9), is_case(PHQ_9, 10)) == (False, True)
    assert (is_case(GAD_7, 7), is_case(GAD_7, 8)) == (False, True)


def test_the_catalogue_carries_the_contract_numbers() -> None:
    assert list(INSTRUMENTS) == ["PHQ-9", "GAD-7"]
    assert (PHQ_9.items, PHQ_9.item_min, PHQ_9.item_max, PHQ_9.reliable_change) == (9, 0, 3, 6)
    assert (GAD_7.items, GAD_7.item_min, GAD_7.item_max, GAD_7.reliable_change) == (7, 0, 3, 4)
    assert PHQ_9.critical_items == (
        CriticalItem(9, 1, "suicide_risk_screen", "critical", "thoughts of self-harm"),
    )
    assert GAD_7.critical_items == ()


def test_each_number_names_its_source() -> None:
    assert "Kroenke" in PHQ_9.sources.bands and "2001" in PHQ_9.sources.bands
    assert "Kroenke" in PHQ_9.sources.critical_items
    assert "Spitzer" in GAD_7.sources.bands and "2006" in GAD_7.sources.bands
    for instrument in CATALOG:
        assert "NHS Talking Therapies" in instrument.sources.reliable_change
        assert "Jacobson NS, Truax P" in instrument.sources.reliable_change
        assert "NHS Talking Therapies" in instrument.sources.caseness
        assert instrument_problems(instrument) == []


def test_answers_must_match_the_questionnaire() -> None:
    assert item_problems(PHQ_9, [0] * 9) == []
    assert item_problems(PHQ_9, [0] * 8) == ["PHQ-9 has 9 items, got 8"]
    assert item_problems(GAD_7, [0, 4, 0, 0, 0, 0, -1]) == [
        "item 2 is 4; GAD-7 answers are 0-3",
        "item 7 is -1; GAD-7 answers are 0-3",
    ]


def test_total_is_the_sum_of_the_answers() -> None:
    assert total(PHQ_9, [3] * 9) == 27
    assert total(GAD_7, [1, 2, 3, 0, 1, 2, 3]) == 12


def test_an_unsound_entry_or_a_name_used_twice_is_refused() -> None:
    gap = Instrument(
        name="GAP-2",
        items=2,
        item_min=0,
        item_max=3,
        bands=(SeverityBand("low", 0, 2), SeverityBand("high", 4, 6)),
        reliable_change=2,
        caseness=4,
        critical_items=(CriticalItem(3, 1, "x", "warning", "missing item"),),
        reversed_items=(),
        sources=PHQ_9.sources,
    )
    with pytest.raises(ValueError) as refused:
        registry([gap])
    assert str(refused.value) == (
        "instrument GAP-2: band high must start at 3; item 3 does not exist"
    )
    with pytest.raises(ValueError, match="PHQ-9: listed twice"):
        registry([PHQ_9, PHQ_9])


BARKHAM_2013 = (
    "Barkham M, Bewick B, Mullin T, et al. The CORE-10: a short measure of psychological "
    "distress for routine use in the psychological therapies. Couns Psychother Res 2013;13(1):3-13"
)
CORE_10 = questionnaire(
    "CORE-10",
    items=10,
    answers=(0, 4),
    bands=dict(healthy=5, low=10, mild=14, moderate=19, moderately_severe=24, severe=40),
    reliable_change=6,
    caseness=11,
    critical_items=(
        CriticalItem(6, 1, "suicide_risk_screen", "critical", "plans to end one's life"),
    ),
    reversed_items=(2, 3),  # the two positively worded items
    sources=Sources(BARKHAM_2013, BARKHAM_2013, BARKHAM_2013, BARKHAM_2013, BARKHAM_2013),
)


def test_a_clinic_adds_an_instrument_with_one_table_entry() -> None:
    catalogue = registry([*CATALOG, CORE_10])
    core = catalogue["CORE-10"]
    start = datetime(2026, 9, 1, 9, tzinfo=UTC)
    first = [3, 0, 0, 3, 3, 1, 3, 3, 3, 3]  # items 2 and 3 reversed: 22 + 4 + 4
    last = [1, 3, 3, 1, 0, 0, 1, 1, 1, 1]  # 6 + 1 + 1
    assert item_problems(core, first) == []
    assert item_problems(core, [5, *last[1:]]) == ["item 1 is 5; CORE-10 answers are 0-4"]

    baseline = score(core, "c1", start, first)
    latest = score(core, "c2", start + timedelta(weeks=8), last)
    assert (baseline.total, latest.total) == (30, 8)
    outcomes = patient_outcomes([latest, baseline], catalogue)
    assert outcomes["CORE-10"].to_wire(with_history=False) == reliably_recovered(
        count=2,
        baseline={"total": 30, "severity": "severe", "at": "2026-09-01T09:00:00Z"},
        latest={"total": 8, "severity": "low", "at": "2026-10-27T09:00:00Z"},
        change=-22,
    )

    watch, alerts = measure_alerts(DeteriorationWatch(), baseline, outcomes, catalogue)
    assert alerts == [
        AlertRaised(
            "suicide_risk_screen",
            "critical",
            "CORE-10 item 6 (plans to end one's life) answered 1 (1 or more); total 30",
            baseline.event_id,
            baseline.at,
        )
    ]
    practice = practice_outcomes([outcomes], catalogue)
    assert list(practice) == ["PHQ-9", "GAD-7", "CORE-10"]
    assert practice["CORE-10"]["reliable_recovery_rate"] == 1.0
    assert practice["PHQ-9"]["patients"] == 0
