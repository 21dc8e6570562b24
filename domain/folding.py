"""How each kind of event folds into a tracker and which effects it raises.

:class:`EventFolding` is the event half of :class:`~domain.progress.PatientProgress` (which
declares the fields): one ``_on_<kind>`` per event kind folds the event into the ledger, marks
the day buckets it touched (``_touched``: the caller turns them into one ``SeriesDelta`` each),
raises crisis alerts at once, reaches milestones, and re-checks only the insight and risk rules
the event can affect. Nothing here reads a clock: ``now`` is passed in.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Final, cast

from domain.achievements import MilestoneBook
from domain.days import timestamp
from domain.dropout import DropoutAlertGate, dropout_risk, dropout_score
from domain.effects import AlertRaised, Effect, InsightRaised
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
from domain.insights import ON_MINDFULNESS, ON_MOOD, ON_NEW_ACTIVE_DAY, ON_RISK, RULES_BY_CODE
from domain.ledger import MINDFULNESS_PREFIX, Ledger, to_millis
from domain.mood import CRISIS_MOOD, TREND_THRESHOLD, crisis_reasons, is_crisis, mood_delta
from domain.rezone import (
    CHECKIN,
    ENDED,
    EXERCISE,
    MINDFUL_EXERCISE,
    REZONE_WINDOW_S,
    STARTED,
    RecentRecord,
    recent_record,
)
from domain.sessions import Key, event_key

PACE: Final = ON_NEW_ACTIVE_DAY[0]
MINDFUL: Final = ON_MINDFULNESS[0]
MOOD: Final = ON_MOOD[0]
MOOD_RULE: Final = RULES_BY_CODE[MOOD]
RECENT_MIN: Final = 32
"""Kept records are pruned at most once per this many (see ``_prune``)."""


class EventFolding:
    """The per-event folds and effect rules of :class:`~domain.progress.PatientProgress`."""

    # Every field of a tracker, so that both halves see them (set in PatientProgress.__init__).
    __slots__ = (
        "_ledger",
        "_seen",
        "_recent",
        "_recent_after",
        "_recent_limit",
        "_touched",
        "_book",
        "_gate",
        "_insights_on",
        "_published_at",
        "_baseline",
    )
    _ledger: Ledger
    _seen: dict[str, None]  # a set, kept as a dict: see PatientProgress.__init__
    _recent: list[RecentRecord]
    _recent_after: float
    _recent_limit: int
    _touched: dict[int, None]
    _book: MilestoneBook
    _gate: DropoutAlertGate
    _insights_on: set[str]
    _published_at: datetime | None
    _baseline: dict[str, Any] | None

    def _fold(self, event: Event, event_id: str, now: datetime, effects: list[Effect]) -> None:
        """Fold one new event in: dispatch on its kind, most frequent first.

        ``event_id`` is ``event.id``, already read by the caller. Comparisons of the kind tag
        read once, not a table of handlers: compiled code then calls each handler directly
        instead of through a Python-level call (the casts cost nothing there: events are not
        compiled classes).
        """
        kind = event.kind
        if kind == "exercise_completed":
            self._on_exercise(cast(ExerciseCompleted, event), event_id, now, effects)
        elif kind == "session_ended":
            self._on_ended(cast(SessionEnded, event), event_id, now, effects)
        elif kind == "session_started":
            self._on_started(cast(SessionStarted, event), event_id, now, effects)
        elif kind == "session_scheduled":
            self._on_scheduled(cast(SessionScheduled, event), event_id, now, effects)
        elif kind == "mood_checkin":
            self._on_checkin(cast(MoodCheckin, event), event_id, now, effects)
        elif kind == "progress_marker":
            self._on_marker(cast(ProgressMarker, event), event_id, now, effects)
        elif kind == "goal_updated":
            self._on_goal(cast(GoalUpdated, event), event_id, now, effects)
        else:
            self._on_item(cast(ActionItemUpdated, event), event_id, now, effects)

    def _dated(self, at: datetime, event_id: str) -> tuple[float, Key, int]:
        """A day-bearing event's timestamp, event-time key and local day."""
        ts = timestamp(at)
        return ts, event_key(ts, event_id), self._ledger.event_day(at, ts)

    def _on_scheduled(
        self, event: SessionScheduled, event_id: str, now: datetime, effects: list[Effect]
    ) -> None:
        key = event_key(timestamp(event.at), event_id)
        self._ledger.fold_scheduled(event.session_id, key, event.scheduled_for)

    def _on_started(
        self, event: SessionStarted, event_id: str, now: datetime, effects: list[Effect]
    ) -> None:
        ledger = self._ledger
        ts, key, day = self._dated(event.at, event_id)
        session_id = event.session_id
        if ts > self._recent_after:
            self._keep(recent_record(ts, event_id, STARTED, session_id, 0, day), now)
        pre = event.mood_pre
        facts = ledger.fold_started(session_id, key, day, pre, self._touched)
        if pre is not None:
            post = facts.mood_post
            if is_crisis(pre, pre, post):
                self._crisis(crisis_reasons(pre, pre, post, "mood_pre"), event, effects)
            if ledger.in_trend_window(key):
                self._check_mood(effects)

    def _on_ended(
        self, event: SessionEnded, event_id: str, now: datetime, effects: list[Effect]
    ) -> None:
        ledger = self._ledger
        ts, key, day = self._dated(event.at, event_id)
        session_id = event.session_id
        status = event.status
        completed = status == "completed"
        if ts > self._recent_after:
            self._keep(recent_record(ts, event_id, ENDED, session_id, int(completed), day), now)
        post = event.mood_post
        facts = ledger.fold_ended(session_id, key, day, status, post, event, self._touched)
        codes: tuple[str, ...] = ()
        if post is not None:
            pre = facts.mood_pre
            if is_crisis(post, pre, post):
                self._crisis(crisis_reasons(post, pre, post, "mood_post"), event, effects)
            if ledger.in_trend_window(key):
                codes = ON_MOOD
        if not completed:
            # A missed session is the one event that can raise the risk sharply: re-score now.
            self._observe_risk(ledger.today(now), effects, codes)
            return
        if (
            ledger.add_ever_session(session_id, key)
            and len(ledger.ever_sessions) >= self._book.next_threshold["completed_sessions"]
        ):
            self._book.reach(self._ledger, "completed_sessions", effects)
        self._count_active_day(day, key, effects)
        if ledger.became_active and PACE not in self._insights_on:
            codes += ON_NEW_ACTIVE_DAY
        self._after_activity(now, effects, codes)

    def _on_exercise(
        self, event: ExerciseCompleted, event_id: str, now: datetime, effects: list[Effect]
    ) -> None:
        ledger = self._ledger
        ts, key, day = self._dated(event.at, event_id)
        mindful = event.exercise.startswith(MINDFULNESS_PREFIX)
        millis = to_millis(event.duration_s)
        if ts > self._recent_after:
            kind = MINDFUL_EXERCISE if mindful else EXERCISE
            self._keep(recent_record(ts, event_id, kind, "", millis, day), now)
        ledger.fold_exercise(millis, mindful, key, day)
        self._touched[day] = None
        self._count_active_day(day, key, effects)
        # Rules that only grow with activity need no check while they already hold.
        codes: tuple[str, ...] = ()
        if ledger.became_active and PACE not in self._insights_on:
            codes = ON_NEW_ACTIVE_DAY
        if mindful and MINDFUL not in self._insights_on:
            codes += ON_MINDFULNESS
        self._after_activity(now, effects, codes)

    def _on_checkin(
        self, event: MoodCheckin, event_id: str, now: datetime, effects: list[Effect]
    ) -> None:
        ledger = self._ledger
        ts, key, day = self._dated(event.at, event_id)
        score = event.score
        if ts > self._recent_after:
            self._keep(recent_record(ts, event_id, CHECKIN, "", score, day), now)
        ledger.fold_checkin(score, key, day)
        self._touched[day] = None
        if score <= CRISIS_MOOD:
            self._crisis(crisis_reasons(score, where="mood check-in"), event, effects)
        self._count_active_day(day, key, effects)
        codes: tuple[str, ...] = ON_MOOD if ledger.in_trend_window(key) else ()
        if ledger.became_active and PACE not in self._insights_on:
            codes += ON_NEW_ACTIVE_DAY
        self._after_activity(now, effects, codes)

    def _on_marker(
        self, event: ProgressMarker, event_id: str, now: datetime, effects: list[Effect]
    ) -> None:
        self._ledger.fold_marker(event, event_key(timestamp(event.at), event_id))
        if (
            event.marker == "SKILL_ACQUIRED"
            and len(self._ledger.skills) >= self._book.next_threshold["skills_acquired"]
        ):
            self._book.reach(self._ledger, "skills_acquired", effects)

    def _on_goal(
        self, event: GoalUpdated, event_id: str, now: datetime, effects: list[Effect]
    ) -> None:
        self._ledger.fold_goal(event, event_key(timestamp(event.at), event_id))
        if event.status == "completed":
            self._book.reach(self._ledger, "goals_completed", effects)

    def _on_item(
        self, event: ActionItemUpdated, event_id: str, now: datetime, effects: list[Effect]
    ) -> None:
        self._ledger.fold_item(event, event_key(timestamp(event.at), event_id))

    def _after_activity(self, now: datetime, effects: list[Effect], codes: tuple[str, ...]) -> None:
        # Activity only lowers the risk; re-score it only when the alert waits to re-arm.
        if not self._gate.armed:
            self._observe_risk(self._ledger.today(now), effects, codes)
        elif codes == ON_MOOD:
            self._check_mood(effects)
        elif codes:
            self._insights(codes, effects, Figures(self._ledger, None, now=now))

    # -- effect helpers -------------------------------------------------------------------

    def _count_active_day(self, day: int, key: Key, effects: list[Effect]) -> None:
        """Record an ever-active day and reach a streak milestone when the run is long enough."""
        if self._ledger.add_ever_day(day, key) >= self._book.next_threshold["streak_days"]:
            self._book.reach(self._ledger, "streak_days", effects)

    def _keep(self, record: RecentRecord, now: datetime) -> None:
        recent = self._recent
        recent.append(record)
        if len(recent) >= self._recent_limit:
            self._prune(timestamp(now))

    def _prune(self, now_ts: float) -> None:
        """Forget the records a zone change dated at ``now_ts`` or later can no longer move."""
        cutoff = now_ts - REZONE_WINDOW_S
        if cutoff > self._recent_after:
            self._recent_after = cutoff
            self._recent = [item for item in self._recent if item[0] > cutoff]
        # Amortised: a prune at most every RECENT_MIN records, or as the kept ones double.
        self._recent_limit = max(RECENT_MIN, 2 * len(self._recent))

    def _crisis(self, reasons: list[str], event: Event, effects: list[Effect]) -> None:
        if reasons:
            detail = "; ".join(reasons)
            effects.append(AlertRaised("mood_crisis", "critical", detail, event.id, event.at))

    def _observe_risk(self, today: int, effects: list[Effect], codes: tuple[str, ...]) -> None:
        score = dropout_score(self._ledger, today)
        if self._gate.observe(score):
            risk = dropout_risk(self._ledger, today)  # the explanation, only when it is sent
            top = sorted(risk.factors, key=lambda factor: -factor.contribution)[:2]
            reasons = ", ".join(f"{factor.name} {factor.contribution:.2f}" for factor in top)
            detail = f"dropout risk {risk.score:.2f} (high): {reasons}"
            effects.append(AlertRaised("dropout_risk_high", "warning", detail))
        self._insights(codes + ON_RISK, effects, Figures(self._ledger, today, score))

    def _check_mood(self, effects: list[Effect]) -> None:
        """``_insights(ON_MOOD, ...)`` without the lazy figures: this runs on most mood events.

        Mirrors ``insights._mood``: the trend is ``improving`` exactly when the delta is at
        least ``TREND_THRESHOLD`` (``mood.trend_label``).
        """
        delta = mood_delta(self._ledger)
        if delta is not None and delta >= TREND_THRESHOLD:
            if MOOD not in self._insights_on:
                self._insights_on.add(MOOD)
                effects.append(InsightRaised(MOOD, MOOD_RULE.message))
        else:
            self._insights_on.discard(MOOD)

    def _insights(self, codes: Iterable[str], effects: list[Effect], inputs: Figures) -> None:
        for code in codes:
            rule = RULES_BY_CODE[code]
            if rule.holds(inputs):
                if code not in self._insights_on:
                    self._insights_on.add(code)
                    effects.append(InsightRaised(code, rule.message))
            else:
                self._insights_on.discard(code)
