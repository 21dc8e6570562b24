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
- *ever* facts, used by milestones, only grow: a session once reported completed, a day once
  active, a skill once acquired. Milestones are never taken back, so they are computed from
  facts that never shrink, which keeps them monotone and order-independent.

Folding is O(log n) per event at worst (sorted indexes use ``bisect``); nothing derived is
recomputed here. :mod:`domain.figures` and friends derive figures lazily from these facts.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from datetime import datetime
from typing import Any, Final

from domain.days import DAY_S, QUARTER_HOUR_S, DayBucket, local_span, month_key, timestamp
from domain.events import (
    ActionItemUpdated,
    GoalUpdated,
    ProgressMarker,
    SessionEnded,
    SessionScheduled,
    SessionStarted,
)
from domain.patients import Patient, zone
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


class Ledger:
    """The fact store behind :class:`~domain.progress.PatientProgress`.

    Attributes are read by the figure functions; only the ``fold_*`` methods change them.
    """

    __slots__ = (
        "patient",
        "_zone",
        "_today_zone",
        "_current_from",
        "_today_for",
        "_today_day",
        "_span_start",
        "_span_length",
        "_span_ordinal",
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
        "ever_sessions",
        "ever_days",
        "run_end",
        "run_start",
        "_run_open",
        "_open_start",
        "_open_end",
        "_last_ever_day",
        "longest_ever_run",
        "skills",
        "ever_goals",
    )

    def __init__(self, patient: Patient) -> None:
        self._today_for: datetime | None = None
        self._today_day = 0
        self._span_start: float = 0.0
        self._span_length: float = 0.0
        self._span_ordinal: int = 0
        self._adopt_zones(patient)
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
        # Ever facts (only grow), for milestones.
        self.ever_sessions: dict[str, Key] = {}
        self.ever_days: dict[int, Key] = {}
        self.run_end: dict[int, int] = {}  # run start -> run end
        self.run_start: dict[int, int] = {}  # run end -> run start
        # The latest run is kept out of run_end/run_start, open, in fields: live days arrive
        # in order and extend it (see add_ever_day); ``runs()`` gives every run.
        self._run_open = False
        self._open_start = 0
        self._open_end = 0
        self._last_ever_day = 0  # the latest ever-active day (0: none yet)
        self.longest_ever_run = 0
        self.skills: list[Key] = []
        self.ever_goals: dict[str, Key] = {}

    # -- time ----------------------------------------------------------------------------

    def local_day(self, instant: datetime) -> int:
        """The patient's local day (ordinal) for ``instant``, in the zone they had then."""
        if self._zone is not None:
            return instant.astimezone(self._zone).toordinal()
        if self._current_from is not None and instant >= self._current_from:
            return instant.astimezone(self._today_zone).toordinal()
        return self.patient.local_day(instant).toordinal()

    def event_day(self, instant: datetime, ts: float) -> int:
        """``local_day(instant)``, where ``ts`` is ``instant.timestamp()``.

        A patient's events mostly fall within days of the one before: the span of local days
        with one UTC offset from the last conversion on (``domain.days.local_span``) is
        remembered (its first UTC instant and ordinal), and an instant inside it is dated by
        arithmetic.
        """
        since = ts - self._span_start
        if 0.0 < since < self._span_length:
            days = int(since // DAY_S)
            into = since - days * DAY_S
            # Within a millisecond of a midnight, float rounding could pick the wrong side.
            if 0.001 < into < DAY_S - 0.001:
                return self._span_ordinal + days
        zone = self._zone
        if zone is None:  # more than one zone in the history: no shortcut
            return self.local_day(instant)
        day, self._span_start, self._span_length = local_span(zone, instant, ts)
        self._span_ordinal = day
        return day

    def today(self, now: datetime) -> int:
        """The patient's local day (ordinal) at ``now``, in their current zone."""
        if now is self._today_for:
            return self._today_day
        day = now.astimezone(self._today_zone).toordinal()
        self._today_for, self._today_day = now, day
        return day

    def _adopt_zones(self, patient: Patient) -> None:
        self.patient = patient
        history = patient.zone_history
        # One zone (the usual case) skips the zone-history walk on the hot path.
        self._zone = zone(patient.timezone) if len(history) <= 1 else None
        self._today_zone = zone(patient.timezone)
        # From the latest zone change on, every instant is in the current zone.
        self._current_from = history[-1].effective_from if history else None
        # The hub applies a whole batch with one ``now``: remember the last answer.
        self._today_for = None
        self._today_day = 0
        self._span_start = self._span_length = 0.0  # see event_day
        self._span_ordinal = 0

    def reassigned(self, patient: Patient) -> None:
        """Adopt a new registration; a changed zone history needs :mod:`domain.rezone` too."""
        self._adopt_zones(patient)

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

    # -- ever facts (milestones) ---------------------------------------------------------

    def add_ever_day(self, day: int, key: Key) -> int:
        """Record that ``day`` was active; returns the length of its run if the day is new."""
        first = self.ever_days.get(day)
        if first is not None:
            if key < first:
                self.ever_days[day] = key
            return 0
        self.ever_days[day] = key
        if self._run_open and day > self._open_end:
            # The usual case, a day after every other: no run can follow it.
            if day == self._open_end + 1:
                self._open_end = day
            else:
                self._close_run()
                self._run_open = True
                self._open_start = self._open_end = day
            self._last_ever_day = day
            length = day - self._open_start + 1
        else:
            length = self._merge_day(day)
        if length > self.longest_ever_run:
            self.longest_ever_run = length
        return length

    def _merge_day(self, day: int) -> int:
        """Join a new ever-active day to its neighbours' runs in the maps; its run's length."""
        self._close_run()
        if day > self._last_ever_day:
            self._last_ever_day = day
        # get and del, not pop(key, default): compiled code calls pop by name.
        run_start, run_end = self.run_start, self.run_end
        start = run_start.get(day - 1)  # a run ending the day before
        if start is None:
            start = day
        else:
            del run_start[day - 1]
            del run_end[start]
        end = run_end.get(day + 1)  # a run starting the day after
        if end is None:
            end = day
        else:
            del run_end[day + 1]
            del run_start[end]
        if end == self._last_ever_day:  # the latest run: keep it open
            self._run_open = True
            self._open_start, self._open_end = start, end
        else:
            run_end[start] = end
            run_start[end] = start
        return end - start + 1

    def _close_run(self) -> None:
        if self._run_open:
            self.run_end[self._open_start] = self._open_end
            self.run_start[self._open_end] = self._open_start
            self._run_open = False

    def runs(self) -> tuple[dict[int, int], dict[int, int]]:
        """Every run of consecutive ever-active days: copies of (start -> end, end -> start)."""
        ends, starts = dict(self.run_end), dict(self.run_start)
        if self._run_open:
            ends[self._open_start] = self._open_end
            starts[self._open_end] = self._open_start
        return ends, starts

    def restore_runs(self, ends: dict[int, int], starts: dict[int, int]) -> None:
        """Adopt saved runs (``runs()``'s output) for the ever-active days already set."""
        self.run_end, self.run_start = dict(ends), dict(starts)
        self._run_open = False
        self._last_ever_day = max(self.ever_days, default=0)

    def add_ever_session(self, session_id: str, key: Key) -> bool:
        """Record a completion report; True when the session is newly known as completed."""
        first = self.ever_sessions.get(session_id)
        if first is None:
            self.ever_sessions[session_id] = key
            return True
        if key < first:
            self.ever_sessions[session_id] = key
        return False

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

    def fold_scheduled(self, event: SessionScheduled, key: Key) -> list[int]:
        """A session was planned; touches no day bucket."""
        facts = self._session(event.session_id)
        if facts.scheduled_key is None or key > facts.scheduled_key:
            facts.scheduled_key = key
            facts.scheduled_for = timestamp(event.scheduled_for)
        self._refresh_upcoming(event.session_id, facts)
        return []

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
        self, event: SessionStarted, session_id: str, key: Key, day: int, touched: dict[int, None]
    ) -> SessionFacts:
        """A session began (perhaps with a pre-session mood); marks the days it touched.

        Returns the session's facts after the fold (``session_id`` is ``event.session_id``).
        """
        facts = self._session(session_id)
        if facts.started_key is not None:
            if key < facts.started_key:
                return facts
            touched[facts.started_day] = None
        self._started(facts, -1)
        self._pair(facts, -1)
        facts.started_key, facts.started_day, facts.mood_pre = key, day, event.mood_pre
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
        self, event: SessionEnded, session_id: str, key: Key, day: int, touched: dict[int, None]
    ) -> SessionFacts:
        """A session ended; marks the days whose buckets it touched.

        Returns the session's facts after the fold (``session_id`` is ``event.session_id``).
        """
        facts = self._session(session_id)
        if facts.ended_key is not None:
            if key < facts.ended_key:
                return facts
            touched[facts.ended_day] = None
        self._ended(facts, -1)
        self._pair(facts, -1)
        facts.ended_key, facts.ended_day, facts.status = key, day, event.status
        facts.duration_s, facts.mood_post, facts.topics = (
            event.duration_s,
            event.mood_post,
            event.topics,
        )
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

    def rebuild_runs(self) -> None:
        """Recompute the runs of consecutive ever-active days after days were taken back."""
        self.run_end.clear()
        self.run_start.clear()
        longest = 0
        start = previous = None
        for day in sorted(self.ever_days):
            if previous is None or day != previous + 1:
                if start is not None and previous is not None:
                    self.run_end[start], self.run_start[previous] = previous, start
                start = day
            previous = day
            if start is not None:
                longest = max(longest, day - start + 1)
        if start is not None and previous is not None:
            self.run_end[start], self.run_start[previous] = previous, start
        self.longest_ever_run = longest
        self._run_open = False
        self._last_ever_day = max(self.ever_days, default=0)
