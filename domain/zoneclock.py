"""Which local day an instant falls on for one patient, in the zones of their history.

Nothing here reads a clock: instants are passed in.
"""

from __future__ import annotations

from datetime import datetime

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
