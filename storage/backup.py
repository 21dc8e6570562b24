"""Backup and migration as JSON Lines: ``progress-hub export`` and ``progress-hub import``.

One JSON object a line. Patients come first, so an import can check each event's patient:

    {"record": "patient", "patient_id": "p1", "therapist_id": "t1",
     "zone_history": [["2026-11-01T09:00:00+00:00", "Europe/Berlin"]]}
    {"record": "event", "received_at": "2026-11-21T09:30:01+00:00",
     "event": {"id": "e1", "kind": "mood_checkin", "patient_id": "p1", "at": "…", "score": 6}}
    {"record": "marks", "patient_id": "p1", "marks": {…}}
    {"record": "alert", "alert": {"alert_id": "al_…", …the alert object of PROTOCOL.md §7}}

Alerts are effects, not events: a replay cannot rebuild them, so they travel as themselves (an
alert whose id is already stored is left as it is).

Import is idempotent: an event id already stored is counted as a duplicate and left alone, so a
backup can be imported twice, or on top of a live copy. A line that is not valid is reported
with its number and skipped; every other line still counts.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TextIO

from domain.errors import DomainError
from domain.events import Event, event_to_wire, parse_event
from domain.patients import Patient, ZoneChange, zone
from storage.alerts import AlertRows, alert_from_wire
from storage.batch import Batch
from storage.store import SqliteStore

IMPORT_BATCH = 1_000


@dataclass(slots=True)
class ImportReport:
    """What an import did."""

    patients: int = 0
    events: int = 0
    duplicates: int = 0
    marks: int = 0
    alerts: int = 0
    errors: list[str] = field(default_factory=list)


async def export_jsonl(store: SqliteStore, out: TextIO) -> int:
    """Write every patient, stored event and mark; returns the number of lines written.

    Events purged under retention are not stored any more, so they are not in the export.
    """
    state = await store.load_state(event_ids=False)
    lines = 0
    for patient in sorted(state.patients, key=lambda p: p.patient_id):
        record: dict[str, Any] = {
            "record": "patient",
            "patient_id": patient.patient_id,
            "therapist_id": patient.therapist_id,
            "zone_history": [
                [change.effective_from.isoformat(), change.timezone]
                for change in patient.zone_history
            ],
        }
        out.write(json.dumps(record, separators=(",", ":")) + "\n")
        lines += 1
    async for event, received_at in store.events_with_receipt():
        record = {"record": "event", "received_at": received_at, "event": event_to_wire(event)}
        out.write(json.dumps(record, separators=(",", ":")) + "\n")
        lines += 1
    for patient_id, marks in sorted(state.marks.items()):
        record = {"record": "marks", "patient_id": patient_id, "marks": marks}
        out.write(json.dumps(record, separators=(",", ":"), sort_keys=True) + "\n")
        lines += 1
    rows = store.alerts
    for alert in await rows.every() if rows is not None else []:
        record = {"record": "alert", "alert": alert.to_wire()}
        out.write(json.dumps(record, separators=(",", ":")) + "\n")
        lines += 1
    return lines


def _patient_of(record: dict[str, Any]) -> Patient:
    patient_id, therapist_id = record.get("patient_id"), record.get("therapist_id")
    if not isinstance(patient_id, str) or not patient_id:
        raise ValueError("patient_id: must be a non-empty string")
    if not isinstance(therapist_id, str) or not therapist_id:
        raise ValueError("therapist_id: must be a non-empty string")
    history = record.get("zone_history")
    if not isinstance(history, list) or not history:
        raise ValueError("zone_history: must be a non-empty list of [instant, zone]")
    changes = []
    for item in history:
        if not (
            isinstance(item, list) and len(item) == 2 and all(isinstance(x, str) for x in item)
        ):
            raise ValueError("zone_history: each entry must be [instant, zone]")
        instant = datetime.fromisoformat(item[0])
        if instant.tzinfo is None:
            raise ValueError("zone_history: instants must carry a UTC offset")
        zone(item[1])
        changes.append(ZoneChange(instant, item[1]))
    return Patient(patient_id, therapist_id, tuple(changes))


async def import_jsonl(store: SqliteStore, lines: Iterable[str]) -> ImportReport:
    """Add what ``lines`` hold to an open, writable store."""
    report = ImportReport()
    state = await store.load_state()
    known_patients = {patient.patient_id for patient in state.patients}
    seen = set(state.event_ids)
    pending: list[Event] = []
    now = datetime.now(UTC)

    async def flush() -> None:
        if pending:
            await store.append_events(Batch(pending, now))
            report.events += len(pending)
            pending.clear()

    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise ValueError("a line must be a JSON object")
            kind = record.get("record")
            if kind == "patient":
                patient = _patient_of(record)
                await store.put_patient(patient, now)
                known_patients.add(patient.patient_id)
                report.patients += 1
            elif kind == "event":
                event = parse_event(record.get("event"))
                if event.patient_id not in known_patients:
                    raise ValueError(f"event {event.id!r}: unknown patient {event.patient_id!r}")
                if event.id in seen:
                    report.duplicates += 1
                    continue
                seen.add(event.id)
                pending.append(event)
                if len(pending) >= IMPORT_BATCH:
                    await flush()
            elif kind == "marks":
                patient_id, marks = record.get("patient_id"), record.get("marks")
                if patient_id not in known_patients or not isinstance(marks, dict):
                    raise ValueError("marks: needs a known patient_id and a marks object")
                await store.put_marks(patient_id, marks, now)
                report.marks += 1
            elif kind == "alert":
                alert = alert_from_wire(record.get("alert"))
                if alert.patient_id not in known_patients:
                    raise ValueError(f"alert: unknown patient {alert.patient_id!r}")
                await flush()  # after the events before it, as it was raised
                rows = store.alerts
                if rows is None:
                    raise ValueError("alert: the store is not writable")
                await rows.commit(AlertRows.raise_steps([alert]))
                report.alerts += 1
            else:
                raise ValueError("record: must be patient, event, marks or alert")
        except (ValueError, DomainError) as error:
            report.errors.append(f"line {number}: {error}")
    await flush()
    return report
