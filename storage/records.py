"""What the store keeps besides events: audit entries, alerts as raised, the start-up state,
patients as rows."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.outcomes import rfc3339_utc
from domain.patients import Patient, ZoneChange


def wire_instant(instant: datetime | None) -> str | None:
    """How an instant is written on the wire: RFC 3339 in UTC with a ``Z``, or ``null``."""
    return rfc3339_utc(instant) if instant is not None else None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One read of patient data: who (role, sub), what (action, patient or scope), when."""

    at: datetime
    role: str
    sub: str
    action: str
    patient_id: str | None = None
    scope: str | None = None
    seq: int | None = None

    def to_wire(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": rfc3339_utc(self.at),
            "role": self.role,
            "sub": self.sub,
            "action": self.action,
            "patient_id": self.patient_id,
            "scope": self.scope,
        }


@dataclass(frozen=True, slots=True)
class AlertRecord:
    """An alert as it was raised."""

    patient_id: str
    therapist_id: str
    code: str
    severity: str
    detail: str
    raised_at: datetime

    def to_wire(self) -> dict[str, Any]:
        return {
            "patient_id": self.patient_id,
            "code": self.code,
            "severity": self.severity,
            "detail": self.detail,
            "raised_at": rfc3339_utc(self.raised_at),
        }


@dataclass(frozen=True, slots=True)
class StoredState:
    """Everything start-up needs, apart from the events themselves."""

    patients: list[Patient]
    marks: dict[str, dict[str, Any]]
    event_ids: set[str]


def zone_history_to_json(patient: Patient) -> str:
    """A patient's time-zone history as the ``patients.zone_history`` column holds it."""
    return json.dumps(
        [[change.effective_from.isoformat(), change.timezone] for change in patient.zone_history]
    )


def patient_from_row(patient_id: str, therapist_id: str, zone_history: str) -> Patient:
    """The patient a ``patients`` row describes."""
    changes = tuple(
        ZoneChange(datetime.fromisoformat(instant), timezone)
        for instant, timezone in json.loads(zone_history)
    )
    return Patient(patient_id, therapist_id, changes)
