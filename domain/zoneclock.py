"""Which local day an instant falls on for one patient, in the zones of their history.

Nothing here reads a clock: instants are passed in.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from domain.patients import Patient, zone


class ZoneClock:
    """A patient's registration, and the local day of an instant in their zone history."""

    __slots__ = ("patient", "_current_zone", "_current_from")

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
        following = date.fromordinal(day + 1)
        if self._current_from is None:
            return datetime.combine(following, time(), self._current_zone).timestamp()
        history = self.patient.zone_history
        candidates = [datetime.combine(following, time(), zone(c.timezone)) for c in history]
        candidates += [change.effective_from for change in history[1:]]
        return min(c.timestamp() for c in candidates if self.local_day(c) > day)

    def day_end_at(self, ts: float) -> float:
        """:meth:`day_end` of the local day the instant ``ts`` (a POSIX timestamp) falls on."""
        return self.day_end(self.local_day(datetime.fromtimestamp(ts, UTC)))

    def repeated(self, day: int) -> bool:
        """Whether local day ``day`` recurs after a later one (a move back across the date line).

        Such a day's events are not the ones dated before some instant, so no cut gives it.
        """
        if self._current_from is None:
            return False
        for change in self.patient.zone_history[1:]:
            moved = change.effective_from
            before = self.patient.local_day(moved - _TICK).toordinal()
            if self.local_day(moved) <= day < before:
                return True
        return False


_TICK = timedelta(microseconds=1)
