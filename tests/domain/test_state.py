"""A tracker's state: builtins only, restored equivalent, and zone changes without the events."""

from __future__ import annotations

import io
import pickle
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.effects import Effect
from domain.errors import StateFormatError
from domain.events import Event
from domain.patients import Patient
from domain.progress import PatientProgress
from domain.rezone import RECENT_MIN
from domain.state import STATE_FORMAT
from tests.domain.builders import T0, event, tracker
from tests.domain.strategies import (
    NOW,
    PROPERTY_SETTINGS,
    START,
    ZONES,
    event_lists,
    patients,
)

BUILTIN_LEAVES = (str, int, float, bool, type(None))


def assert_builtins_only(value: Any, path: str = "state") -> None:
    if isinstance(value, BUILTIN_LEAVES):
        return
    if isinstance(value, dict):
        assert type(value) is dict, path
        for key, item in value.items():
            assert_builtins_only(key, f"{path} key")
            assert_builtins_only(item, f"{path}[{key!r}]")
        return
    assert type(value) in (list, tuple, set, frozenset), f"{path}: {type(value).__name__}"
    for item in value:
        assert_builtins_only(item, f"{path} item")


class BuiltinsOnlyUnpickler(pickle.Unpickler):
    """What the storage side uses: any global (class, function) is refused."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"global {module}.{name} refused")


def through_restricted_pickle(state: dict[str, Any]) -> Any:
    data = pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)
    return BuiltinsOnlyUnpickler(io.BytesIO(data)).load()


def observe(progress: PatientProgress, now: datetime) -> tuple[Any, ...]:
    return (
        progress.snapshot(now),
        progress.series(now, 30),
        progress.milestones(),
        progress.pending_celebrations(),
        progress.marks(),
        progress.patient,
        progress.snapshot(now + timedelta(days=9)),
    )


def nows_for(data: st.DataObject, count: int) -> list[datetime]:
    """An apply instant per event, up to a latest one inside the period: many events are
    future-dated when applied, and kept records get pruned as time passes."""
    latest = data.draw(st.integers(min_value=0, max_value=23 * 24 * 60))
    minutes = st.integers(min_value=-2 * 24 * 60, max_value=latest)
    return [START + timedelta(minutes=data.draw(minutes)) for _ in range(count)]


def apply_each(
    progress: PatientProgress, events: list[Event], nows: list[datetime]
) -> list[Effect]:
    effects: list[Effect] = []
    for item, now in zip(events, nows, strict=True):
        effects.extend(progress.apply(item, now))
    return effects


@PROPERTY_SETTINGS
@given(patient=patients(), events=event_lists(), data=st.data())
def test_a_restored_tracker_is_the_same_tracker(
    patient: Patient, events: list[Event], data: st.DataObject
) -> None:
    split = data.draw(st.integers(min_value=0, max_value=len(events)))
    duplicates = data.draw(st.lists(st.sampled_from(events), max_size=5))
    before, after = events[:split] + duplicates, events[split:] + duplicates
    live = PatientProgress(patient)
    apply_each(live, before, nows_for(data, len(before)))
    if data.draw(st.booleans()):
        live.tick(NOW)
        live.mark_celebrated([item.id for item in live.milestones()[:1]])

    state = live.to_state()
    assert_builtins_only(state)
    restored = PatientProgress.from_state(patient, through_restricted_pickle(state))
    assert observe(restored, NOW) == observe(live, NOW)

    if data.draw(st.booleans()):  # the patient moves on, after the snapshot
        moved_at = START + timedelta(minutes=data.draw(st.integers(0, 22 * 24 * 60)))
        moved = patient.reassigned("t2", data.draw(st.sampled_from(ZONES)), moved_at)
        assert restored.reassign(moved) == live.reassign(moved)
    later_nows = nows_for(data, len(after))
    assert apply_each(restored, after, later_nows) == apply_each(live, after, later_nows)
    for days in (0, 3, 30):
        assert restored.tick(NOW + timedelta(days=days)) == live.tick(NOW + timedelta(days=days))
    assert observe(restored, NOW) == observe(live, NOW)
    assert restored.to_state() == live.to_state()


@PROPERTY_SETTINGS
@given(patient=patients(), events=event_lists(), data=st.data())
def test_a_zone_change_gives_what_replaying_every_event_under_it_gives(
    patient: Patient, events: list[Event], data: st.DataObject
) -> None:
    """The tracker keeps no event history, yet a zone change dated at most 48 hours before the
    latest ``now`` gives the figures of a tracker that had the new history all along."""
    nows = nows_for(data, len(events))
    progress = PatientProgress(patient)
    apply_each(progress, events, nows)
    earliest = max(nows) - timedelta(hours=47)
    moved_at = earliest + timedelta(minutes=data.draw(st.integers(0, 6 * 24 * 60)))
    moved = patient.reassigned("t1", data.draw(st.sampled_from(ZONES)), moved_at)
    progress.reassign(moved)

    everything = PatientProgress(moved)
    apply_each(everything, events, nows)
    for now in (NOW, NOW + timedelta(days=9)):
        moved_snapshot, fresh_snapshot = progress.snapshot(now), everything.snapshot(now)
        # A milestone once reached stays reached, even if the move no longer supports it.
        kept = moved_snapshot.pop("milestones")
        fresh = fresh_snapshot.pop("milestones")
        assert [item for item in kept if item["rule"] in {m["rule"] for m in fresh}] == fresh
        assert moved_snapshot == fresh_snapshot
        assert progress.series(now, 40) == everything.series(now, 40)


def test_the_state_does_not_grow_with_past_events() -> None:
    progress = tracker("Europe/Berlin")
    for day in range(200):
        at = T0 + timedelta(days=day)
        progress.apply(event("exercise_completed", at, exercise="walk", duration_s=600), at)
    state = progress.to_state()
    # Records for zone changes are pruned in batches of RECENT_MIN as time passes...
    assert 1 <= len(state["recent"]) <= RECENT_MIN
    assert len(state["ledger"]["active_days"]) == 200
    # ...and a tick keeps only the last 48 hours' (two or three daily events).
    progress.tick(T0 + timedelta(days=199, hours=1))
    assert 2 <= len(progress.to_state()["recent"]) <= 3


def test_a_future_dated_event_is_kept_until_now_passes_it() -> None:
    progress = tracker("UTC")
    future = T0 + timedelta(days=5)
    progress.apply(event("mood_checkin", future, score=7), T0)
    assert [record[1] for record in progress.to_state()["recent"]] != []
    progress.tick(future + timedelta(days=3))
    assert progress.to_state()["recent"] == []


def test_the_state_pickles_with_no_class_reference() -> None:
    progress = tracker("America/New_York")
    at = T0
    progress.apply(event("session_started", at, session_id="s1", mood_pre=5), at)
    progress.apply(
        event(
            "session_ended",
            at + timedelta(minutes=50),
            session_id="s1",
            status="completed",
            duration_s=3000.0,
            mood_post=7,
            topics=["sleep"],
        ),
        at + timedelta(hours=1),
    )
    progress.tick(at + timedelta(hours=2))
    data = pickle.dumps(progress.to_state())
    assert b"domain" not in data and b"datetime" not in data
    restored = PatientProgress.from_state(
        progress.patient, through_restricted_pickle(progress.to_state())
    )
    assert restored.snapshot(at) == progress.snapshot(at)
    assert restored.to_state()["format"] == STATE_FORMAT


def test_an_unknown_or_garbled_state_is_refused_clearly() -> None:
    progress = tracker("UTC")
    progress.apply(event("mood_checkin", T0, score=6), T0)
    patient = progress.patient
    good = progress.to_state()
    with pytest.raises(StateFormatError, match="format 999 is not"):
        PatientProgress.from_state(patient, {**good, "format": 999})
    with pytest.raises(StateFormatError, match="format None"):
        PatientProgress.from_state(patient, {"ledger": {}})
    with pytest.raises(StateFormatError, match="expected a dict"):
        PatientProgress.from_state(patient, [good])
    with pytest.raises(StateFormatError, match="state garbled"):
        PatientProgress.from_state(patient, {**good, "ledger": {"sessions": {}}})
    sessions = {"s1": (None, 0.0)}  # a row of the wrong length
    with pytest.raises(StateFormatError, match="state garbled"):
        PatientProgress.from_state(
            patient, {**good, "ledger": {**good["ledger"], "sessions": sessions}}
        )
    with pytest.raises(StateFormatError, match="expected a list"):
        PatientProgress.from_state(
            patient, {**good, "ledger": {**good["ledger"], "active_days": "garbage"}}
        )
    other = Patient.register("p2", "t1", "UTC", T0)
    with pytest.raises(StateFormatError, match="patient 'p1'"):
        PatientProgress.from_state(other, good)
    assert issubclass(StateFormatError, ValueError)
    # Nothing was lost: the original state still restores.
    assert PatientProgress.from_state(patient, good).snapshot(T0) == progress.snapshot(T0)


def test_restoring_for_a_re_registered_patient_moves_to_the_new_zone() -> None:
    progress = tracker("Europe/Berlin")
    late = datetime.fromisoformat("2026-11-20T02:00:00+00:00")  # 03:00 Berlin, 21:00 NY the 19th
    progress.apply(event("exercise_completed", late, exercise="walk", duration_s=60), late)
    moved = progress.patient.reassigned("t1", "America/New_York", late - timedelta(hours=1))
    restored = PatientProgress.from_state(moved, progress.to_state())
    progress.reassign(moved)
    assert restored.patient == moved
    assert restored.snapshot(late)["streak"]["last_active_day"] == "2026-11-19"
    assert restored.snapshot(late) == progress.snapshot(late)
