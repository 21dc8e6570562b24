"""The facts one patient's events established, kept so that arrival order never matters.

Theory of operation
-------------------
Events arrive late, out of order and twice. The ledger therefore keeps *facts*, each keyed so
that folding the same events in any order leaves the same facts behind:

- every event carries an event-time key ``(at as a POSIX timestamp, event id)``; when two
  events claim the same thing (two ``session_ended`` for one session, two updates of one goal)
  the larger key wins, so the winner never depends on arrival order;
- a winner's contribution to the sums (day buckets, months, status counts, sorted indexes) is
  added when it wins and withdrawn exactly when a later-keyed event supersedes it;
- *ever* facts (:class:`~domain.everfacts.EverFacts`, the ledger's ``ever``), used by
  milestones, only grow: a session once reported completed, a day once active, a skill once
  acquired. Milestones are never taken back, so they are computed from facts that never
  shrink, which keeps them monotone and order-independent.

Local days come from the ledger's :class:`~domain.zoneclock.ZoneClock` (``clock``).

Folding is O(log n) per event at worst (sorted indexes use ``bisect``); nothing derived is
recomputed here. :mod:`domain.figures` and friends derive figures lazily from these facts.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from domain import readings, superseded
from domain.days import QUARTER_HOUR_S, DayBucket, month_key
from domain.events import (
    ActionItemUpdated,
    GoalUpdated,
    ProgressMarker,
    SessionEnded,
    SessionStarted,
)
from domain.everfacts import EverFacts
from domain.patients import Patient
from domain.sessions import Key, SessionFacts
from domain.zoneclock import ZoneClock

MINDFULNESS_PREFIX: Final = "mindfulness/"
TREND_WINDOW: Final = readings.TREND_WINDOW


def _remove(index: list[Any], item: object) -> None:
    """Remove ``item`` from the sorted ``index``."""
    del index[bisect_left(index, item)]


def _supersedes(
    key: Key,
    held: Key | None,
    held_day: int,
    touched: dict[int, None],
    spans: list[tuple[float, float]],
) -> bool:
    """Whether a start or end at ``key`` replaces the one held (the later one wins, a replay of
    the same one folds again); the replaced one's day is then touched too. Either way the older
    one's time in force is noted in ``spans`` (see :mod:`domain.superseded`)."""
    if held is None:
        return True
    superseded.note(spans, key, held)
    if key < held:
        return False
    touched[held_day] = None
    return True


def _status_counts() -> dict[str, int]:
    return {"completed": 0, "cancelled": 0, "no_show": 0}


def _marker_count() -> dict[str, int]:
    return {"SKILL_ACQUIRED": 0, "INSIGHT_GAINED": 0, "GOAL_PROGRESS": 0, "BREAKTHROUGH": 0}


@dataclass(slots=True, eq=False)
class Ledger:
    """The fact store behind :class:`~domain.progress.PatientProgress`.

    Attributes are read by the figure functions; only the ``fold_*`` and ``redate_*`` methods
    change them.
    """

    clock: ZoneClock
    ever: EverFacts = field(default_factory=EverFacts)
    version: int = 0  # bumped by every fold: caches of derived figures compare it
    became_active: bool = False  # whether the event being folded added activity to a day
    sessions: dict[str, SessionFacts] = field(default_factory=dict)
    days: dict[int, DayBucket] = field(default_factory=dict)
    # month -> [pre_sum, pre_n, post_sum, post_n]; the same lists hang off each DayBucket
    months: dict[int, list[int]] = field(default_factory=dict)
    active_days: list[int] = field(default_factory=list)  # sorted days with current activity
    last_activity_qh: int | None = None  # latest quarter-hour with activity
    activity_qh: dict[int, int] = field(default_factory=dict)  # UTC quarter-hour -> count
    completed_days: list[int] = field(default_factory=list)  # sorted, one per completed session
    ended_order: list[tuple[float, str, float]] = field(default_factory=list)  # 1.0 if missed
    completed_order: list[tuple[float, str, float]] = field(default_factory=list)  # duration_s
    # The pre, post and check-in moods a rule may still read (see domain.readings), in
    # event-time order, as parallel lists so the trend can sum a tail slice of plain ints.
    reading_keys: list[Key] = field(default_factory=list)
    reading_scores: list[int] = field(default_factory=list)
    # The kept check-in keys, sorted; derived on restore, never saved.
    recent_checkins: list[Key] = field(default_factory=list)
    mindful_days: list[int] = field(default_factory=list)  # sorted, one per mindful exercise
    # Sorted disjoint (from, to) timestamps while a claim later superseded was in force.
    superseded_spans: list[tuple[float, float]] = field(default_factory=list)
    by_status: dict[str, int] = field(default_factory=_status_counts)
    completed_ms: int = 0  # integer ms: sums are exact in any order
    change_sum: int = 0
    change_n: int = 0
    exercises: int = 0
    exercise_ms: int = 0
    markers: dict[str, int] = field(default_factory=_marker_count)
    topics: dict[str, int] = field(default_factory=dict)
    goals: dict[str, tuple[Key, str]] = field(default_factory=dict)
    items: dict[str, tuple[Key, str]] = field(default_factory=dict)
    upcoming: dict[str, float] = field(default_factory=dict)  # session -> scheduled_for

    @property
    def patient(self) -> Patient:
        """The patient's current registration."""
        return self.clock.patient

    def _day(self, day: int) -> DayBucket:
        bucket = self.days.get(day)
        if bucket is None:
            month = self.months.setdefault(month_key(day), [0, 0, 0, 0])
            bucket = self.days[day] = DayBucket(month)
        return bucket

    # -- mood readings -----------------------------------------------------------------------

    def in_trend_window(self, key: Key) -> bool:
        """Whether a mood reading keyed ``key`` is among the latest ones the trend reads.

        A reading further back moves no reading in or out of the trend's two windows.
        """
        keys = self.reading_keys
        span = 2 * TREND_WINDOW
        return len(keys) <= span or keys[-span] <= key

    def _add_reading(self, key: Key, score: int, day: int) -> None:
        readings.add(self, key, score, self.clock.day_end(day))

    def _remove_reading(self, key: Key) -> None:
        readings.remove(self.reading_keys, self.reading_scores, key)

    def _add_checkin_reading(self, key: Key, score: int) -> None:
        readings.add_checkin(self, key, score, self.clock)

    def restore_readings(self) -> None:
        """Rebuild ``recent_checkins`` after a restore."""
        self.recent_checkins = readings.restored(self.reading_keys, self.sessions.values())

    # -- current activity ----------------------------------------------------------------

    def _add_activity(self, ts: float, day: int, millis: int) -> DayBucket:
        bucket = self._day(day)
        bucket.activity += 1
        bucket.millis += millis
        if bucket.activity == 1:
            insort(self.active_days, day)
            self.became_active = True
        qh = int(ts // QUARTER_HOUR_S)
        self.activity_qh[qh] = self.activity_qh.get(qh, 0) + 1
        if self.last_activity_qh is None or qh > self.last_activity_qh:
            self.last_activity_qh = qh
        return bucket

    def _remove_activity(self, ts: float, day: int, millis: int) -> DayBucket:
        bucket = self.days[day]
        bucket.activity -= 1
        bucket.millis -= millis
        if bucket.activity == 0:
            _remove(self.active_days, day)
        qh = int(ts // QUARTER_HOUR_S)
        left = self.activity_qh[qh] - 1
        if left:
            self.activity_qh[qh] = left
        else:
            del self.activity_qh[qh]
            if qh == self.last_activity_qh:  # rare: a correction withdrew the latest activity
                self.last_activity_qh = max(self.activity_qh, default=None)
        return bucket

    # -- sessions --------------------------------------------------------------------------

    def _session(self, session_id: str) -> SessionFacts:
        facts = self.sessions.get(session_id)
        if facts is None:
            facts = self.sessions[session_id] = SessionFacts()
        return facts

    def _refresh_upcoming(self, session_id: str, facts: SessionFacts) -> None:
        if (
            facts.scheduled_key is not None
            and facts.started_key is None
            and facts.ended_key is None
        ):
            self.upcoming[session_id] = facts.scheduled_for
        else:
            self.upcoming.pop(session_id, None)

    def _recount(
        self, facts: SessionFacts, fold: Callable[[SessionFacts, int], None], sign: int
    ) -> None:
        """Count a session's start or end (``fold``) and its pairing in (1) or out (-1): out
        before a newer start or end replaces the facts, in after."""
        fold(facts, sign)
        self._pair(facts, sign)

    def _pair(self, facts: SessionFacts, sign: int) -> None:
        change = facts.mood_change()
        if change is not None:
            self.change_sum += sign * change
            self.change_n += sign

    def fold_scheduled(self, session_id: str, key: Key, scheduled_for: datetime) -> None:
        """A session was planned; touches no day bucket."""
        facts = self._session(session_id)
        if facts.scheduled_key is None or key > facts.scheduled_key:
            facts.scheduled_key = key
            facts.scheduled_for = scheduled_for.timestamp()
        self._refresh_upcoming(session_id, facts)

    def _started(self, facts: SessionFacts, sign: int) -> None:
        score, key = facts.mood_pre, facts.started_key
        if score is not None and key is not None:
            self._count_mood(key, facts.started_day, score, sign, before=True)

    def _count_mood(self, key: Key, day: int, score: int, sign: int, *, before: bool) -> None:
        """Count a session's mood, taken ``before`` it or after, in (``sign`` 1) or out (-1) of
        its day, its month and the mood readings."""
        bucket = self._day(day)
        if before:
            bucket.pre_sum += sign * score
            bucket.pre_n += sign
        else:
            bucket.post_sum += sign * score
            bucket.post_n += sign
        month = 0 if before else 2  # DayBucket.month is [pre_sum, pre_n, post_sum, post_n]
        bucket.month[month] += sign * score
        bucket.month[month + 1] += sign
        if sign > 0:
            self._add_reading(key, score, day)
        else:
            self._remove_reading(key)

    def redate_started(self, facts: SessionFacts, day: int) -> None:
        """Move the winning start to another local day (its zone changed)."""
        self._started(facts, -1)
        facts.started_day = day
        self._started(facts, 1)

    def _ended(self, facts: SessionFacts, sign: int) -> None:
        key = facts.ended_key
        if key is None:
            return
        (ts, event_id), day, status = key, facts.ended_day, facts.status
        self.by_status[status] += sign
        missed = (ts, event_id, 0.0 if status == "completed" else 1.0)
        if sign > 0:
            insort(self.ended_order, missed)
        else:
            _remove(self.ended_order, missed)
        if status == "completed":
            millis = round(facts.duration_s * 1000)
            completed = (ts, event_id, facts.duration_s)
            if sign > 0:
                bucket = self._add_activity(ts, day, millis)
                insort(self.completed_days, day)
                insort(self.completed_order, completed)
            else:
                bucket = self._remove_activity(ts, day, millis)
                _remove(self.completed_days, day)
                _remove(self.completed_order, completed)
            bucket.sessions += sign
            self.completed_ms += sign * millis
            for topic in facts.topics:
                count = self.topics.get(topic, 0) + sign
                if count:
                    self.topics[topic] = count
                else:
                    del self.topics[topic]
        post = facts.mood_post
        if post is not None:
            self._count_mood(key, day, post, sign, before=False)

    def fold_session(
        self, event: SessionStarted | SessionEnded, key: Key, day: int, touched: dict[int, None]
    ) -> SessionFacts:
        """A session began (perhaps with a pre-session mood) or ended: the later start, and the
        later end, win. Marks the days whose buckets it touched.

        Returns the session's facts after the fold.
        """
        facts = self._session(event.session_id)
        if isinstance(event, SessionStarted):
            if not _supersedes(
                key, facts.started_key, facts.started_day, touched, self.superseded_spans
            ):
                return facts
            self._recount(facts, self._started, -1)
            facts.started_key, facts.started_day, facts.mood_pre = key, day, event.mood_pre
            self._recount(facts, self._started, 1)
        else:
            if not _supersedes(
                key, facts.ended_key, facts.ended_day, touched, self.superseded_spans
            ):
                return facts
            self._recount(facts, self._ended, -1)
            facts.ended_key, facts.ended_day, facts.status = key, day, event.status
            facts.duration_s, facts.mood_post, facts.topics = (
                event.duration_s,
                event.mood_post,
                event.topics,
            )
            self._recount(facts, self._ended, 1)
        self._refresh_upcoming(event.session_id, facts)
        touched[day] = None
        return facts

    def redate_ended(self, facts: SessionFacts, day: int) -> None:
        """Move the winning end to another local day (its zone changed)."""
        self._ended(facts, -1)
        facts.ended_day = day
        self._ended(facts, 1)

    # -- other kinds -----------------------------------------------------------------------

    def fold_exercise(self, millis: int, mindful: bool, key: Key, day: int) -> None:
        """An exercise of ``millis`` ms was completed: an active day and minutes."""
        bucket = self._add_activity(key[0], day, millis)
        self.exercises += 1
        self.exercise_ms += millis
        if mindful:
            bucket.mindfulness += 1
            insort(self.mindful_days, day)

    def fold_checkin(self, score: int, key: Key, day: int) -> None:
        """A mood check-in: an active day and a mood reading."""
        bucket = self._add_activity(key[0], day, 0)
        bucket.checkin_sum += score
        bucket.checkin_n += 1
        self._add_checkin_reading(key, score)

    def fold_marker(self, marker: ProgressMarker, key: Key) -> None:
        """A progress marker; ``SKILL_ACQUIRED`` ones count toward skill milestones."""
        self.markers[marker.marker] += 1
        if marker.marker == "SKILL_ACQUIRED":
            self.ever.skills.append(key)

    def fold_goal(self, update: GoalUpdated, key: Key) -> None:
        """The latest update of each goal (by event time) gives its status."""
        current = self.goals.get(update.goal_id)
        if current is None or key > current[0]:
            self.goals[update.goal_id] = (key, update.status)
        if update.status == "completed":
            self.ever.add_goal(update.goal_id, key)

    def fold_item(self, update: ActionItemUpdated, key: Key) -> None:
        """The latest update of each action item (by event time) gives its status."""
        current = self.items.get(update.item_id)
        if current is None or key > current[0]:
            self.items[update.item_id] = (key, update.status)

    # -- a zone change moves a few facts to other days (see domain.rezone) -------------------

    def redate_exercise(self, ts: float, millis: int, mindful: bool, old: int, new: int) -> None:
        """Move one exercise's contribution from local day ``old`` to ``new``."""
        bucket = self._remove_activity(ts, old, millis)
        if mindful:
            bucket.mindfulness -= 1
            _remove(self.mindful_days, old)
        bucket = self._add_activity(ts, new, millis)
        if mindful:
            bucket.mindfulness += 1
            insort(self.mindful_days, new)

    def redate_checkin(self, ts: float, score: int, old: int, new: int) -> None:
        """Move one check-in's contribution from local day ``old`` to ``new``."""
        bucket = self._remove_activity(ts, old, 0)
        bucket.checkin_sum -= score
        bucket.checkin_n -= 1
        bucket = self._add_activity(ts, new, 0)
        bucket.checkin_sum += score
        bucket.checkin_n += 1
