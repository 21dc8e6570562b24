"""Which local day an instant falls on for one patient, in the zones of their history.

:class:`ZoneClock` is the root of the ledger's class chain (``ZoneClock`` -> ``EverFacts`` ->
``Ledger``: a compiled class has one native base). Dating is on every fold's path, so the
clock keeps its last answers (the span of days with one UTC offset, today at the last ``now``)
next to the zones. Nothing here reads a clock: ``now`` is passed in.
"""

from __future__ import annotations

from datetime import datetime

from domain.days import DAY_S, local_span
from domain.patients import Patient, zone


class ZoneClock:
    """The patient's registration and the local day of an instant in their zone history."""

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
    )

    def __init__(self, patient: Patient) -> None:
        # Set before the call too: compiled code then reads them with no definedness check.
        self._today_for: datetime | None = None
        self._today_day = 0
        self._span_start: float = 0.0
        self._span_length: float = 0.0
        self._span_ordinal: int = 0
        self._adopt_zones(patient)

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
