"""A patient's progress: events and the current instant in, figures and effects out.

Theory of operation
-------------------
:class:`PatientProgress` wraps a :class:`~domain.ledger.Ledger` (the order-independent facts)
and decides the effects the shell must carry out:

- ``apply(event, now)`` folds one event in O(log n) and returns its effects: ``StateChanged``,
  a ``SeriesDelta`` per touched day bucket, ``AlertRaised`` for a mood crisis (at once, every
  time) or a dropout risk crossing into high, ``MilestoneReached`` when a milestone is newly
  reached and ``InsightRaised`` when an insight becomes true. Only the checks an event can
  affect run here; nothing else is recomputed.
- ``snapshot(now)``, ``series(now)`` and ``milestones()`` derive the figures lazily.
- ``tick(now)`` re-evaluates what moves with time alone (silence raises dropout risk; local
  midnight ends a day) and reports ``StateChanged`` only when a figure actually changed.
- ``marks()`` / ``restore_marks()`` carry what events cannot rebuild: celebrated milestones and
  whether the dropout alert is armed. A restart replays events (effects discarded), then marks.
- ``to_state()`` / ``from_state()`` (:mod:`domain.state`) carry the whole tracker as builtins,
  so a snapshot neither grows with the history nor depends on class layouts.

The tracker does not keep its events. A zone change only moves events dated after it to other
days, and the hub dates zone changes at its own clock, so only recent and future-dated events
can move: their compact records (``_recent``, see :mod:`domain.rezone`) are all it keeps.

No clock is read and no I/O is done: ``now`` is always passed in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime
from math import inf
from typing import Any

from domain.achievements import MilestoneBook
from domain.dropout import DropoutAlertGate, dropout_risk, dropout_score
from domain.effects import (
    AlertRaised,
    Effect,
    InsightRaised,
    Milestone,
    SeriesDelta,
    StateChanged,
)
from domain.events import (
    ActionItemUpdated,
    Event,
    ExerciseCompleted,
    GoalUpdated,
    MoodCheckin,
    ProgressMarker,
    SessionEnded,
    SessionScheduled,
    SessionStarted,
)
from domain.figures import Figures
from domain.insights import (
    INSIGHT_RULES,
    ON_MINDFULNESS,
    ON_MOOD,
    ON_NEW_ACTIVE_DAY,
    ON_RISK,
    RULES_BY_CODE,
)
from domain.ledger import MINDFULNESS_PREFIX, Ledger
from domain.mood import CRISIS_MOOD, crisis_reasons, is_crisis
from domain.patients import Patient
from domain.rezone import (
    CHECKIN,
    ENDED,
    EXERCISE,
    MINDFUL_EXERCISE,
    REZONE_WINDOW_S,
    STARTED,
    RecentRecord,
    rezone,
)
from domain.series import DEFAULT_SERIES_DAYS, daily_series
from domain.sessions import Key
from domain.snapshot import progress_document
from domain.state import restore_tracker, tracker_state

STATE_CHANGED = StateChanged()
PACE = ON_NEW_ACTIVE_DAY[0]
MINDFUL = ON_MINDFULNESS[0]
MARKS_VERSION = 1


class PatientProgress:
    """Everything the hub knows about one patient's progress.

    Args:
        patient: the registration (therapist, time zone history).
    """

    __slots__ = (
        "_ledger",
        "_seen",
        "_recent",
        "_recent_after",
        "_prune_at",
        "_now",
        "_now_ts",
        "_book",
        "_gate",
        "_insights_on",
        "_published_at",
        "_baseline",
    )

    def __init__(self, patient: Patient) -> None:
        self._ledger = Ledger(patient)
        self._seen: set[str] = set()
        # Day-bearing events dated after ``_recent_after``, all of them: a zone change can move
        # only those to another day (domain.rezone). Pruned as ``now`` passes them.
        self._recent: list[RecentRecord] = []
        self._recent_after = -inf
        self._prune_at = -inf
        self._now: datetime | None = None  # the last ``now`` seen and its timestamp
        self._now_ts = -inf
        self._book = MilestoneBook(patient.patient_id)
        self._gate = DropoutAlertGate()
        self._insights_on: set[str] = set()
        self._published_at: datetime | None = None  # ``now`` of the last apply
        self._baseline: dict[str, Any] | None = None  # snapshot at the last tick

    @property
    def patient(self) -> Patient:
        """The current registration."""
        return self._ledger.patient

    @property
    def ledger(self) -> Ledger:
        """The fact store, for practice analytics; treat it as read-only."""
        return self._ledger

    # -- registration -----------------------------------------------------------------------

    def reassign(self, patient: Patient) -> list[Effect]:
        """Adopt a new registration (therapist or time zone changed).

        A changed zone history moves the events dated after the change to their day in the new
        zone (exactly, for events dated within ``REZONE_WINDOW_S`` of the latest ``now`` or
        later; see :mod:`domain.rezone`). Milestones already reached stay reached; any newly
        reached are returned as ``MilestoneReached``.
        """
        effects: list[Effect] = [STATE_CHANGED]
        self._baseline = None
        if patient.zone_history == self._ledger.patient.zone_history:
            self._ledger.reassigned(patient)
            return effects
        self._recent = rezone(self._ledger, patient, self._recent, self._recent_after)
        self._book.reach(self._ledger, "streak_days", effects)
        return effects

    # -- events -----------------------------------------------------------------------------

    def apply(self, event: Event, now: datetime) -> list[Effect]:
        """Fold one event in.

        Args:
            event: a validated event for this patient.
            now: the current instant (figures that depend on "today" use it).

        Returns:
            The effects for the shell; empty when the event was already applied.
        """
        if event.id in self._seen:
            return []
        self._seen.add(event.id)
        if now is not self._now:
            self._advance(now)
        ledger = self._ledger
        ledger.version += 1
        ledger.became_active = False
        self._published_at = now
        self._baseline = None
        effects: list[Effect] = [STATE_CHANGED]
        _FOLDS[type(event)](self, event, now, effects)
        return effects

    def _advance(self, now: datetime) -> None:
        ts = now.timestamp()
        self._now, self._now_ts = now, ts
        if ts >= self._prune_at:
            # Now only events dated after the cutoff can still move with a zone change.
            cutoff = ts - REZONE_WINDOW_S
            if cutoff > self._recent_after:
                self._recent_after = cutoff
                self._recent = [item for item in self._recent if item[0] > cutoff]
            self._prune_at = ts + REZONE_WINDOW_S / 4

    def _on_scheduled(self, event: SessionScheduled, now: datetime, effects: list[Effect]) -> None:
        self._ledger.fold_scheduled(event, (event.at.timestamp(), event.id))

    def _on_started(self, event: SessionStarted, now: datetime, effects: list[Effect]) -> None:
        ledger = self._ledger
        key = (event.at.timestamp(), event.id)
        day = ledger.local_day(event.at)
        if key[0] > self._recent_after:
            self._recent.append((key[0], event.id, STARTED, event.session_id, 0, day))
        self._deltas(ledger.fold_started(event, key, day), effects)
        pre = event.mood_pre
        if pre is not None:
            post = ledger.sessions[event.session_id].mood_post
            if is_crisis(pre, pre, post):
                self._crisis(crisis_reasons(pre, pre, post, "mood_pre"), effects)
            if ledger.in_trend_window(key):
                self._insights(ON_MOOD, effects, Figures(ledger, None, now=now))

    def _on_ended(self, event: SessionEnded, now: datetime, effects: list[Effect]) -> None:
        ledger = self._ledger
        key = (event.at.timestamp(), event.id)
        day = ledger.local_day(event.at)
        completed = event.status == "completed"
        if key[0] > self._recent_after:
            self._recent.append((key[0], event.id, ENDED, event.session_id, int(completed), day))
        self._deltas(ledger.fold_ended(event, key, day), effects)
        post = event.mood_post
        codes: tuple[str, ...] = ()
        if post is not None:
            pre = ledger.sessions[event.session_id].mood_pre
            if is_crisis(post, pre, post):
                self._crisis(crisis_reasons(post, pre, post, "mood_post"), effects)
            if ledger.in_trend_window(key):
                codes = ON_MOOD
        if not completed:
            # A missed session is the one event that can raise the risk sharply: re-score now.
            self._observe_risk(ledger.today(now), effects, codes)
            return
        if (
            ledger.add_ever_session(event.session_id, key)
            and len(ledger.ever_sessions) >= self._book.next_threshold["completed_sessions"]
        ):
            self._book.reach(self._ledger, "completed_sessions", effects)
        self._count_active_day(day, key, effects)
        if ledger.became_active and PACE not in self._insights_on:
            codes += ON_NEW_ACTIVE_DAY
        self._after_activity(now, effects, codes)

    def _on_exercise(self, event: ExerciseCompleted, now: datetime, effects: list[Effect]) -> None:
        ledger = self._ledger
        key = (event.at.timestamp(), event.id)
        day = ledger.local_day(event.at)
        if key[0] > self._recent_after:
            mindful = event.exercise.startswith(MINDFULNESS_PREFIX)
            kind = MINDFUL_EXERCISE if mindful else EXERCISE
            millis = round(event.duration_s * 1000)
            self._recent.append((key[0], event.id, kind, "", millis, day))
        bucket = ledger.fold_exercise(event, key, day)
        effects.append(SeriesDelta(date.fromordinal(day), bucket.chart_values()))
        self._count_active_day(day, key, effects)
        # Rules that only grow with activity need no check while they already hold.
        codes: tuple[str, ...] = ()
        if ledger.became_active and PACE not in self._insights_on:
            codes = ON_NEW_ACTIVE_DAY
        if event.exercise.startswith(MINDFULNESS_PREFIX) and MINDFUL not in self._insights_on:
            codes += ON_MINDFULNESS
        self._after_activity(now, effects, codes)

    def _on_checkin(self, event: MoodCheckin, now: datetime, effects: list[Effect]) -> None:
        ledger = self._ledger
        key = (event.at.timestamp(), event.id)
        day = ledger.local_day(event.at)
        if key[0] > self._recent_after:
            self._recent.append((key[0], event.id, CHECKIN, "", event.score, day))
        bucket = ledger.fold_checkin(event, key, day)
        effects.append(SeriesDelta(date.fromordinal(day), bucket.chart_values()))
        if event.score <= CRISIS_MOOD:
            self._crisis(crisis_reasons(event.score, where="mood check-in"), effects)
        self._count_active_day(day, key, effects)
        codes: tuple[str, ...] = ON_MOOD if ledger.in_trend_window(key) else ()
        if ledger.became_active and PACE not in self._insights_on:
            codes += ON_NEW_ACTIVE_DAY
        self._after_activity(now, effects, codes)

    def _on_marker(self, event: ProgressMarker, now: datetime, effects: list[Effect]) -> None:
        self._ledger.fold_marker(event, (event.at.timestamp(), event.id))
        if (
            event.marker == "SKILL_ACQUIRED"
            and len(self._ledger.skills) >= self._book.next_threshold["skills_acquired"]
        ):
            self._book.reach(self._ledger, "skills_acquired", effects)

    def _on_goal(self, event: GoalUpdated, now: datetime, effects: list[Effect]) -> None:
        self._ledger.fold_goal(event, (event.at.timestamp(), event.id))
        if event.status == "completed":
            self._book.reach(self._ledger, "goals_completed", effects)

    def _on_item(self, event: ActionItemUpdated, now: datetime, effects: list[Effect]) -> None:
        self._ledger.fold_item(event, (event.at.timestamp(), event.id))

    def _after_activity(self, now: datetime, effects: list[Effect], codes: tuple[str, ...]) -> None:
        # Activity only lowers the risk; re-score it only when the alert waits to re-arm.
        if not self._gate.armed:
            self._observe_risk(self._ledger.today(now), effects, codes)
        elif codes:
            self._insights(codes, effects, Figures(self._ledger, None, now=now))

    # -- effect helpers -------------------------------------------------------------------

    def _count_active_day(self, day: int, key: Key, effects: list[Effect]) -> None:
        """Record an ever-active day and reach a streak milestone when the run is long enough."""
        if self._ledger.add_ever_day(day, key) >= self._book.next_threshold["streak_days"]:
            self._book.reach(self._ledger, "streak_days", effects)

    def _deltas(self, touched: list[int], effects: list[Effect]) -> None:
        days = self._ledger.days
        for day in touched:
            bucket = days.get(day)
            if bucket is not None:
                effects.append(SeriesDelta(date.fromordinal(day), bucket.chart_values()))

    def _crisis(self, reasons: list[str], effects: list[Effect]) -> None:
        if reasons:
            effects.append(AlertRaised("mood_crisis", "critical", "; ".join(reasons)))

    def _observe_risk(self, today: int, effects: list[Effect], codes: tuple[str, ...]) -> None:
        score = dropout_score(self._ledger, today)
        if self._gate.observe(score):
            risk = dropout_risk(self._ledger, today)  # the explanation, only when it is sent
            top = sorted(risk.factors, key=lambda factor: -factor.contribution)[:2]
            reasons = ", ".join(f"{factor.name} {factor.contribution:.2f}" for factor in top)
            detail = f"dropout risk {risk.score:.2f} (high): {reasons}"
            effects.append(AlertRaised("dropout_risk_high", "warning", detail))
        self._insights(codes + ON_RISK, effects, Figures(self._ledger, today, score))

    def _insights(self, codes: Iterable[str], effects: list[Effect], inputs: Figures) -> None:
        for code in codes:
            rule = RULES_BY_CODE[code]
            if rule.holds(inputs):
                if code not in self._insights_on:
                    self._insights_on.add(code)
                    effects.append(InsightRaised(code, rule.message))
            else:
                self._insights_on.discard(code)

    # -- time -------------------------------------------------------------------------------

    def tick(self, now: datetime) -> list[Effect]:
        """Re-evaluate what moves with time alone.

        Returns:
            ``StateChanged`` when a figure differs from the last apply or tick, an
            ``AlertRaised("dropout_risk_high")`` when silence pushed the risk into high, and
            ``InsightRaised`` for insights that became true.
        """
        effects: list[Effect] = []
        if now is not self._now:
            self._advance(now)
        current = self.snapshot(now)
        baseline = self._baseline
        if baseline is None and self._published_at is not None:
            # Facts have not changed since that apply: its figures can be recomputed exactly.
            baseline = self.snapshot(self._published_at)
        if baseline is not None and baseline != current:
            effects.append(STATE_CHANGED)
        self._baseline = current
        today = self._ledger.today(now)
        codes = tuple(rule.code for rule in INSIGHT_RULES if rule.code not in ON_RISK)
        self._observe_risk(today, effects, codes)
        return effects

    # -- reading ----------------------------------------------------------------------------

    def snapshot(self, now: datetime) -> dict[str, Any]:
        """The patient's progress document (REST ``progress``, WebSocket ``state``)."""
        today = self._ledger.today(now)
        document = progress_document(self._ledger, today)
        figures = Figures(self._ledger, today, document["dropout_risk"]["score"])
        document["milestones"] = [self._book.to_wire(item) for item in self.milestones()]
        document["insights"] = [
            {"code": rule.code, "message": rule.message}
            for rule in INSIGHT_RULES
            if rule.holds(figures)
        ]
        return document

    def series(self, now: datetime, days: int = DEFAULT_SERIES_DAYS) -> dict[str, Any]:
        """``ProgressVizSeries``: ``days`` daily buckets in the patient's zone ending today.

        Raises:
            InvalidQuery: (a ``ValueError``) when ``days`` is outside ``1..366``.
        """
        return daily_series(self._ledger, self._ledger.today(now), days)

    def insights(self, now: datetime) -> list[dict[str, str]]:
        """The recommendations that hold now: ``[{"code", "message"}]``."""
        result: list[dict[str, str]] = self.snapshot(now)["insights"]
        return result

    # -- milestones and celebrations ----------------------------------------------------------

    def milestones(self) -> list[Milestone]:
        """Every milestone reached, oldest first; ``achieved_at`` is in event-time order."""
        return self._book.milestones(self._ledger)

    def mark_celebrated(self, milestone_ids: Iterable[str]) -> list[str]:
        """Record that the patient's app showed these celebrations.

        Returns:
            The ids newly marked, in the order given; unknown or already marked ids are skipped.
        """
        return self._book.mark_celebrated(self._ledger, milestone_ids)

    def pending_celebrations(self) -> list[Milestone]:
        """Milestones reached and not yet celebrated, oldest first."""
        celebrated = self._book.celebrated
        return [item for item in self.milestones() if item.id not in celebrated]

    # -- marks (what events cannot rebuild) -----------------------------------------------------

    def marks(self) -> dict[str, Any]:
        """JSON-ready state not derivable from events; persist it whenever it changes."""
        return {
            "version": MARKS_VERSION,
            "celebrated": sorted(self._book.celebrated),
            "dropout_alert": {"armed": self._gate.armed},
        }

    def restore_marks(self, marks: dict[str, Any]) -> None:
        """Adopt persisted marks after replaying the events (unknown keys are ignored)."""
        celebrated = marks.get("celebrated", [])
        self._book.celebrated = {item for item in celebrated if isinstance(item, str)}
        alert = marks.get("dropout_alert", {})
        armed = alert.get("armed", True) if isinstance(alert, dict) else True
        self._gate.armed = armed if isinstance(armed, bool) else True
        self._baseline = None

    # -- state (snapshots) ---------------------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        """The whole tracker as builtins, versioned by ``STATE_FORMAT`` (docs/domain.md §12).

        The result shares no mutable container with the tracker, so it can be serialised later
        while the tracker goes on applying events.
        """
        return tracker_state(self)

    @classmethod
    def from_state(cls, patient: Patient, state: dict[str, Any]) -> PatientProgress:
        """Rebuild a tracker from :meth:`to_state`'s output.

        Args:
            patient: the current registration; when it differs from the state's (re-registered
                since), the tracker is reassigned to it, as ``reassign`` would (its effects are
                not returned: milestones it reaches show up as pending celebrations).
            state: the saved state.

        Raises:
            StateFormatError: (a ``ValueError``) for another ``format``, another patient, or a
                garbled state.
        """
        tracker = restore_tracker(cls.__new__(cls), patient, state)
        if patient != tracker.patient:
            tracker.reassign(patient)
        return tracker

    # -- analytics helpers -----------------------------------------------------------------------

    def upcoming_after(self, now: datetime) -> int:
        """Sessions scheduled for after ``now`` that have neither started nor ended."""
        limit = now.timestamp()
        return sum(1 for when in self._ledger.upcoming.values() if when > limit)


_Fold = Callable[[PatientProgress, Any, datetime, list[Effect]], None]
_FOLDS: dict[type, _Fold] = {
    SessionScheduled: PatientProgress._on_scheduled,
    SessionStarted: PatientProgress._on_started,
    SessionEnded: PatientProgress._on_ended,
    ExerciseCompleted: PatientProgress._on_exercise,
    MoodCheckin: PatientProgress._on_checkin,
    ProgressMarker: PatientProgress._on_marker,
    GoalUpdated: PatientProgress._on_goal,
    ActionItemUpdated: PatientProgress._on_item,
}
