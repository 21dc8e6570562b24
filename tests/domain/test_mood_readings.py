"""A tracker keeps only the mood readings a rule may still read, and figures as if it kept all.

Readings here are check-ins and sessions whose start or end is sent again later, with or
without a mood (a later event supersedes the earlier one, withdrawing its mood): the cases where
a kept set that depended on arrival order, or a withdrawn reading, would show.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from domain.events import Event
from domain.mood import TREND_MIN_WINDOW
from domain.patients import Patient
from domain.progress import PatientProgress
from domain.readings import READINGS_READ, TREND_WINDOW
from tests.domain.builders import event
from tests.domain.strategies import NOW, PROPERTY_SETTINGS

PATIENT = Patient.register("p1", "t1", "Europe/Berlin", NOW - timedelta(days=60))
moods = st.one_of(st.none(), st.integers(1, 10))


@st.composite
def readings(draw: st.DrawFn) -> list[Event]:
    """Check-ins and sessions over 30 days, each session's start and end perhaps sent twice."""
    minutes = st.integers(0, 30 * 24 * 60)
    events = [
        event("mood_checkin", NOW - timedelta(minutes=m), id=f"c{n}", score=score)
        for n, (m, score) in enumerate(
            draw(st.lists(st.tuples(minutes, st.integers(1, 10)), max_size=40))
        )
    ]
    for n in range(draw(st.integers(0, 8))):
        for kind, field, extra in (
            ("session_started", "mood_pre", {}),
            ("session_ended", "mood_post", {"status": "completed", "duration_s": 600}),
        ):
            for copy in range(draw(st.integers(1, 2))):
                mood = draw(moods)
                fields: dict[str, Any] = {"session_id": f"s{n}", **extra}
                if mood is not None:
                    fields[field] = mood
                at = NOW - timedelta(minutes=draw(minutes))
                events.append(event(kind, at, id=f"s{n}-{kind}-{copy}", **fields))
    return events


def every_reading(events: list[Event]) -> list[tuple[tuple[float, str], int]]:
    """All readings a tracker that kept everything would hold, in event-time order."""
    found: list[tuple[tuple[float, str], int]] = []
    winners: dict[tuple[str, str], tuple[tuple[float, str], int | None]] = {}
    for item in events:
        key = (item.at.timestamp(), item.id)
        if item.kind == "mood_checkin":
            found.append((key, item.score))
        elif item.kind in ("session_started", "session_ended"):
            mood = item.mood_pre if item.kind == "session_started" else item.mood_post
            slot = (item.session_id, item.kind)
            if slot not in winners or key > winners[slot][0]:
                winners[slot] = (key, mood)
    found += [(key, mood) for key, mood in winners.values() if mood is not None]
    return sorted(found)


def expected_change(scores: list[int]) -> float | None:
    """The trend's change read from every reading (docs/domain.md, ``recent_change``)."""
    count = len(scores)
    window = min(TREND_WINDOW, count // 2)
    if window < TREND_MIN_WINDOW:
        return None
    latest = sum(scores[count - window :]) / window
    before = sum(scores[count - 2 * window : count - window]) / window
    return round(latest - before, 3)


def fold(events: list[Event]) -> PatientProgress:
    progress = PatientProgress(PATIENT)
    for item in events:
        progress.apply(item, NOW)
    return progress


def kept(progress: PatientProgress) -> list[tuple[tuple[float, str], int]]:
    ledger = progress.ledger
    return list(zip(ledger.reading_keys, ledger.reading_scores, strict=True))


@given(readings(), st.randoms(use_true_random=False), st.data())
@PROPERTY_SETTINGS
def test_any_order_and_duplicates_keep_the_same_readings_and_figures(
    events: list[Event], rng: Any, data: st.DataObject
) -> None:
    shuffled = events + data.draw(st.lists(st.sampled_from(events), max_size=5)) if events else []
    rng.shuffle(shuffled)
    in_order, any_order = fold(sorted(events, key=lambda e: e.at)), fold(shuffled)

    assert kept(any_order) == kept(in_order)
    assert any_order.snapshot(NOW) == in_order.snapshot(NOW)
    everything = every_reading(events)
    assert kept(in_order)[-READINGS_READ:] == everything[-READINGS_READ:]
    trend = in_order.snapshot(NOW)["mood_trend"]
    assert trend["recent_change"] == expected_change([score for _, score in everything])


@given(readings())
@PROPERTY_SETTINGS
def test_a_tracker_keeps_the_readings_with_few_check_ins_after_them_on_their_day(
    events: list[Event],
) -> None:
    # The rule of domain/readings.py: a reading is kept while fewer than READINGS_READ
    # check-ins follow it on its own local day; that many check-ins a day at most are kept.
    progress = fold(events)
    checkins = [(e.at.timestamp(), e.id) for e in events if e.kind == "mood_checkin"]
    day_of = {(e.at.timestamp(), e.id): PATIENT.local_day(e.at) for e in events}

    def followed(key: tuple[float, str]) -> int:
        return sum(1 for other in checkins if other > key and day_of[other] == day_of[key])

    expected = [
        (key, score) for key, score in every_reading(events) if followed(key) < READINGS_READ
    ]
    assert kept(progress) == expected
    per_day: dict[object, int] = {}
    for key in progress.ledger.recent_checkins:
        per_day[day_of[key]] = per_day.get(day_of[key], 0) + 1
    assert all(count <= READINGS_READ for count in per_day.values())
