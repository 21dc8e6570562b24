"""Which local day an instant falls on for one patient, in the zones of their history.

Nothing here reads a clock: instants are passed in.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from domain.patients import Patient, zone


class ZoneClock:
    """A patient's registration, and the local day of an instant in their zone history."""

    __slots__ = ("patient", "_current_zone", "_current_from", "_last_end")

    def __init__(self, patient: Patient) -> None:
        self.reassigned(patient)

    def reassigned(self, patient: Patient) -> None:
        """Adopt a new registration; a changed zone history needs :mod:`domain.rezone` too."""
        self.patient = patient
        self._current_zone = zone(patient.timezone)
        # From the latest zone change on (always, with one zone), instants are in the current
        # zone: most events skip the walk through the history.
        history = patient.zone_history
        self._current_from = history[-1].effective_from if len(history) > 1 else None
        # The last day_end answered, (day, end): a patient's events crowd into few days.
        self._last_end = (0, 0.0)

    def local_day(self, instant: datetime) -> int:
        """The patient's local day (ordinal) for ``instant``, in the zone they had then."""
        if self._current_from is None or instant >= self._current_from:
            return instant.astimezone(self._current_zone).toordinal()
        return self.patient.local_day(instant).toordinal()

    def today(self, now: datetime) -> int:
        """The patient's local day (ordinal) at ``now``, in their current zone."""
        return now.astimezone(self._current_zone).toordinal()

    def day_end(self, day: int) -> float:
        """The first instant (POSIX timestamp) whose local day is after ``day`` (an ordinal).

        That is the next local midnight in the zone then in force (a midnight a DST switch
        skips maps to the switch), or a zone change that jumps the calendar past ``day``.
        """
        if self._last_end[0] == day:
            return self._last_end[1]
        following = date.fromordinal(day + 1)
        if self._current_from is None:
            end = datetime.combine(following, time(), self._current_zone).timestamp()
        else:
            history = self.patient.zone_history
            candidates = [datetime.combine(following, time(), zone(c.timezone)) for c in history]
            candidates += [change.effective_from for change in history[1:]]
            end = min(c.timestamp() for c in candidates if self.local_day(c) > day)
        self._last_end = (day, end)
        return end

    def day_end_at(self, ts: float) -> float:
        """:meth:`day_end` of the local day the instant ``ts`` (a POSIX timestamp) falls on."""
        return self.day_end(self.local_day(datetime.fromtimestamp(ts, UTC)))

    def day_span_at(self, ts: float) -> tuple[float, float] | None:
        """``(start, end)`` of the local day of the instant ``ts``, when every instant between
        them falls on that day; ``None`` for a patient who moved (days may recur or jump)."""
        if self._current_from is not None:
            return None
        day = self.local_day(datetime.fromtimestamp(ts, UTC))
        return (self.day_end(day - 1), self.day_end(day))

    def unsettled(self, day: int) -> bool:
        """Whether a move makes local day ``day`` one no cut in time can score as it stood.

        True for a day that recurs after a later one (a move back across the date line), and
        for a day ending within ``MOVE_UNSETTLED_S`` after a move: a tracker re-dates such days'
        recent events when the move reaches it, but what it dropped or noted under the old day
        boundaries (domain.readings, domain.superseded) it cannot re-derive.
        """
        if self._current_from is None:
            return False
        end = self.day_end(day)
        history = self.patient.zone_history
        moved = history[0].effective_from
        for change in history[1:]:
            # A change dated before an earlier one takes effect only with it (Patient.zone_at).
            moved = max(moved, change.effective_from)
            if moved.timestamp() < end <= moved.timestamp() + MOVE_UNSETTLED_S:
                return True
            before = self.patient.local_day(moved - _TICK).toordinal()
            if self.local_day(moved) <= day < before:
                return True
        return False


_TICK = timedelta(microseconds=1)
MOVE_UNSETTLED_S = 7 * 86400.0
"""A zone change re-dates events up to 48 h before it (domain.rezone) and after it within the
clock-skew allowance; their readings were kept by days of up to 50 h: a week covers them all."""
