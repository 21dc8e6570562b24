"""Property tests: any arrival order and any duplicates give the same figures and milestones."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from domain.effects import Effect, MilestoneReached, SeriesDelta, StateChanged
from domain.events import Event
from domain.patients import Patient
from domain.progress import PatientProgress
from tests.domain.strategies import NOW, PROPERTY_SETTINGS, event_lists, patients


def run(patient: Patient, events: list[Event]) -> tuple[PatientProgress, list[Effect]]:
    progress = PatientProgress(patient)
    effects: list[Effect] = []
    for item in events:
        effects.extend(progress.apply(item, NOW))
    return progress, effects


def figures(progress: PatientProgress) -> tuple[Any, ...]:
    return (
        progress.snapshot(NOW),
        progress.series(NOW, 30),
        progress.milestones(),
        progress.pending_celebrations(),
        progress.snapshot(NOW + timedelta(days=9)),
    )


def over_any_history(test: Callable[[Patient, list[Event]], None]) -> Callable[..., None]:
    """Run ``test`` on any patient and any arrival order of events, with the suite's settings."""
    return PROPERTY_SETTINGS(given(patient=patients(), events=event_lists())(test))


def reached_rules(effects: list[Effect]) -> Counter[str]:
    return Counter(e.milestone.rule for e in effects if isinstance(e, MilestoneReached))


@PROPERTY_SETTINGS
@given(
    patient=patients(),
    events=event_lists(),
    order=st.randoms(use_true_random=False),
    data=st.data(),
)
def test_any_order_and_duplicates_give_the_same_figures(
    patient: Patient, events: list[Event], order: Any, data: st.DataObject
) -> None:
    in_order, first_effects = run(patient, sorted(events, key=lambda e: (e.at, e.id)))
    shuffled = list(events)
    order.shuffle(shuffled)
    duplicates = data.draw(st.lists(st.sampled_from(events), max_size=len(events)))
    for item in duplicates:  # re-sent copies land anywhere in the stream
        shuffled.insert(order.randrange(len(shuffled) + 1), item)
    replayed, effects = run(patient, shuffled)

    assert figures(replayed) == figures(in_order)
    # The dropout alert's gate remembers its history (that is its job); once both trackers
    # observe the same score outside the hysteresis band, they agree.
    in_order.tick(NOW)
    replayed.tick(NOW)
    score = in_order.snapshot(NOW)["dropout_risk"]["score"]
    if not 0.5 <= score <= 0.6:
        assert replayed.marks() == in_order.marks()
    for counts in (reached_rules(first_effects), reached_rules(effects)):
        assert all(count == 1 for count in counts.values())
        assert set(counts) == {milestone.rule for milestone in in_order.milestones()}


@PROPERTY_SETTINGS
@given(patient=patients(), events=event_lists(), days=st.integers(min_value=1, max_value=60))
def test_series_lengths_match_days_and_totals_match_the_document(
    patient: Patient, events: list[Event], days: int
) -> None:
    progress, _ = run(patient, events)
    series = progress.series(NOW, days)
    assert len(series["time_buckets"]) == days
    assert all(len(column) == days for column in series["series"].values())
    full = progress.series(NOW + timedelta(days=40), 366)
    snapshot = progress.snapshot(NOW)
    completed = snapshot["engagement"]["sessions_by_status"]["completed"]
    exercises = snapshot["engagement"]["exercises_completed"]
    checkins = sum(1 for e in {e.id: e for e in events}.values() if e.kind == "mood_checkin")
    assert sum(full["series"]["activity_count"]) == completed + exercises + checkins


@over_any_history
def test_replay_then_restore_matches_the_live_tracker(
    patient: Patient, events: list[Event]
) -> None:
    live, _ = run(patient, events)
    live.mark_celebrated([m.id for m in live.milestones()[:1]])
    for day in range(0, 40, 3):
        live.tick(NOW + timedelta(days=day))
    restarted, _ = run(patient, list(reversed(events)))
    restarted.restore_marks(live.marks())
    assert restarted.marks() == live.marks()
    assert restarted.pending_celebrations() == live.pending_celebrations()
    later = NOW + timedelta(days=40)
    assert restarted.snapshot(later) == live.snapshot(later)


@over_any_history
def test_the_last_delta_of_each_bucket_matches_the_series(
    patient: Patient, events: list[Event]
) -> None:
    progress, effects = run(patient, events)
    last: dict[str, Any] = {}
    for effect in effects:
        if isinstance(effect, SeriesDelta):
            last[effect.bucket.isoformat()] = dict(effect.values)
    series = progress.series(NOW + timedelta(days=40), 366)
    for bucket, values in last.items():
        index = series["time_buckets"].index(bucket)
        assert values == {name: column[index] for name, column in series["series"].items()}
    progress.tick(NOW)
    # Nothing changed since that tick: a second one at the same instant reports no state.
    assert [e for e in progress.tick(NOW) if isinstance(e, StateChanged)] == []
