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
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from domain.effects import Effect
from domain.events import Event, RejectedEvent, parse_events
from domain.patients import Patient
from domain.progress import PatientProgress
from domain.urgency import may_alert
from realtime.auth import Principal
from realtime.channels.fanout import Fanout
from realtime.errors import Forbidden, InvalidEvent, UnknownPatient
from realtime.service.alerts import AlertInbox
from realtime.service.commits import AckResult, Applied, CommitRounds, Marks, Submission
from realtime.service.eventlog import EventLog
from realtime.service.quarantine import UNAPPLIED_DETAIL, Quarantine
from realtime.service.recent import RecentIds
from storage.alerts import Alert
from storage.records import StoredState
from storage.store import ProgressStore
from storage.together import marks_steps

log = logging.getLogger("progress_hub.service")

Clock = Callable[[], datetime]
# A tick costs 70-220 us a patient; 4 at a time keeps each pause of the event loop near a
# millisecond (500 at a time held requests for 60-190 ms, 25 for about 15 ms), and a yield
# costs only microseconds.
TICK_CHUNK_PATIENTS = 4
REPLAY_CHUNK = 10_000
"""Start-up replays the log in chunks of this many events (grouped by patient): bounded memory."""


@dataclass(frozen=True, slots=True)
class RestoredTrackers:
    """What a start-up snapshot gives back: trackers and the ``seq`` they cover."""

    trackers: dict[str, PatientProgress]
    through_seq: int


class ProgressService:
    """Owns every patient's tracker and keeps them consistent with the store.

    Args:
        store: where patients, marks and alerts persist.
        log: where events are appended, and read back at start-up.
        fanout: turns domain effects into channel messages.
        clock: the current instant (injected so tests control time).
        max_future_skew_s: events dated further ahead than this are rejected.
    """

    def __init__(
        self,
        store: ProgressStore,
        log: EventLog,
        fanout: Fanout,
        clock: Clock,
        *,
        max_future_skew_s: float,
        alerts: AlertInbox,
        halt: Callable[[str], None],
    ) -> None:
        self._alerts = alerts
        self._halt = halt
        self._store = store
        self._log = log
        self._fanout = fanout
        self._clock = clock
        self._max_future_skew = timedelta(seconds=max_future_skew_s)
        self._trackers: dict[str, PatientProgress] = {}
        # therapist -> patients, so a practice is found without walking every patient.
        self._by_therapist: dict[str, set[str]] = {}
        # Ids just accepted; the event log answers for every older one (see commits.py).
        self._recent = RecentIds()
        self._rounds = CommitRounds(store, log, clock, self._apply_round, self._forget, halt)
        # What the store holds of each tracker's marks, to write them only when they change.
        self._persisted_marks: dict[str, dict[str, Any]] = {}
        self._screened_out = 0
        self.events_duplicate = 0
        self.unapplied = Quarantine()

    @property
    def events_accepted(self) -> int:
        return self._rounds.events_accepted

    @property
    def events_rejected(self) -> int:
        return self._screened_out + self._rounds.events_failed

    def now(self) -> datetime:
        return self._clock()

    async def load(self, state: StoredState, restored: RestoredTrackers | None = None) -> int:
        """Rebuild every tracker: from a snapshot when given, then the events after it.

        Args:
            state: the registrations and marks (``load_state(event_ids=False)`` is enough:
                whether an id was seen is asked of the store, see commits.py).
            restored: trackers from a snapshot and the event ``seq`` they cover.

        Returns:
            How many events were replayed.
        """
        trackers = restored.trackers if restored is not None else {}
        after_seq = restored.through_seq if restored is not None else 0
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
        # Replayed per patient in chunks (effects are not built): order within a patient is
        # kept, and trackers are independent of each other.
        chunk: dict[str, list[Event]] = {}
        async for event in self._log.read(after_seq, on_unreadable=self.unapplied.hold):
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
            self.unapplied.replay(self._trackers[patient_id], events, now)
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

        Raises:
            Forbidden: outside the principal's rights (see :meth:`Principal.practice_to_read`).
        """
        owner = principal.practice_to_read(therapist_id)
        if owner is None:
            return list(self._trackers.values()), "all"
        return self.trackers_of(owner), f"therapist:{owner}"

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
        ones join the next round of their lane (urgent when one may raise an alert, see
        commits.py). ``reply`` runs only after the commit that holds its events: durable."""
        result = AckResult()
        now = self._clock()
        fresh: list[Event] = []
        batch_ids: set[str] = set()
        waits: list[asyncio.Future[None]] = []
        # A trusted publisher may publish for anyone: decided once, not once per event.
        trusted = principal.is_trusted
        for event in events:
            if isinstance(event, RejectedEvent):
                result.reject(event.id, InvalidEvent.code, event.detail)
                continue
            if not trusted and not principal.may_publish_for(event.patient_id):
                result.reject(event.id, Forbidden.code, "not allowed to publish for this patient")
                continue
            if event.patient_id not in self._trackers:
                result.reject(event.id, UnknownPatient.code, f"no patient {event.patient_id!r}")
                continue
            if event.at - now > self._max_future_skew:
                result.reject(event.id, InvalidEvent.code, "at: lies too far in the future")
                continue
            if event.id in self.unapplied.ids:
                result.reject(event.id, "invalid_event", UNAPPLIED_DETAIL)
                continue
            pending = self._rounds.in_flight(event.id)
            if event.id in batch_ids or event.id in self._recent or pending is not None:
                result.duplicates.append(event.id)
                if pending is not None:
                    waits.append(pending)
                continue
            batch_ids.add(event.id)
            fresh.append(event)
        self._screened_out += len(result.rejected)
        self.events_duplicate += len(result.duplicates)
        submission = Submission(result, fresh, waits, reply, any(map(may_alert, fresh)))
        if not fresh:
            self._rounds.answer(submission)
            return
        recent = self._recent
        for event in fresh:
            recent.add(event.id)
        self._rounds.join(submission)

    def _forget(self, events: list[Event]) -> None:
        # Their commit failed: the same ids may be published again.
        for event in events:
            self._recent.discard(event.id)

    async def settle(self) -> None:
        """Wait until every event committed so far has also been applied in memory."""
        await self._rounds.settle()

    def _apply_round(self, events: list[Event], now: datetime) -> Applied:
        # Applied before the commit so that the alerts these events raise, with their webhook
        # deliveries and the marks they changed, are stored in the events' own transaction.
        touched, unapplied = self._apply_events(events, now)
        return self._outcome(touched, now, unapplied)

    def _outcome(
        self, touched: dict[str, list[Effect]], now: datetime, unapplied: set[str] | None = None
    ) -> Applied:
        """What to store with a change (alerts, deliveries, marks) and what to push after."""
        alerts: list[Alert] = []
        for patient_id, effects in touched.items():
            alerts += self._alerts.raised(self._trackers[patient_id].patient, effects, now)
        marks = self._changed_marks(touched)
        steps = [*self._alerts.steps_for(alerts, now), *marks_steps(marks, now)]

        def publish() -> None:
            # Alerts first: nothing else a round sends is as urgent.
            self._alerts.announce(alerts)
            for patient_id, effects in touched.items():
                self._fanout.patient_changed(self._trackers[patient_id], effects)

        return Applied(steps, publish, unapplied or set(), frozenset(pid for pid, _ in marks))

    def _apply_events(
        self, events: list[Event], now: datetime
    ) -> tuple[dict[str, list[Effect]], set[str]]:
        by_patient: dict[str, list[Event]] = {}
        for event in events:
            by_patient.setdefault(event.patient_id, []).append(event)
        # One batch per patient: one StateChanged and one SeriesDelta per touched day.
        touched: dict[str, list[Effect]] = {}
        unapplied: set[str] = set()
        for patient_id, batch in by_patient.items():
            tracker = self._trackers[patient_id]
            touched[patient_id], failed = self.unapplied.apply(tracker, batch, now)
            unapplied.update(failed)
        return touched, unapplied

    def _changed_marks(self, patient_ids: Iterable[str]) -> Marks:
        """The marks (alert state, celebrations) of these patients that the store lacks."""
        changed = []
        for patient_id in patient_ids:
            marks = self._trackers[patient_id].marks()
            if marks != self._persisted_marks.get(patient_id):
                self._persisted_marks[patient_id] = marks
                changed.append((patient_id, marks))
        return changed

    async def celebrate(self, patient_id: str, milestone_ids: list[str]) -> list[str]:
        """Mark the patient's celebrations shown, durably; returns the ids newly marked."""
        tracker = self._trackers.get(patient_id)
        if tracker is None:
            raise UnknownPatient(f"no patient {patient_id!r}")
        marked = tracker.mark_celebrated(milestone_ids)
        for changed, marks in self._changed_marks([patient_id]):
            await self._store.put_marks(changed, marks, self._clock())
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
                changed[tracker.patient.patient_id] = effects
            if index % chunk == chunk - 1:
                await asyncio.sleep(0)
        outcome = self._outcome(changed, now)
        if outcome.steps:
            try:
                await self._alerts.commit(outcome.steps)
            except Exception as error:
                log.critical("event=tick_commit_failed error=%s", error)
                self._halt("a tick's alerts and marks could not be stored")
                raise
        outcome.publish()
        return len(changed)
