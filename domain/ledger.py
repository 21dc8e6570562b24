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
- *ever* facts (:mod:`domain.everfacts`), used by milestones, only grow: a session once
  reported completed, a day once active, a skill once acquired. Milestones are never taken
  back, so they are computed from facts that never shrink, which keeps them monotone and
  order-independent.

Folding is O(log n) per event at worst (sorted indexes use ``bisect``); nothing derived is
recomputed here. :mod:`domain.figures` and friends derive figures lazily from these facts.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from datetime import datetime
from typing import Any, Final

from domain.days import QUARTER_HOUR_S, DayBucket, month_key, timestamp
from domain.events import (
    ActionItemUpdated,
    GoalUpdated,
    ProgressMarker,
    SessionEnded,
)
from domain.everfacts import EverFacts
from domain.patients import Patient
from domain.sessions import Key, SessionFacts

MINDFULNESS_PREFIX: Final = "mindfulness/"
TREND_WINDOW: Final = 6
"""The mood trend compares the mean of the last 6 readings with the 6 before."""


def to_millis(seconds: float) -> int:
    """Durations are summed as integer milliseconds so that any order gives the same total.

    Exactly ``round(seconds * 1000)`` (halves to even), spelled out: compiled code calls the
    ``round`` builtin through a module lookup, a third of an exercise's fold.
    """
    scaled = seconds * 1000
    if scaled < 0:
        return -to_millis(-seconds)
    whole = int(scaled)
    rest = scaled - whole  # exact: whole is scaled's integer part
    if rest > 0.5 or (rest == 0.5 and whole % 2 == 1):
        whole += 1
    return whole


def _insert(index: list[Any], item: Any) -> None:
    """``insort`` with a fast path: live events arrive in order and land at the end.

    Comparing tuples costs a few dozen nanoseconds each; one comparison instead of a binary
    search over a long index is most of an event's indexing cost.
    """
    if not index or item >= index[-1]:
        index.append(item)
    else:
        insort(index, item)


def _insert_day(days: list[int], day: int) -> None:
    """``_insert`` for day ordinals, compared as machine ints in compiled code."""
    if not days or day >= days[-1]:
        days.append(day)
    else:
        insort(days, day)


def _remove(index: list[tuple[float, str, float]], item: tuple[float, str, float]) -> None:
    del index[bisect_left(index, item)]


class Ledger(EverFacts):
    """The fact store behind :class:`~domain.progress.PatientProgress`.

    Attributes are read by the figure functions; only the ``fold_*`` methods change them. The
    zone handling (:class:`~domain.zoneclock.ZoneClock`) and the ever facts
    (:class:`~domain.everfacts.EverFacts`) are its bases, in a chain: compiled classes have one
    native base.
    """

    __slots__ = (
        "version",
        "became_active",
        "sessions",
        "days",
        "active_days",
        "last_activity_qh",
        "activity_qh",
        "completed_days",
        "ended_order",
        "completed_order",
        "reading_keys",
        "reading_scores",
        "mindful_days",
        "months",
        "by_status",
        "completed_ms",
        "change_sum",
        "change_n",
        "exercises",
        "exercise_ms",
        "markers",
        "topics",
        "goals",
        "items",
        "upcoming",
    )

    def __init__(self, patient: Patient) -> None:
        super().__init__(patient)
        self.version = 0
        self.became_active = False
        self.sessions: dict[str, SessionFacts] = {}
        self.days: dict[int, DayBucket] = {}
        self.active_days: list[int] = []  # sorted distinct days with current activity
        self.last_activity_qh: int | None = None  # latest quarter-hour with activity
        self.activity_qh: dict[int, int] = {}  # UTC quarter-hour -> activity count
        self.completed_days: list[int] = []  # sorted, one entry per completed session
        self.ended_order: list[tuple[float, str, float]] = []  # (ts, id, 1.0 if missed)
        self.completed_order: list[tuple[float, str, float]] = []  # (ts, id, duration_s)
        # Every pre, post and check-in mood in event-time order, as parallel lists so the trend
        # can sum a tail slice of plain ints.
        self.reading_keys: list[Key] = []
        self.reading_scores: list[int] = []
        self.mindful_days: list[int] = []  # sorted, one entry per mindfulness exercise

        # month -> [pre_sum, pre_n, post_sum, post_n]; the same lists hang off each DayBucket
        self.months: dict[int, list[int]] = {}
        self.by_status = {"completed": 0, "cancelled": 0, "no_show": 0}
        self.completed_ms = 0  # integer ms: sums are exact in any order
        self.change_sum = 0
        self.change_n = 0
        self.exercises = 0
        self.exercise_ms = 0
        self.markers = {"SKILL_ACQUIRED": 0, "INSIGHT_GAINED": 0, "GOAL_PROGRESS": 0}
        self.markers["BREAKTHROUGH"] = 0
        self.topics: dict[str, int] = {}
        self.goals: dict[str, tuple[Key, str]] = {}
        self.items: dict[str, tuple[Key, str]] = {}
        self.upcoming: dict[str, float] = {}  # session -> scheduled_for timestamp

    def _day(self, day: int) -> DayBucket:
        bucket = self.days.get(day)
        return bucket if bucket is not None else self._new_day(day)

    def _new_day(self, day: int) -> DayBucket:
        month = month_key(day)
        sums = self.months.get(month)
        if sums is None:
            sums = self.months[month] = [0, 0, 0, 0]
        bucket = self.days[day] = DayBucket(sums)
        return bucket

    def in_trend_window(self, key: Key) -> bool:
        """Whether a mood reading keyed ``key`` is among the latest ones the trend reads.

        A reading further back moves no reading in or out of the trend's two windows.
        """
        keys = self.reading_keys
        if keys and keys[-1] is key:  # the reading just added, in order: the usual case
            return True
        span = 2 * TREND_WINDOW
        return len(keys) <= span or keys[-span] <= key

    def _add_reading(self, key: Key, score: int) -> None:
        keys = self.reading_keys
        if not keys or key > keys[-1]:  # live events arrive in order: skip the search
            keys.append(key)
            self.reading_scores.append(score)
            return
        index = bisect_left(keys, key)
        keys.insert(index, key)
        self.reading_scores.insert(index, score)

    def _remove_reading(self, key: Key) -> None:
        index = bisect_left(self.reading_keys, key)
        del self.reading_keys[index]
        del self.reading_scores[index]

    # -- current activity ----------------------------------------------------------------

    def _add_activity(self, ts: float, day: int, millis: int) -> DayBucket:
        bucket = self.days.get(day)
        if bucket is None:
            bucket = self._new_day(day)
        bucket.activity += 1
        bucket.millis += millis
        if bucket.activity == 1:
            _insert_day(self.active_days, day)
            self.became_active = True
        qh = int(ts // QUARTER_HOUR_S)
        quarters = self.activity_qh
        quarters[qh] = quarters.get(qh, 0) + 1
        if self.last_activity_qh is None or qh > self.last_activity_qh:
            self.last_activity_qh = qh
        return bucket

    def _remove_activity(self, ts: float, day: int, millis: int) -> DayBucket:
        bucket = self.days[day]
        bucket.activity -= 1
        bucket.millis -= millis
        if bucket.activity == 0:
            del self.active_days[bisect_left(self.active_days, day)]
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
        elif session_id in self.upcoming:
            del self.upcoming[session_id]

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
            facts.scheduled_for = timestamp(scheduled_for)
        self._refresh_upcoming(session_id, facts)

    def _started(self, facts: SessionFacts, sign: int) -> None:
        score, key = facts.mood_pre, facts.started_key
        if score is None or key is None:
            return
        bucket = self._day(facts.started_day)
        bucket.pre_sum += sign * score
        bucket.pre_n += sign
        bucket.month[0] += sign * score
        bucket.month[1] += sign
        if sign > 0:
            self._add_reading(key, score)
        else:
            self._remove_reading(key)

    def fold_started(
        self, session_id: str, key: Key, day: int, mood_pre: int | None, touched: dict[int, None]
    ) -> SessionFacts:
        """A session began (perhaps with a pre-session mood); marks the days it touched.

        The fields come from the caller, which read them off the event once. Returns the
        session's facts after the fold.
        """
        facts = self._session(session_id)
        if facts.started_key is not None:
            if key < facts.started_key:
                return facts
            touched[facts.started_day] = None
        self._started(facts, -1)
        self._pair(facts, -1)
        facts.started_key, facts.started_day, facts.mood_pre = key, day, mood_pre
        self._started(facts, 1)
        self._pair(facts, 1)
        self._refresh_upcoming(session_id, facts)
        touched[day] = None
        return facts

    def redate_started(self, facts: SessionFacts, day: int) -> None:
        """Move the winning start to another local day (its zone changed)."""
        self._started(facts, -1)
        facts.started_day = day
        self._started(facts, 1)

    def _ended(self, facts: SessionFacts, sign: int) -> None:
        key = facts.ended_key
        if key is None:
            return
        ts, day, status = key[0], facts.ended_day, facts.status
        self.by_status[status] += sign
        missed = (ts, key[1], 0.0 if status == "completed" else 1.0)
        if sign > 0:
            _insert(self.ended_order, missed)
        else:
            _remove(self.ended_order, missed)
        if status == "completed":
            millis = to_millis(facts.duration_s)
            if sign > 0:
                bucket = self._add_activity(ts, day, millis)
                _insert_day(self.completed_days, day)
                _insert(self.completed_order, (ts, key[1], facts.duration_s))
            else:
                bucket = self._remove_activity(ts, day, millis)
                del self.completed_days[bisect_left(self.completed_days, day)]
                _remove(self.completed_order, (ts, key[1], facts.duration_s))
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
            bucket = self._day(day)
            bucket.post_sum += sign * post
            bucket.post_n += sign
            bucket.month[2] += sign * post
            bucket.month[3] += sign
            if sign > 0:
                self._add_reading(key, post)
            else:
                self._remove_reading(key)

    def fold_ended(
        self,
        session_id: str,
        key: Key,
        day: int,
        status: str,
        mood_post: int | None,
        ended: SessionEnded,
        touched: dict[int, None],
    ) -> SessionFacts:
        """A session ended; marks the days whose buckets it touched.

        ``status`` and ``mood_post`` are ``ended``'s, read once by the caller. Returns the
        session's facts after the fold.
        """
        facts = self._session(session_id)
        if facts.ended_key is not None:
            if key < facts.ended_key:
                return facts
            touched[facts.ended_day] = None
        self._ended(facts, -1)
        self._pair(facts, -1)
        facts.ended_key, facts.ended_day, facts.status = key, day, status
        facts.duration_s, facts.mood_post, facts.topics = ended.duration_s, mood_post, ended.topics
        self._ended(facts, 1)
        self._pair(facts, 1)
        self._refresh_upcoming(session_id, facts)
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
            _insert_day(self.mindful_days, day)

    def fold_checkin(self, score: int, key: Key, day: int) -> None:
        """A mood check-in: an active day and a mood reading."""
        bucket = self._add_activity(key[0], day, 0)
        bucket.checkin_sum += score
        bucket.checkin_n += 1
        self._add_reading(key, score)

    def fold_marker(self, event: ProgressMarker, key: Key) -> None:
        """A progress marker; ``SKILL_ACQUIRED`` ones count toward skill milestones."""
        self.markers[event.marker] += 1
        if event.marker == "SKILL_ACQUIRED":
            self.skills.append(key)

    def fold_goal(self, event: GoalUpdated, key: Key) -> None:
        """The latest update of each goal (by event time) gives its status."""
        current = self.goals.get(event.goal_id)
        if current is None or key > current[0]:
            self.goals[event.goal_id] = (key, event.status)
        if event.status == "completed":
            first = self.ever_goals.get(event.goal_id)
            if first is None or key < first:
                self.ever_goals[event.goal_id] = key

    def fold_item(self, event: ActionItemUpdated, key: Key) -> None:
        """The latest update of each action item (by event time) gives its status."""
        current = self.items.get(event.item_id)
        if current is None or key > current[0]:
            self.items[event.item_id] = (key, event.status)

    # -- a zone change moves a few facts to other days (see domain.rezone) -------------------

    def redate_exercise(self, ts: float, millis: int, mindful: bool, old: int, new: int) -> None:
        """Move one exercise's contribution from local day ``old`` to ``new``."""
        bucket = self._remove_activity(ts, old, millis)
        if mindful:
            bucket.mindfulness -= 1
            del self.mindful_days[bisect_left(self.mindful_days, old)]
        bucket = self._add_activity(ts, new, millis)
        if mindful:
            bucket.mindfulness += 1
            _insert_day(self.mindful_days, new)

    def redate_checkin(self, ts: float, score: int, old: int, new: int) -> None:
        """Move one check-in's contribution from local day ``old`` to ``new``."""
        bucket = self._remove_activity(ts, old, 0)
        bucket.checkin_sum -= score
        bucket.checkin_n -= 1
        bucket = self._add_activity(ts, new, 0)
        bucket.checkin_sum += score
        bucket.checkin_n += 1
