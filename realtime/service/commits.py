"""Commit rounds: publishes that arrive together share one write, one apply and one fan-out.

Theory of operation
-------------------
:class:`ProgressService` screens each publish and hands its new events here as a
:class:`Submission`. Every submission read in the same turn of the event loop joins the same
round; at the end of that turn the round's events go to the event log at once, whatever
else the writer holds. The writer commits back to back, so a round waits at most for the
commit in progress and then its own (rounds queued together share a transaction). No round
waits for another round's apply, effects or answers.

Two lanes. A submission holding an event that may raise an alert at once
(:func:`domain.urgency.may_alert`) joins this turn's *urgent* round instead: its own id lookup
(not behind the bulk ones), its own apply (only its events) and a commit in the writer's urgent
lane, which goes next after the commit in progress. Of the bulk commits queued before it, only
those holding a patient whose marks it stores go first with it (a patient's stored marks must
be the last computed); its events, alert and deliveries are rows under their own ids.
Bulk rounds are capped at ``max_round_events`` events, so no single apply holds the event loop
long. Acks carry their ``ref`` and need not come in publish order (PROTOCOL.md section 4), so a
connection's crisis may be answered before its earlier bulk publish. Each event is in one round
only, and the domain folds a patient's events in any order to the same state, so rounds of the
same patient applied in either order agree.

A round is applied first (``apply``: the trackers fold its events and say which rows must be
stored with them: the alerts they raised, their webhook deliveries, changed marks), and those
rows are committed in the *same transaction* as the events (PROTOCOL.md section 7: an ``ack``
that accepts a crisis event means its alert is on disk; after a crash there is never an event
without its alert, nor an alert twice). Only after that commit is anything pushed
(``Applied.publish``: alerts first, then the fan-out) and each publisher's ``reply`` run. Until
then the events count as *in flight*: a duplicate published meanwhile is answered once they are
done, so "duplicate" always means durable too.

A failed commit after the apply leaves memory ahead of the file: nothing of the round is
pushed or acknowledged, and the process stops at once (``halt``) instead of serving figures
that are not durable; its supervisor restarts it and start-up rebuilds memory from the file.
A failed apply stores nothing: the events are forgotten (``forget``) and each publisher gets
``internal`` for them.

Fault injection: ``PROGRESS_HUB_FAULT`` (tests only; see :mod:`realtime.faults`) kills the
process at ``after_apply``, ``after_commit``, ``after_push`` (before the ack).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from domain.events import Event
from realtime.errors import InternalError
from realtime.faults import checkpoint
from realtime.protocol import AckFields, Rejection
from realtime.service.eventlog import EventLog
from realtime.service.quarantine import UNAPPLIED_DETAIL
from storage.batch import Batch
from storage.lane import BULK, Lane, Step
from storage.store import ProgressStore

log = logging.getLogger("progress_hub.commits")

MAX_ROUND_EVENTS = 500
"""A bulk round closes at this many events; later publishes of the same turn start another.
Traced under saturation, a round's apply then took p50 3 ms, p99 15 ms."""

Marks = list[tuple[str, dict[str, Any]]]
"""(patient id, marks) pairs whose stored copy is out of date."""


@dataclass(slots=True)
class AckResult:
    """The reply to a publish, shared by the WebSocket ``ack`` and ``POST /api/v1/events``."""

    accepted: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)

    def reject(self, event_id: str, code: str, detail: str) -> None:
        self.rejected.append(Rejection(id=event_id, code=code, detail=detail))

    def to_wire(self) -> AckFields:
        return AckFields(accepted=self.accepted, duplicates=self.duplicates, rejected=self.rejected)


@dataclass(slots=True)
class Submission:
    """One screened publish: its answer so far, its new events, what else it waits for."""

    result: AckResult
    fresh: list[Event]
    # Rounds holding duplicates of its events that are still in flight.
    waits: list[asyncio.Future[None]]
    reply: Callable[[AckResult], None]
    urgent: bool = False  # holds an event that may raise an alert (domain.urgency)


@dataclass(slots=True)
class Applied:
    """What applying a round produced: rows to commit with its events, and what to push after."""

    steps: list[Step]
    publish: Callable[[], None]
    # Committed, but no tracker could fold them (see realtime.service.quarantine).
    unapplied: set[str] = field(default_factory=set)
    # The patients whose marks ``steps`` store: an urgent commit keeps its order only with
    # queued commits of these patients (see storage.writer).
    marked: frozenset[str] = frozenset()


@dataclass(slots=True)
class _Round:
    done: asyncio.Future[None]
    urgent: bool
    submissions: list[Submission] = field(default_factory=list)
    events: int = 0


@dataclass(eq=False)
class CommitRounds:
    """Groups submissions into rounds and carries each through commit, apply and answer.

    Args:
        store: where marks and alerts are written.
        log: where the events are appended.
        clock: the current instant (the events' ``received_at``, the apply's ``now``).
        apply: folds committed events into memory and fans them out; returns what to store.
            Called once per round, in commit order.
        forget: takes back the ids of events whose commit failed, so they may be sent again.
        halt: stops the process when a commit failed after its apply (memory is ahead).
        max_round_events: the most events a bulk round takes (a submission is never split).
    """

    store: ProgressStore
    log: EventLog
    clock: Callable[[], datetime]
    apply: Callable[[list[Event], datetime], Applied]
    forget: Callable[[list[Event]], None]
    halt: Callable[[str], None]
    max_round_events: int = MAX_ROUND_EVENTS
    # The rounds of this turn still taking submissions: bulk, urgent.
    _collecting: dict[bool, _Round] = field(default_factory=dict, init=False)
    _in_flight: dict[str, asyncio.Future[None]] = field(default_factory=dict, init=False)
    # Rounds, and answers that wait for another round (kept referenced until done).
    _background: set[asyncio.Task[None]] = field(default_factory=set, init=False)
    events_accepted: int = field(default=0, init=False)
    events_failed: int = field(default=0, init=False)
    events_duplicate: int = field(default=0, init=False)  # found in the log, not in memory

    def in_flight(self, event_id: str) -> asyncio.Future[None] | None:
        """Done once the event's round has been answered; ``None`` when not in flight."""
        return self._in_flight.get(event_id)

    def join(self, submission: Submission) -> None:
        """Add a submission with new events to its lane's round of this turn of the loop."""
        urgent = submission.urgent
        collecting = self._collecting.get(urgent)
        if collecting is None:
            future = asyncio.get_running_loop().create_future()
            collecting = self._collecting[urgent] = _Round(future, urgent)
            # A task's first step runs at the next turn of the loop: every publish read by
            # then joins this round, which goes to the writer at once.
            self._spawn(self._run_round(collecting))
        collecting.submissions.append(submission)
        collecting.events += len(submission.fresh)
        if not urgent and collecting.events >= self.max_round_events:
            del self._collecting[urgent]  # full: the next publish starts another round
        for event in submission.fresh:
            self._in_flight[event.id] = collecting.done

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _run_round(self, current: _Round) -> None:
        if self._collecting.get(current.urgent) is current:
            del self._collecting[current.urgent]
        events = [event for submission in current.submissions for event in submission.fresh]
        now = self.clock()
        try:
            events = await self._drop_known(current, events)
        except BaseException as error:
            # Nothing applied yet: the publishers may simply send again.
            self.forget(events)
            log.error("event=publish_failed count=%d error=%s", len(events), error)
            self._finish(current, events, failed=True)
            if not isinstance(error, Exception):
                raise
            return
        try:
            applied = self.apply(events, now)
        except Exception:
            log.exception("event=apply_failed count=%d", len(events))
            self.forget(events)
            self._finish(current, events, failed=True)
            return
        checkpoint("after_apply")
        try:
            lane = Lane(urgent=True, follows=applied.marked) if current.urgent else BULK
            await self.log.append(Batch(events, now, applied.steps, lane))
        except BaseException as error:
            self.forget(events)
            log.critical("event=publish_failed count=%d error=%s", len(events), error)
            self._finish(current, events, failed=True)
            self.halt("a commit failed after its events were applied")
            if not isinstance(error, Exception):
                raise
            return
        checkpoint("after_commit")
        try:
            applied.publish()
        except Exception:
            # Durable already: the publishers get their ack; a subscriber catches up by snapshot.
            log.exception("event=push_failed count=%d", len(events))
        checkpoint("after_push")
        self._finish(current, events, failed=False, unapplied=applied.unapplied)

    async def _drop_known(self, current: _Round, events: list[Event]) -> list[Event]:
        """Take out the events the log already holds: their ids were accepted long ago.

        The service keeps only recent ids in memory; the log's key answers for the rest. What
        the log holds was applied when it was committed (or at start-up), so it is a duplicate.
        """
        known = await self.log.known_ids([event.id for event in events], urgent=current.urgent)
        if not known:
            return events
        for submission in current.submissions:
            fresh = [event for event in submission.fresh if event.id not in known]
            submission.result.duplicates.extend(
                event.id for event in submission.fresh if event.id in known
            )
            self.events_duplicate += len(submission.fresh) - len(fresh)
            submission.fresh = fresh
        for event_id in known:
            self._in_flight.pop(event_id, None)
        return [event for event in events if event.id not in known]

    def _finish(
        self,
        current: _Round,
        events: list[Event],
        *,
        failed: bool,
        unapplied: set[str] | frozenset[str] = frozenset(),
    ) -> None:
        # Only now: until applied (and its effects stored), an event counts as in flight.
        for event in events:
            self._in_flight.pop(event.id, None)
        if not current.done.done():
            current.done.set_result(None)
        for submission in current.submissions:
            if failed:
                for event in submission.fresh:
                    submission.result.reject(
                        event.id, InternalError.code, "could not store the event; retry"
                    )
                self.events_failed += len(submission.fresh)
            else:
                kept = submission.fresh
                if unapplied:  # rare: each is a defect (see realtime.service.quarantine)
                    kept = [event for event in submission.fresh if event.id not in unapplied]
                    for event_id in {event.id for event in submission.fresh} & unapplied:
                        submission.result.reject(event_id, "invalid_event", UNAPPLIED_DETAIL)
                submission.result.accepted.extend(event.id for event in kept)
                self.events_accepted += len(kept)
                self.events_failed += len(submission.fresh) - len(kept)
            self.answer(submission)

    def answer(self, submission: Submission) -> None:
        """Reply now, or once the rounds holding its in-flight duplicates are done."""
        unfinished = [wait for wait in submission.waits if not wait.done()]
        if unfinished:
            # A duplicate of an event still being committed is answered once that commit is
            # done, so "duplicate" always means "already durable".
            self._spawn(self._answer_later(submission, unfinished))
            return
        try:
            submission.reply(submission.result)
        except Exception:
            log.exception("event=reply_failed")

    async def _answer_later(
        self, submission: Submission, unfinished: list[asyncio.Future[None]]
    ) -> None:
        await asyncio.gather(*(asyncio.shield(wait) for wait in unfinished), return_exceptions=True)
        submission.waits = []
        self.answer(submission)

    async def settle(self) -> None:
        """Wait until every event committed so far has also been applied and answered."""
        pending = set(self._in_flight.values())
        pending.update(collecting.done for collecting in self._collecting.values())
        if pending:
            await asyncio.gather(
                *(asyncio.shield(done) for done in pending), return_exceptions=True
            )
