"""The hub's use cases, shared by WebSocket and REST: register, publish, read, celebrate.

Order of a publish: validate each event alone → sort out duplicates → append the accepted ones
to the store and wait for their commit → fold them into the patients' trackers → push what
changed → answer. Events are applied only after they are durable, so the in-memory state is
always what a replay of the database gives, and a snapshot read after an ``ack`` includes it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from domain.effects import AlertRaised, Effect
from domain.events import Event, RejectedEvent, parse_events
from domain.patients import Patient
from domain.progress import PatientProgress
from realtime.auth import Principal, Role
from realtime.errors import Forbidden, UnknownPatient
from realtime.fanout import Fanout
from storage.records import AlertRecord, StoredState
from storage.store import ProgressStore

log = logging.getLogger("progress_hub.service")

Clock = Callable[[], datetime]
# A tick costs 70-220 us a patient; 4 at a time keeps each pause of the event loop near a
# millisecond (500 at a time held requests for 60-190 ms, 25 for about 15 ms), and a yield
# costs only microseconds.
TICK_CHUNK_PATIENTS = 4
# Rounds handed to the group-commit writer at once: one committing, one queued behind it.
ROUNDS_WITH_WRITER = 2
REPLAY_CHUNK = 10_000
"""Start-up replays the log in chunks of this many events (grouped by patient): bounded memory."""


@dataclass(frozen=True, slots=True)
class RestoredTrackers:
    """What a start-up snapshot gives back: trackers, the ``seq`` they cover, ids seen."""

    trackers: dict[str, PatientProgress]
    through_seq: int
    seen: set[str]


@dataclass(slots=True)
class AckResult:
    """The reply to a publish, shared by the WebSocket ``ack`` and ``POST /api/v1/events``."""

    accepted: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    rejected: list[dict[str, str]] = field(default_factory=list)

    def reject(self, event_id: str, code: str, detail: str) -> None:
        self.rejected.append({"id": event_id, "code": code, "detail": detail})

    def to_wire(self) -> dict[str, Any]:
        return {"accepted": self.accepted, "duplicates": self.duplicates, "rejected": self.rejected}


@dataclass(slots=True)
class _Submission:
    """One publish waiting for its round: its answer so far and who to give it to."""

    result: AckResult
    fresh: list[Event]
    waits: list[asyncio.Future[None]]
    reply: Callable[[AckResult], None]


@dataclass(slots=True)
class _Round:
    """The publishes that share one commit; ``done`` once they are applied."""

    done: asyncio.Future[None]
    submissions: list[_Submission] = field(default_factory=list)


class ProgressService:
    """Owns every patient's tracker and keeps them consistent with the store.

    Args:
        store: where events, patients and marks persist.
        fanout: turns domain effects into channel messages.
        clock: the current instant (injected so tests control time).
        max_future_skew_s: events dated further ahead than this are rejected.
    """

    def __init__(
        self,
        store: ProgressStore,
        fanout: Fanout,
        clock: Clock,
        *,
        max_future_skew_s: float,
    ) -> None:
        self._store = store
        self._fanout = fanout
        self._clock = clock
        self._max_future_skew = timedelta(seconds=max_future_skew_s)
        self._trackers: dict[str, PatientProgress] = {}
        # therapist -> patients, so a practice is found without walking every patient.
        self._by_therapist: dict[str, set[str]] = {}
        self._seen: set[str] = set()
        self._in_flight: dict[str, asyncio.Future[None]] = {}
        self._collecting: _Round | None = None
        self._round_starting = False
        self._rounds_with_writer = 0
        # Rounds, and answers that wait for effects or for another round (kept referenced).
        self._background: set[asyncio.Task[None]] = set()
        # What the store holds of each tracker's marks, to write them only when they change.
        self._persisted_marks: dict[str, dict[str, Any]] = {}
        self.events_accepted = 0
        self.events_rejected = 0
        self.events_duplicate = 0

    def now(self) -> datetime:
        return self._clock()

    async def load(self, state: StoredState, restored: RestoredTrackers | None = None) -> int:
        """Rebuild every tracker: from a snapshot when given, then the events after it.

        Args:
            state: the registrations and marks (``load_state(event_ids=False)`` is enough: the
                ids of events come from the snapshot and the replay).
            restored: trackers from a snapshot, the event ``seq`` they cover and the ids they
                have seen.

        Returns:
            How many events were replayed.
        """
        trackers = restored.trackers if restored is not None else {}
        after_seq = restored.through_seq if restored is not None else 0
        # Every id stored is either folded into the snapshot (which lists what each tracker
        # has seen, purged events included) or replayed below: no need to read every id.
        self._seen = restored.seen if restored is not None else set()
        for patient in state.patients:
            tracker = trackers.get(patient.patient_id)
            if tracker is None:
                tracker = PatientProgress(patient)
            elif tracker.patient != patient:
                tracker.reassign(patient)  # re-registered after the snapshot was taken
            self._trackers[patient.patient_id] = tracker
            self._by_therapist.setdefault(patient.therapist_id, set()).add(patient.patient_id)
        now = self._clock()
        replayed = 0
        seen = self._seen
        # Replayed per patient in chunks (effects are not built): order within a patient is
        # kept, and trackers are independent of each other.
        chunk: dict[str, list[Event]] = {}
        async for event in self._store.events(after_seq):
            seen.add(event.id)
            if event.patient_id in self._trackers:
                chunk.setdefault(event.patient_id, []).append(event)
                replayed += 1
                if replayed % REPLAY_CHUNK == 0:
                    self._replay(chunk, now)
        self._replay(chunk, now)
        for patient_id, marks in state.marks.items():
            tracker = self._trackers.get(patient_id)
            if tracker is not None:
                tracker.restore_marks(marks)
        self._persisted_marks = {
            patient_id: tracker.marks() for patient_id, tracker in self._trackers.items()
        }
        log.info(
            "event=state_loaded patients=%d replayed=%d from_snapshot=%s",
            len(self._trackers),
            replayed,
            "yes" if restored is not None else "no",
        )
        return replayed

    def _replay(self, chunk: dict[str, list[Event]], now: datetime) -> None:
        for patient_id, events in chunk.items():
            self._trackers[patient_id].replay(events, now)
        chunk.clear()

    # -- patients ---------------------------------------------------------------------------

    def patient(self, patient_id: str) -> Patient | None:
        tracker = self._trackers.get(patient_id)
        return tracker.patient if tracker else None

    def tracker(self, patient_id: str) -> PatientProgress | None:
        return self._trackers.get(patient_id)

    def trackers_of(self, therapist_id: str) -> list[PatientProgress]:
        patient_ids = self._by_therapist.get(therapist_id, ())
        return [self._trackers[patient_id] for patient_id in sorted(patient_ids)]

    def all_trackers(self) -> Iterable[PatientProgress]:
        return self._trackers.values()

    async def register(
        self, principal: Principal, patient_id: str, therapist_id: str, timezone: str
    ) -> tuple[Patient, bool]:
        """Register a patient or change its therapist or time zone.

        Raises:
            Forbidden: the principal may not register patients.
            UnknownTimezone: ``timezone`` is not an IANA zone.
        """
        if not principal.may_register_patients():
            raise Forbidden("only service or admin tokens register patients")
        now = self._clock()
        tracker = self._trackers.get(patient_id)
        if tracker is None:
            patient = Patient.register(patient_id, therapist_id, timezone, now)
        else:
            patient = tracker.patient.reassigned(therapist_id, timezone, now)
        await self._store.put_patient(patient, now)
        # Re-read: another registration may have raced this one while it was being stored.
        tracker = self._trackers.get(patient_id)
        if tracker is None:
            tracker = self._trackers[patient_id] = PatientProgress(patient)
            self._by_therapist.setdefault(therapist_id, set()).add(patient_id)
            self._persisted_marks[patient_id] = tracker.marks()
            log.info("event=patient_registered patient=%s therapist=%s", patient_id, therapist_id)
            return patient, True
        previous = tracker.patient.therapist_id
        if previous != therapist_id:
            self._by_therapist.get(previous, set()).discard(patient_id)
            self._by_therapist.setdefault(therapist_id, set()).add(patient_id)
        self._fanout.patient_changed(tracker, tracker.reassign(patient))
        return patient, False

    # -- reads ------------------------------------------------------------------------------

    def readable_patient(self, principal: Principal, patient_id: str) -> PatientProgress:
        """The tracker of a patient the principal may read.

        Raises:
            Forbidden: the principal may not read it (also when a therapist asks for an
                unknown patient, so the answer never reveals whether it exists).
            UnknownPatient: allowed, but nobody is registered under that id.
        """
        tracker = self._trackers.get(patient_id)
        if not principal.may_read_patient(tracker.patient if tracker else None, patient_id):
            raise Forbidden("not allowed to read this patient")
        if tracker is None:
            raise UnknownPatient(f"no patient {patient_id!r}")
        return tracker

    def readable_practice(
        self, principal: Principal, therapist_id: str | None
    ) -> tuple[list[PatientProgress], str]:
        """The patients a practice-wide read covers, and the scope it names in the audit log.

        A therapist reads its own practice; service and admin read one therapist's practice or,
        without ``therapist_id``, every patient; a patient reads no practice.

        Raises:
            Forbidden: outside the principal's rights.
        """
        if principal.role is Role.THERAPIST:
            if therapist_id not in (None, principal.sub):
                raise Forbidden("a therapist reads its own practice only")
            return self.trackers_of(principal.sub), f"therapist:{principal.sub}"
        if not principal.is_trusted:
            raise Forbidden("practice analytics are for therapists, service and admin")
        if therapist_id is not None:
            return self.trackers_of(therapist_id), f"therapist:{therapist_id}"
        return list(self._trackers.values()), "all"

    # -- publish ----------------------------------------------------------------------------

    async def publish(self, principal: Principal, raw_events: Sequence[Any]) -> AckResult:
        """Validate, persist and apply a batch; each event is judged alone."""
        answered: asyncio.Future[AckResult] = asyncio.get_running_loop().create_future()

        def reply(result: AckResult) -> None:
            if not answered.done():
                answered.set_result(result)

        self.submit(principal, parse_events(raw_events), reply)
        # Shielded: a caller that gives up does not take its events back; they still commit.
        return await asyncio.shield(answered)

    def submit(
        self,
        principal: Principal,
        events: Sequence[Event | RejectedEvent],
        reply: Callable[[AckResult], None],
    ) -> None:
        """Take a validated batch into the next group commit; ``reply`` gets its answer.

        Each event is screened at once (rights, patient, clock skew, duplicates). The fresh
        ones join every other publish waiting for the next round: one write, one apply and one
        fan-out for all of them. ``reply`` runs only after the commit that holds its events,
        so an ``ack`` still means durable.
        """
        result = AckResult()
        now = self._clock()
        fresh: list[Event] = []
        batch_ids: set[str] = set()
        waits: list[asyncio.Future[None]] = []
        # A trusted publisher may publish for anyone: decided once, not once per event.
        trusted = principal.is_trusted
        for event in events:
            if isinstance(event, RejectedEvent):
                result.reject(event.id, "invalid_event", event.detail)
                continue
            if not trusted and not principal.may_publish_for(event.patient_id):
                result.reject(event.id, "forbidden", "not allowed to publish for this patient")
                continue
            if event.patient_id not in self._trackers:
                result.reject(event.id, "unknown_patient", f"no patient {event.patient_id!r}")
                continue
            if event.at - now > self._max_future_skew:
                result.reject(event.id, "invalid_event", "at: lies too far in the future")
                continue
            if event.id in batch_ids or event.id in self._seen:
                result.duplicates.append(event.id)
                pending = self._in_flight.get(event.id)
                if pending is not None:
                    waits.append(pending)
                continue
            batch_ids.add(event.id)
            fresh.append(event)
        self.events_rejected += len(result.rejected)
        self.events_duplicate += len(result.duplicates)
        submission = _Submission(result, fresh, waits, reply)
        if not fresh:
            self._answer(submission)
            return
        loop = asyncio.get_running_loop()
        collecting = self._collecting
        if collecting is None:
            collecting = self._collecting = _Round(loop.create_future())
        collecting.submissions.append(submission)
        for event in fresh:
            self._seen.add(event.id)
            self._in_flight[event.id] = collecting.done
        self._start_round()

    def _start_round(self) -> None:
        # At most ROUNDS_WITH_WRITER rounds are with the writer: one committing and the next
        # queued behind it, so the writer goes from one commit straight to the next (no
        # linger, no wait for the apply in between); what arrives meanwhile gathers into the
        # round after. When idle, a publish starts its round at once.
        if (
            self._round_starting
            or self._collecting is None
            or self._rounds_with_writer >= ROUNDS_WITH_WRITER
        ):
            return
        self._round_starting = True
        self._rounds_with_writer += 1
        task = asyncio.get_running_loop().create_task(self._run_round())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _run_round(self) -> None:
        # First runs one loop iteration after it was started: every publish read by then joins.
        self._round_starting = False
        current, self._collecting = self._collecting, None
        assert current is not None
        await self._commit_round(current)

    async def _commit_round(self, current: _Round) -> None:
        events = [event for submission in current.submissions for event in submission.fresh]
        try:
            await self._store.append_events(events, self._clock())
        except BaseException as error:
            for event in events:
                self._seen.discard(event.id)
            log.error("event=publish_failed count=%d error=%s", len(events), error)
            self._finish(current, events, failed=True)
            if not isinstance(error, Exception):
                raise
            return
        finally:
            self._rounds_with_writer -= 1
            self._start_round()
        apply_now = self._clock()
        try:
            touched = self._apply_committed(events, apply_now)
            marks = self._changed_marks(touched)
            alerts = self._alert_records(touched, apply_now)
        except Exception:
            log.exception("event=apply_failed count=%d", len(events))
            self._finish(current, events, failed=True)
            return
        if not (marks or alerts):
            self._finish(current, events, failed=False)
            return
        # The ack waits for these writes too, as it always has; the next round need not.
        task = asyncio.get_running_loop().create_task(
            self._store_effects(current, events, marks, alerts, apply_now)
        )
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _store_effects(
        self,
        current: _Round,
        events: list[Event],
        marks: list[tuple[str, dict[str, Any]]],
        alerts: list[AlertRecord],
        now: datetime,
    ) -> None:
        writes = [self._store.put_marks(patient_id, data, now) for patient_id, data in marks]
        if alerts:
            writes.append(self._store.append_alerts(alerts))
        failed = False
        try:
            await asyncio.gather(*writes)
        except Exception as error:  # noqa: BLE001 - every publisher must get an answer
            log.error("event=effects_failed count=%d error=%s", len(events), error)
            failed = True
        self._finish(current, events, failed=failed)

    def _finish(self, current: _Round, events: list[Event], *, failed: bool) -> None:
        # Only now: until applied (and its effects stored), an event counts as in flight.
        for event in events:
            self._in_flight.pop(event.id, None)
        if not current.done.done():
            current.done.set_result(None)
        for submission in current.submissions:
            if failed:
                for event in submission.fresh:
                    submission.result.reject(
                        event.id, "internal", "could not store the event; retry"
                    )
                self.events_rejected += len(submission.fresh)
            else:
                submission.result.accepted.extend(event.id for event in submission.fresh)
                self.events_accepted += len(submission.fresh)
            self._answer(submission)

    def _answer(self, submission: _Submission) -> None:
        unfinished = [wait for wait in submission.waits if not wait.done()]
        if unfinished:
            # A duplicate of an event still being committed is answered once that commit is
            # done, so "duplicate" always means "already durable".
            task = asyncio.get_running_loop().create_task(
                self._answer_later(submission, unfinished)
            )
            self._background.add(task)
            task.add_done_callback(self._background.discard)
            return
        try:
            submission.reply(submission.result)
        except Exception:
            log.exception("event=reply_failed")

    async def _answer_later(
        self, submission: _Submission, unfinished: list[asyncio.Future[None]]
    ) -> None:
        await asyncio.gather(*(asyncio.shield(wait) for wait in unfinished), return_exceptions=True)
        submission.waits = []
        self._answer(submission)

    async def settle(self) -> None:
        """Wait until every event committed so far has also been applied in memory."""
        pending = set(self._in_flight.values())
        if pending:
            await asyncio.gather(
                *(asyncio.shield(task) for task in pending), return_exceptions=True
            )

    def _apply_committed(self, events: list[Event], now: datetime) -> dict[str, list[Effect]]:
        by_patient: dict[str, list[Event]] = {}
        for event in events:
            by_patient.setdefault(event.patient_id, []).append(event)
        # One batch per patient: one StateChanged and one SeriesDelta per touched day.
        touched: dict[str, list[Effect]] = {
            patient_id: self._trackers[patient_id].apply_many(batch, now)
            for patient_id, batch in by_patient.items()
        }
        for patient_id, effects in touched.items():
            self._fanout.patient_changed(self._trackers[patient_id], effects)
        return touched

    def _alert_records(
        self, effects_by_patient: dict[str, list[Effect]], now: datetime
    ) -> list[AlertRecord]:
        # Alerts are effects, not events: a replay cannot rebuild them, so each is kept.
        return [
            AlertRecord(
                patient_id,
                self._trackers[patient_id].patient.therapist_id,
                effect.code,
                effect.severity,
                effect.detail,
                now,
            )
            for patient_id, effects in effects_by_patient.items()
            for effect in effects
            if isinstance(effect, AlertRaised)
        ]

    def _changed_marks(self, patient_ids: Iterable[str]) -> list[tuple[str, dict[str, Any]]]:
        """The marks (alert state, celebrations) of these patients that the store lacks."""
        changed = []
        for patient_id in patient_ids:
            marks = self._trackers[patient_id].marks()
            if marks != self._persisted_marks.get(patient_id):
                self._persisted_marks[patient_id] = marks
                changed.append((patient_id, marks))
        return changed

    async def _record_alerts(
        self, effects_by_patient: dict[str, list[Effect]], now: datetime
    ) -> None:
        records = self._alert_records(effects_by_patient, now)
        if records:
            await self._store.append_alerts(records)

    async def _persist_marks(self, patient_ids: Iterable[str]) -> None:
        """Store the marks (alert state, celebrations) of these patients where they changed."""
        now = self._clock()
        changed = self._changed_marks(patient_ids)
        if changed:
            await asyncio.gather(
                *(self._store.put_marks(patient_id, marks, now) for patient_id, marks in changed)
            )

    async def celebrate(self, patient_id: str, milestone_ids: list[str]) -> list[str]:
        """Mark the patient's celebrations shown, durably; returns the ids newly marked."""
        tracker = self._trackers.get(patient_id)
        if tracker is None:
            raise UnknownPatient(f"no patient {patient_id!r}")
        marked = tracker.mark_celebrated(milestone_ids)
        if marked:
            await self._persist_marks([patient_id])
        return marked

    async def tick(self, *, chunk: int = TICK_CHUNK_PATIENTS) -> int:
        """Re-evaluate every patient as time passes; returns how many changed.

        Yields to the event loop every ``chunk`` patients so a large practice never stalls
        ingest while it is walked.
        """
        now = self._clock()
        changed: dict[str, list[Effect]] = {}
        for index, tracker in enumerate(list(self._trackers.values())):
            effects = tracker.tick(now)
            if effects:
                self._fanout.patient_changed(tracker, effects)
                changed[tracker.patient.patient_id] = effects
            if index % chunk == chunk - 1:
                await asyncio.sleep(0)
        await self._persist_marks(changed)
        await self._record_alerts(changed, now)
        return len(changed)
