"""Alert rows and the webhook outbox (``PROTOCOL.md`` section 7).

Exactly once: an alert raised by an event is written in the same transaction as that event
(:meth:`AlertRows.raise_steps`, handed to ``SqliteStore.append_events(..., together=…)``), and
``(event_id, code)`` is unique, so a crash leaves either both or neither and nothing can store
it twice. A webhook delivery is queued in the transaction of what it announces, under a
``delivery_id`` fixed at that moment; the sender deletes it once the receiver answered 2xx.

Instants are stored as ISO 8601 text in UTC (``+00:00``, sortable as text, the ``alerts``
table's format since version 2) and written on the wire with a ``Z``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from typing import Any, Final, Literal

import aiosqlite

from storage.filters import where
from storage.lane import Step
from storage.multirow import Row
from storage.records import wire_instant
from storage.writer import GroupCommitWriter

AlertState = Literal["open", "acknowledged", "resolved"]
STATES: Final[tuple[AlertState, ...]] = ("open", "acknowledged", "resolved")

# What acknowledging, resolving or escalating may change; the rest is fixed when raised.
_CHANGEABLE: Final = (
    "state",
    "acknowledged_by",
    "acknowledged_at",
    "note",
    "escalations",
    "resolved_at",
)
_INSTANTS: Final = ("event_at", "raised_at", "acknowledged_at", "resolved_at")
_INSERT_DELIVERY = (
    "INSERT OR IGNORE INTO webhook_outbox "
    "(delivery_id, url, body, queued_at, attempts, next_attempt_at) VALUES (?, ?, ?, ?, 0, ?)"
)


def utc_text(instant: datetime) -> str:
    """How an instant is stored: ISO 8601 in UTC."""
    return instant.astimezone(UTC).isoformat()


def _instant(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text is not None else None


def _stored(value: Any) -> Any:
    return utc_text(value) if isinstance(value, datetime) else value


def event_alert_id(event_id: str, code: str) -> str:
    """The id of the alert ``code`` raised by an event: the same whoever computes it."""
    digest = hashlib.sha256(f"{event_id}\x00{code}".encode()).hexdigest()
    return f"al_{digest[:24]}"


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert, as the therapist's inbox holds it."""

    alert_id: str
    patient_id: str
    therapist_id: str
    code: str
    severity: str
    detail: str
    event_id: str | None
    event_at: datetime | None
    raised_at: datetime
    state: AlertState = "open"
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    note: str | None = None
    escalations: int = 0
    resolved_at: datetime | None = None

    def to_wire(self) -> dict[str, Any]:
        """The alert object of ``PROTOCOL.md`` section 7, the same on every path."""
        wire = {name: getattr(self, name) for name in _ON_THE_WIRE}
        for name in _INSTANTS:
            if name in wire:
                wire[name] = wire_instant(wire[name])
        return wire

    def acknowledged(self, by: str, at: datetime, note: str | None) -> Alert:
        return replace(
            self, state="acknowledged", acknowledged_by=by, acknowledged_at=at, note=note
        )

    def resolved(self, by: str, at: datetime, note: str | None) -> Alert:
        return replace(
            self,
            state="resolved",
            acknowledged_by=self.acknowledged_by or by,
            acknowledged_at=self.acknowledged_at or at,
            note=note if note is not None else self.note,
            resolved_at=at,
        )

    def escalated(self) -> Alert:
        return replace(self, escalations=self.escalations + 1)

    def row(self) -> Row:
        """The alert's ``alerts`` row, in the order of :data:`_COLUMNS`."""
        return tuple(_stored(getattr(self, name)) for name in _FIELDS)

    def changes_row(self) -> Row:
        """The parameters of :data:`_UPDATE_ALERT`: what may have changed, then the id."""
        return tuple(_stored(getattr(self, name)) for name in (*_CHANGEABLE, "alert_id"))


# The table's columns are the alert's fields, in the same order.
_FIELDS: Final = tuple(field.name for field in fields(Alert))
_COLUMNS: Final = ", ".join(_FIELDS)
_INSERT_ALERT: Final = (
    f"INSERT OR IGNORE INTO alerts ({_COLUMNS}) VALUES ({', '.join('?' for _ in _FIELDS)})"
)
_UPDATE_ALERT: Final = (
    f"UPDATE alerts SET {', '.join(f'{name} = ?' for name in _CHANGEABLE)} WHERE alert_id = ?"
)
# The alert object of PROTOCOL.md section 7 has no resolved_at: the state says it.
_ON_THE_WIRE: Final = tuple(name for name in _FIELDS if name != "resolved_at")


def alert_from_wire(data: Any) -> Alert:
    """An alert object as written on the wire (an export), back into an alert.

    Raises:
        ValueError: not an alert object (a field missing or of the wrong type).
    """
    if not isinstance(data, dict):
        raise ValueError("alert: must be an alert object")
    texts = ("alert_id", "patient_id", "therapist_id", "code", "severity", "detail", "raised_at")
    for name in texts:
        if not isinstance(data.get(name), str) or not data[name]:
            raise ValueError(f"alert.{name}: must be a non-empty string")
    state = data.get("state")
    if state not in STATES:
        raise ValueError(f"alert.state: must be one of {', '.join(STATES)}")
    escalations = data.get("escalations")
    if not isinstance(escalations, int) or isinstance(escalations, bool) or escalations < 0:
        raise ValueError("alert.escalations: must be an integer >= 0")

    def instant(name: str) -> datetime | None:
        value = data.get(name)
        if value is None:
            return None
        parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
        if parsed is None or parsed.tzinfo is None:
            raise ValueError(f"alert.{name}: must be an RFC 3339 instant or null")
        return parsed

    acknowledged_at = instant("acknowledged_at")
    raised_at = instant("raised_at")
    assert raised_at is not None
    return Alert(
        data["alert_id"],
        data["patient_id"],
        data["therapist_id"],
        data["code"],
        data["severity"],
        data["detail"],
        data.get("event_id") if isinstance(data.get("event_id"), str) else None,
        instant("event_at"),
        raised_at,
        state,
        data.get("acknowledged_by") if isinstance(data.get("acknowledged_by"), str) else None,
        acknowledged_at,
        data.get("note") if isinstance(data.get("note"), str) else None,
        escalations,
        acknowledged_at if state == "resolved" else None,
    )


def _alert(row: Sequence[Any]) -> Alert:
    values = dict(zip(_FIELDS, row, strict=True))
    for name in _INSTANTS:
        values[name] = _instant(values[name])
    return Alert(**values)


@dataclass(frozen=True, slots=True)
class Delivery:
    """One queued webhook POST: its body is fixed (and signed) as it was queued."""

    delivery_id: str
    url: str
    body: str
    attempts: int = 0


@dataclass(frozen=True, slots=True)
class AlertPage:
    alerts: list[Alert]
    next_before: str | None


class AlertRows:
    """Reads and writes alert and outbox rows on the store's connection and writer."""

    def __init__(self, connection: aiosqlite.Connection, writer: GroupCommitWriter) -> None:
        self._connection = connection
        self._writer = writer

    # -- steps to commit together with something else ------------------------------------

    @staticmethod
    def raise_steps(alerts: Sequence[Alert]) -> list[Step]:
        return [(_INSERT_ALERT, [alert.row() for alert in alerts])] if alerts else []

    @staticmethod
    def update_steps(alerts: Sequence[Alert]) -> list[Step]:
        return [(_UPDATE_ALERT, [alert.changes_row() for alert in alerts])] if alerts else []

    @staticmethod
    def outbox_steps(deliveries: Sequence[Delivery], now: datetime) -> list[Step]:
        at = utc_text(now)
        rows = [(d.delivery_id, d.url, d.body, at, at) for d in deliveries]
        return [(_INSERT_DELIVERY, rows)] if rows else []

    async def commit(self, steps: Sequence[Step]) -> None:
        """Commit the steps in one transaction.

        Raises:
            StorageClosed: the writer is shutting down.
            sqlite3.Error: nothing of it was kept.
        """
        if steps:
            await self._writer.write_together(steps)

    # -- reads ----------------------------------------------------------------------------

    async def unresolved(self) -> list[Alert]:
        """Every alert still open or acknowledged, oldest first (start-up loads them)."""
        rows = await self._connection.execute_fetchall(
            f"SELECT {_COLUMNS} FROM alerts WHERE state != 'resolved' ORDER BY seq"
        )
        return [_alert(row) for row in rows]

    async def every(self) -> list[Alert]:
        """Every alert, oldest first (an export)."""
        rows = await self._connection.execute_fetchall(
            f"SELECT {_COLUMNS} FROM alerts ORDER BY seq"
        )
        return [_alert(row) for row in rows]

    async def get(self, alert_id: str) -> Alert | None:
        rows = list(
            await self._connection.execute_fetchall(
                f"SELECT {_COLUMNS} FROM alerts WHERE alert_id = ?", (alert_id,)
            )
        )
        return _alert(rows[0]) if rows else None

    async def page(
        self,
        *,
        states: Sequence[str],
        patient_ids: Sequence[str] | None,
        severity: str | None,
        limit: int,
        before: str | None,
    ) -> AlertPage:
        """Newest first; ``before`` is the ``alert_id`` the previous page ended with."""
        filters, params = where(
            {
                "state IN (SELECT value FROM json_each(?))": json.dumps(list(states)),
                "patient_id IN (SELECT value FROM json_each(?))": (
                    None if patient_ids is None else json.dumps(list(patient_ids))
                ),
                "severity = ?": severity,
                "seq < coalesce((SELECT seq FROM alerts WHERE alert_id = ?), 0)": before,
            }
        )
        query = f"SELECT {_COLUMNS} FROM alerts {filters} ORDER BY seq DESC LIMIT ?"
        rows = list(await self._connection.execute_fetchall(query, (*params, limit + 1)))
        alerts = [_alert(row) for row in rows[:limit]]
        more = len(rows) > limit
        return AlertPage(alerts, alerts[-1].alert_id if more and alerts else None)

    # -- the outbox -----------------------------------------------------------------------

    async def due(self, now: datetime, limit: int) -> list[Delivery]:
        """Deliveries whose next attempt is due, oldest first."""
        rows = await self._connection.execute_fetchall(
            "SELECT delivery_id, url, body, attempts FROM webhook_outbox "
            "WHERE next_attempt_at <= ? ORDER BY queued_at, rowid LIMIT ?",
            (utc_text(now), limit),
        )
        return [Delivery(row[0], row[1], row[2], int(row[3])) for row in rows]

    async def next_due(self) -> datetime | None:
        rows = list(
            await self._connection.execute_fetchall(
                "SELECT min(next_attempt_at) FROM webhook_outbox"
            )
        )
        return _instant(rows[0][0]) if rows else None

    async def depth(self) -> int:
        rows = list(await self._connection.execute_fetchall("SELECT count(*) FROM webhook_outbox"))
        return int(rows[0][0]) if rows else 0

    async def delivered(self, delivery_id: str) -> None:
        await self._writer.write(
            "DELETE FROM webhook_outbox WHERE delivery_id = ?", [(delivery_id,)]
        )

    async def retry_at(self, delivery_id: str, attempts: int, at: datetime) -> None:
        await self._writer.write(
            "UPDATE webhook_outbox SET attempts = ?, next_attempt_at = ? WHERE delivery_id = ?",
            [(attempts, utc_text(at), delivery_id)],
        )
