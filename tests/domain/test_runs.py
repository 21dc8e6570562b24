"""Runs of consecutive ever-active days: the latest kept open, the rest in maps, all exact."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.everfacts import EverFacts

BASE = 739_000  # a day ordinal in 2024


def _expected(days: set[int]) -> tuple[dict[int, int], dict[int, int], int]:
    ends: dict[int, int] = {}
    starts: dict[int, int] = {}
    run: list[int] = []
    for day in sorted(days):
        if run and day != run[-1] + 1:
            ends[run[0]], starts[run[-1]] = run[-1], run[0]
            run = []
        run.append(day)
    if run:
        ends[run[0]], starts[run[-1]] = run[-1], run[0]
    longest = max((end - start + 1 for start, end in ends.items()), default=0)
    return ends, starts, longest


@settings(max_examples=400, deadline=None)
@given(
    days=st.lists(st.integers(0, 60), min_size=1, max_size=80),
    restore_at=st.integers(0, 80),
)
def test_runs_equal_the_runs_of_the_days_in_any_order(days: list[int], restore_at: int) -> None:
    ledger = EverFacts()
    seen: set[int] = set()
    for index, offset in enumerate(days):
        if index == restore_at:  # a snapshot round trip in the middle changes nothing
            ends, starts = ledger.runs()
            ledger = EverFacts(
                ever_days=dict(ledger.ever_days),
                run_end=ends,
                run_start=starts,
                longest_ever_run=ledger.longest_ever_run,
            )
        day = BASE + offset
        length = ledger.add_day(day, (float(index), f"e{index}"))
        if day in seen:
            assert length == 0
            continue
        seen.add(day)
        ends, starts, longest = _expected(seen)
        run_start = max(start for start in ends if start <= day)
        assert length == ends[run_start] - run_start + 1  # the new day's run
        assert ledger.runs() == (ends, starts)
        assert ledger.longest_ever_run == longest


def test_a_day_between_two_runs_joins_them_into_the_open_one() -> None:
    ledger = EverFacts()
    for offset in (0, 1, 3, 4):
        ledger.add_day(BASE + offset, (float(offset), "e"))
    assert ledger.runs() == (
        {BASE: BASE + 1, BASE + 3: BASE + 4},
        {BASE + 1: BASE, BASE + 4: BASE + 3},
    )
    assert ledger.add_day(BASE + 2, (2.0, "e")) == 5
    assert ledger.runs() == ({BASE: BASE + 4}, {BASE + 4: BASE})
    assert ledger.add_day(BASE + 5, (5.0, "e")) == 6
    assert ledger.runs() == ({BASE: BASE + 5}, {BASE + 5: BASE})
