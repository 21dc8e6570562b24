"""Rows that are committed together with something else, as writer steps.

The alert path (``PROTOCOL.md`` section 7) stores what an event decided in the event's own
transaction: the marks it changed with it (the dropout alert's gate, celebrations), and the
audit entry of an acknowledgement with the acknowledgement. These build the steps; the caller
hands them to ``GroupCommitWriter.write_together`` with the rest.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from storage.lane import Step
from storage.records import AuditEntry

_INSERT_AUDIT = (
    "INSERT INTO audit (at, role, sub, action, patient_id, scope) VALUES (?, ?, ?, ?, ?, ?)"
)
_UPSERT_MARKS = (
    "INSERT INTO marks (patient_id, body, updated_at) VALUES (?, ?, ?) "
    "ON CONFLICT (patient_id) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at"
)


def marks_steps(marks: Sequence[tuple[str, dict[str, Any]]], now: datetime) -> list[Step]:
    """The rows that store these patients' marks."""
    at = now.astimezone(UTC).isoformat()
    rows = [(patient_id, json.dumps(body, sort_keys=True), at) for patient_id, body in marks]
    return [(_UPSERT_MARKS, rows)] if rows else []


def audit_steps(entries: Sequence[AuditEntry]) -> list[Step]:
    """The rows that record these audit entries."""
    rows = [
        (e.at.astimezone(UTC).isoformat(), e.role, e.sub, e.action, e.patient_id, e.scope)
        for e in entries
    ]
    return [(_INSERT_AUDIT, rows)] if rows else []
