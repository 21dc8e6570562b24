"""Batches: ``apply_many`` and ``replay`` are sequential ``apply`` with the effects merged."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from domain.effects import Effect, MilestoneReached, SeriesDelta, StateChanged
from domain.events import Event
from domain.patients import Patient
from domain.progress import PatientProgress
from tests.domain.builders import T0, event, session, tracker
from tests.domain.strategies import NOW, PROPERTY_SETTINGS, START, event_lists, patients


def batches_of(data: st.DataObject, events: list[Event]) -> list[tuple[list[Event], datetime]]:
    """The events (shuffled, some re-sent) cut into publishes, each with its own ``now``."""
    stream = list(data.draw(st.permutations(events)))
    stream += data.draw(st.lists(st.sampled_from(events), max_size=8))
    batches = []
    while stream:
        size = data.draw(st.integers(min_value=1, max_value=12))
        minutes = data.draw(st.integers(min_value=-2 * 24 * 60, max_value=23 * 24 * 60))
        batches.append((stream[:size], START + timedelta(minutes=minutes)))
        stream = stream[size:]
    return batches


def merged(effects: list[Effect]) -> tuple[bool, dict[str, Any], list[Any]]:
    """(state changed, each touched day's last values, every other effect in order)."""
    last = {
        effect.bucket.isoformat(): dict(effect.values)
        for effect in effects
        if isinstance(effect, SeriesDelta)
    }
    # A celebration is compared by milestone: a batch dates it by the batch's final facts.
    others = [
        e.milestone.id if isinstance(e, MilestoneReached) else e
        for e in effects
        if not isinstance(e, SeriesDelta | StateChanged)
    ]
    return (any(isinstance(e, StateChanged) for e in effects), last, others)


@PROPERTY_SETTINGS
@given(patient=patients(), events=event_lists(), data=st.data())
def test_apply_many_is_sequential_apply_with_the_effects_merged(
    patient: Patient, events: list[Event], data: st.DataObject
) -> None:
    one_by_one, batched, replayed = (PatientProgress(patient) for _ in range(3))
    for batch, now in batches_of(data, events):
        sequential: list[Effect] = []
        for item in batch:
            sequential += one_by_one.apply(item, now)
        together = batched.apply_many(batch, now)
        replayed.replay(batch, now)

        assert merged(together) == merged(sequential)
        final = {item.id: item for item in batched.milestones()}
        for effect in together:
            if isinstance(effect, MilestoneReached):
                assert effect.milestone == final[effect.milestone.id]
        assert together.count(StateChanged()) == (1 if sequential else 0)
        days = [e.bucket for e in together if isinstance(e, SeriesDelta)]
        assert len(days) == len(set(days))  # one delta per touched day
        if together:
            assert together[0] == StateChanged()
        assert batched.to_state() == one_by_one.to_state()
        assert replayed.to_state() == one_by_one.to_state()
    for offset in (0, 5):
        later = NOW + timedelta(days=offset)
        assert batched.tick(later) == one_by_one.tick(later) == replayed.tick(later)
    assert batched.snapshot(NOW) == one_by_one.snapshot(NOW) == replayed.snapshot(NOW)


def test_a_batch_gives_one_delta_per_day_with_its_final_values() -> None:
    progress = tracker("UTC")
    checkins = [event("mood_checkin", T0 + timedelta(hours=hour), score=5) for hour in (1, 2, 3)]
    effects = progress.apply_many([*checkins, *session("s1", T0 + timedelta(days=1))], T0)
    deltas = [e for e in effects if isinstance(e, SeriesDelta)]
    assert [delta.bucket.isoformat() for delta in deltas] == ["2026-11-02", "2026-11-03"]
    assert deltas[0].values["activity_count"] == 3.0
    assert deltas[1].values["minutes"] == 50.0
    assert effects[0] == StateChanged() and effects.count(StateChanged()) == 1


def test_a_batch_of_duplicates_changes_nothing() -> None:
    progress = tracker("UTC")
    first = event("mood_checkin", T0, score=5)
    progress.apply(first, T0)
    assert progress.apply_many([first, first], T0) == []
    progress.replay([first], T0)
    assert progress.series(T0, 1)["series"]["activity_count"] == [1.0]
