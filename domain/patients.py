"""Who a patient is to the hub: their therapist and the time zone their days are counted in."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from domain.errors import UnknownTimezone

MAX_TIMEZONE_LENGTH: Final = 64


@lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo:
    """The IANA zone called ``name``.

    Raises:
        UnknownTimezone: when the name is not a known IANA zone.
    """
    if not name or len(name) > MAX_TIMEZONE_LENGTH or name.startswith(("/", ".")) or ".." in name:
        raise UnknownTimezone(f"unknown time zone {name!r}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise UnknownTimezone(f"unknown time zone {name!r}") from None


@dataclass(frozen=True, slots=True)
class ZoneChange:
    """From ``effective_from`` on, the patient's days are counted in ``timezone``."""

    effective_from: datetime
    timezone: str


@dataclass(frozen=True, slots=True)
class Patient:
    """A registered patient.

    ``zone_history`` keeps every time zone the patient has had, so a day that was counted in
    Berlin stays that day after the patient moves to New York: a move never costs a streak.
    """

    patient_id: str
    therapist_id: str
    zone_history: tuple[ZoneChange, ...] = field(default_factory=tuple)

    @classmethod
    def register(cls, patient_id: str, therapist_id: str, timezone: str, now: datetime) -> Patient:
        zone(timezone)
        return cls(patient_id, therapist_id, (ZoneChange(now, timezone),))

    @property
    def timezone(self) -> str:
        return self.zone_history[-1].timezone if self.zone_history else "UTC"

    def reassigned(self, therapist_id: str, timezone: str, now: datetime) -> Patient:
        """The same patient with a new therapist and/or time zone from ``now`` on."""
        zone(timezone)
        history = self.zone_history
        if timezone != self.timezone:
            history = (*history, ZoneChange(now, timezone))
        return Patient(self.patient_id, therapist_id, history)

    def zone_at(self, instant: datetime) -> ZoneInfo:
        """The zone in force at ``instant``; before the first registration, the first zone."""
        chosen = self.zone_history[0].timezone if self.zone_history else "UTC"
        for change in self.zone_history:
            if change.effective_from <= instant:
                chosen = change.timezone
            else:
                break
        return zone(chosen)

    def local_day(self, instant: datetime) -> date:
        """The calendar day ``instant`` falls on, in the zone the patient had then."""
        return instant.astimezone(self.zone_at(instant)).date()

    def today(self, now: datetime) -> date:
        return now.astimezone(zone(self.timezone)).date()
