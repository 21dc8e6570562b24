"""How each kind of event folds into a patient's facts and which effects it raises.

:class:`EventFolding` holds what a tracker decides effects with: the ledger, the records a zone
change may move, the milestone book, the dropout alert's gate and the insights that hold. One
``_on_<kind>`` per event kind folds the event into the ledger, marks the day buckets it touched
(``touched``: the tracker turns them into one ``SeriesDelta`` each), raises crisis alerts at
once, reaches milestones, and re-checks only the insight and risk rules the event can affect.
Nothing here reads a clock: ``now`` is passed in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from domain.achievements import MilestoneBook
from domain.dropout import DropoutAlertGate, dropout_risk, dropout_score
from domain.effects import AlertRaised, Effect, InsightRaised
from domain.events import (
    Event,
    ExerciseCompleted,
    GoalUpdated,
    MeasureCompleted,
    MoodCheckin,
    ProgressMarker,
    SessionEnded,
    SessionStarted,
)
from domain.insights import (
    ON_MINDFULNESS,
    ON_MOOD,
    ON_NEW_ACTIVE_DAY,
    ON_RISK,
    RULES_BY_CODE,
    Figures,
)
from domain.ledger import MINDFULNESS_PREFIX, Ledger
from domain.measures import MeasureBook
from domain.milestones import Metric
from domain.mood import crisis_reasons
from domain.rezone import (
    CHECKIN,
    ENDED,
    EXERCISE,
    MINDFUL_EXERCISE,
    STARTED,
    RecentEvents,
    RecentRecord,
)
from domain.sessions import Key

DayBearing = SessionStarted | SessionEnded | ExerciseCompleted | MoodCheckin
"""The kinds of event that count on a local day."""
PACE = ON_NEW_ACTIVE_DAY[0]
MINDFUL = ON_MINDFULNESS[0]


@dataclass(slots=True, eq=False)
class EventFolding:
    """A patient's facts and effect state, and the per-event folds and rules that change them."""

    ledger: Ledger  # the patient's facts
    recent: RecentEvents  # the records of events a zone change can still move
    book: MilestoneBook  # the milestones reached and celebrated
    gate: DropoutAlertGate  # whether the dropout alert is armed
    insights_on: set[str]  # the codes of the insights that held when last checked
    # The day buckets the batch being applied changed.
    touched: dict[int, None] = field(default_factory=dict)
    measures: MeasureBook = field(default_factory=MeasureBook)  # the scored questionnaires

    def fold(self, event: Event, now: datetime, effects: list[Effect]) -> None:
        """Fold one new event in and append the effects it raises (most frequent kinds first)."""
        self.ledger.version += 1
        self.ledger.became_active = False
        match event.kind:
            case "exercise_completed":
                self._on_exercise(event, now, effects)
            case "session_ended":
                self._on_ended(event, now, effects)
            case "session_started":
                self._on_started(event, now, effects)
            case "session_scheduled":
                self.ledger.fold_scheduled(event.session_id, _key(event), event.scheduled_for)
            case "mood_checkin":
                self._on_checkin(event, now, effects)
            case "progress_marker":
                self._on_marker(event, effects)
            case "goal_updated":
                self._on_goal(event, effects)
            case "action_item_updated":
                self.ledger.fold_item(event, _key(event))
            case "measure_completed":
                self._on_measure(event, effects)

    def _on_started(self, event: SessionStarted, now: datetime, effects: list[Effect]) -> None:
        key, day = self._dated(event)
        self.recent.keep(RecentRecord(*key, STARTED, event.session_id, 0, day), now)
        facts = self.ledger.fold_session(event, key, day, self.touched)
        pre = event.mood_pre
        if pre is not None:
            post = facts.mood_post
            self._crisis(crisis_reasons(pre, pre, post, "mood_pre"), event, effects)
            if self.ledger.in_trend_window(key):
                self._check_insights(ON_MOOD, effects, Figures(self.ledger, None))

    def _on_ended(self, event: SessionEnded, now: datetime, effects: list[Effect]) -> None:
        ledger = self.ledger
        key, day = self._dated(event)
        completed = event.status == "completed"
        self.recent.keep(RecentRecord(*key, ENDED, event.session_id, int(completed), day), now)
        facts = ledger.fold_session(event, key, day, self.touched)
        codes: tuple[str, ...] = ()
        post = event.mood_post
        if post is not None:
            pre = facts.mood_pre
            self._crisis(crisis_reasons(post, pre, post, "mood_post"), event, effects)
            if ledger.in_trend_window(key):
                codes = ON_MOOD
        if not completed:
            # A missed session is the one event that can raise the risk sharply: re-score now.
            self.observe_risk(ledger.clock.today(now), effects, codes)
            return
        if ledger.ever.add_session(event.session_id, key):
            self._reach("completed_sessions", len(ledger.ever.ever_sessions), effects)
        self._count_active_day(day, key, effects)
        if ledger.became_active and PACE not in self.insights_on:
            codes += ON_NEW_ACTIVE_DAY
        self._after_activity(now, effects, codes)

    def _on_exercise(self, event: ExerciseCompleted, now: datetime, effects: list[Effect]) -> None:
        ledger = self.ledger
        key, day = self._dated(event)
        mindful = event.exercise.startswith(MINDFULNESS_PREFIX)
        millis = round(event.duration_s * 1000)  # integer ms: sums are exact in any order
        kind = MINDFUL_EXERCISE if mindful else EXERCISE
        self.recent.keep(RecentRecord(*key, kind, "", millis, day), now)
        ledger.fold_exercise(millis, mindful, key, day)
        self.touched[day] = None
        self._count_active_day(day, key, effects)
        # Rules that only grow with activity need no check while they already hold.
        codes: tuple[str, ...] = ()
        if ledger.became_active and PACE not in self.insights_on:
            codes = ON_NEW_ACTIVE_DAY
        if MINDFUL not in self.insights_on:
            codes += ON_MINDFULNESS
        self._after_activity(now, effects, codes)

    def _on_checkin(self, event: MoodCheckin, now: datetime, effects: list[Effect]) -> None:
        ledger = self.ledger
        key, day = self._dated(event)
        score = event.score
        self.recent.keep(RecentRecord(*key, CHECKIN, "", score, day), now)
        ledger.fold_checkin(score, key, day)
        self.touched[day] = None
        self._crisis(crisis_reasons(score, where="mood check-in"), event, effects)
        self._count_active_day(day, key, effects)
        codes: tuple[str, ...] = ON_MOOD if ledger.in_trend_window(key) else ()
        if ledger.became_active and PACE not in self.insights_on:
            codes += ON_NEW_ACTIVE_DAY
        self._after_activity(now, effects, codes)

    def _on_measure(self, event: MeasureCompleted, effects: list[Effect]) -> None:
        # Its score is the measure book's, not the ledger's: it charts on its local day.
        self.measures.add(event, effects)
        self.touched[self.ledger.clock.local_day(event.at)] = None

    def _on_marker(self, event: ProgressMarker, effects: list[Effect]) -> None:
        self.ledger.fold_marker(event, _key(event))
        if event.marker == "SKILL_ACQUIRED":
            self._reach("skills_acquired", len(self.ledger.ever.skills), effects)

    def _on_goal(self, event: GoalUpdated, effects: list[Effect]) -> None:
        self.ledger.fold_goal(event, _key(event))
        if event.status == "completed":
            self.book.reach(self.ledger, "goals_completed", effects)

    def _after_activity(self, now: datetime, effects: list[Effect], codes: tuple[str, ...]) -> None:
        # Activity only lowers the risk; re-score it only when the alert waits to re-arm.
        if not self.gate.armed:
            self.observe_risk(self.ledger.clock.today(now), effects, codes)
        elif codes:
            self._check_insights(codes, effects, Figures(self.ledger, None, now=now))

    # -- effect helpers -------------------------------------------------------------------

    def _dated(self, event: DayBearing) -> tuple[Key, int]:
        """A day-bearing event's event-time key and local day."""
        return _key(event), self.ledger.clock.local_day(event.at)

    def _reach(self, metric: Metric, value: int, effects: list[Effect]) -> None:
        """Reach the milestones of ``metric`` once its value meets the lowest unreached one."""
        if value >= self.book.next_threshold[metric]:
            self.book.reach(self.ledger, metric, effects)

    def _count_active_day(self, day: int, key: Key, effects: list[Effect]) -> None:
        """Record an ever-active day; a streak milestone when its run is long enough."""
        self._reach("streak_days", self.ledger.ever.add_day(day, key), effects)

    def _crisis(self, reasons: list[str], event: Event, effects: list[Effect]) -> None:
        """Raise a crisis alert, at once and every time, when a reported mood is one."""
        if reasons:
            detail = "; ".join(reasons)
            effects.append(AlertRaised("mood_crisis", "critical", detail, event.id, event.at))

    def observe_risk(self, today: int, effects: list[Effect], codes: tuple[str, ...]) -> None:
        """Feed the dropout score to the alert's gate, then check the insights ``codes``."""
        score = dropout_score(self.ledger, today)
        if self.gate.observe(score):
            risk = dropout_risk(self.ledger, today)  # the explanation, only when it is sent
            top = sorted(risk.factors, key=lambda factor: -factor.contribution)[:2]
            reasons = ", ".join(f"{factor.name} {factor.contribution:.2f}" for factor in top)
            detail = f"dropout risk {risk.score:.2f} (high): {reasons}"
            effects.append(AlertRaised("dropout_risk_high", "warning", detail))
        self._check_insights(codes + ON_RISK, effects, Figures(self.ledger, today, score))

    def _check_insights(self, codes: Iterable[str], effects: list[Effect], inputs: Figures) -> None:
        for code in codes:
            rule = RULES_BY_CODE[code]
            if rule.holds(inputs):
                if code not in self.insights_on:
                    self.insights_on.add(code)
                    effects.append(InsightRaised(code, rule.message))
            else:
                self.insights_on.discard(code)


def _key(event: Event) -> Key:
    """The event's event-time key."""
    return (event.at.timestamp(), event.id)
