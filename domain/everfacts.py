"""The facts milestones are computed from: they only grow, so milestones are never taken back.

:class:`EverFacts` is the milestone half of :class:`~domain.ledger.Ledger` (its base): a session
once reported completed, a day once active (and the runs of consecutive such days), a skill
once acquired, a goal once completed. No later event removes one, which keeps milestones
monotone and order-independent.
"""

from __future__ import annotations

from domain.patients import Patient
from domain.sessions import Key
from domain.zoneclock import ZoneClock


class EverFacts(ZoneClock):
    """The ever facts of one patient; the ledger's folds add to them."""

    __slots__ = (
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
        super().__init__(patient)
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
