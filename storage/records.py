"""What the store keeps besides events: audit entries, alerts as raised, the start-up state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.outcomes import rfc3339_utc
from domain.patients import Patient


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
