"""Typed server messages for Python dashboards: what ``DashboardClient`` yields.

Every ``message`` frame becomes one of the classes below by its ``data.kind``; a kind this
client does not know yet becomes :class:`OtherMessage`, so a newer hub never breaks it.
Alerts follow ``PROTOCOL.md`` section 7; fields a v1.0 hub does not send are ``None``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

ConnectionState = Literal["connecting", "live", "reconnecting", "stopped"]


@dataclass(frozen=True, slots=True)
class Alert:
    """Something a therapist must see (``mood_crisis``, ``dropout_risk_high``, …)."""

    code: str
    severity: str
    patient_id: str
    detail: str
    alert_id: str | None = None
    therapist_id: str | None = None
    state: str = "open"
    event_id: str | None = None
    event_at: str | None = None
    raised_at: str | None = None
    acknowledged_by: str | None = None
    acknowledged_at: str | None = None
    note: str | None = None
    escalations: int = 0

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> Alert:
        def text(name: str) -> str | None:
            value = data.get(name)
            return None if value is None else str(value)

        return cls(
            code=str(data.get("code", "")),
            severity=str(data.get("severity", "")),
            patient_id=str(data.get("patient_id", "")),
            detail=str(data.get("detail", "")),
            alert_id=text("alert_id"),
            therapist_id=text("therapist_id"),
            state=str(data.get("state") or "open"),
            event_id=text("event_id"),
            event_at=text("event_at"),
            raised_at=text("raised_at"),
            acknowledged_by=text("acknowledged_by"),
            acknowledged_at=text("acknowledged_at"),
            note=text("note"),
            escalations=int(data.get("escalations") or 0),
        )


@dataclass(frozen=True, slots=True)
class Subscribed:
    """A (re)subscription. ``recovered`` false: ``snapshot`` (and, for a patient, ``series``
    fetched over REST) replaces whatever was missed; start the channel's view afresh."""

    channel: str
    epoch: str
    offset: int
    recovered: bool
    snapshot: dict[str, Any]
    series: dict[str, Any] | None = None

    @property
    def open_alerts(self) -> list[Alert]:
        """A therapist channel's open alerts (hub v1.1; empty before)."""
        return [Alert.from_wire(item) for item in self.snapshot.get("open_alerts", [])]


@dataclass(frozen=True, slots=True)
class Message:
    """A ``message`` frame: ``data`` is the whole payload, ``kind`` its ``data.kind``."""

    channel: str
    offset: int
    kind: str
    data: dict[str, Any] = field(repr=False)


@dataclass(frozen=True, slots=True)
class StateChanged(Message):
    """The patient's progress document after a change (the same as REST ``progress``)."""


@dataclass(frozen=True, slots=True)
class SeriesDelta(Message):
    bucket: str = ""
    values: dict[str, float | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CelebrationMessage(Message):
    milestone: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class InsightMessage(Message):
    code: str = ""
    message: str = ""


@dataclass(frozen=True, slots=True)
class AlertMessage(Message):
    """``alert`` (raised), ``alert_updated`` (acknowledged, resolved) or ``alert_escalated``."""

    alert: Alert = field(default_factory=lambda: Alert("", "", "", ""))


@dataclass(frozen=True, slots=True)
class SupportMessage(Message):
    message: str = ""
    resources: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class OtherMessage(Message):
    """A kind this client does not know (a newer hub); ``data`` has it all."""


@dataclass(frozen=True, slots=True)
class HubError:
    """An ``error`` frame no request waited for (e.g. a refused subscription)."""

    code: str
    detail: str


@dataclass(frozen=True, slots=True)
class Rejection:
    """An event the hub refused; it was removed from the outbox and is not sent again."""

    event: dict[str, Any]
    code: str
    detail: str


@dataclass(frozen=True, slots=True)
class Celebration:
    """A milestone newly reached, to show the patient once; answer with ``celebrated``."""

    milestone_id: str
    rule: str
    title: str
    achieved_at: str


@dataclass(frozen=True, slots=True)
class SendTotals:
    """What the hub answered for this client's events since it started."""

    accepted: int
    duplicates: int
    rejected: int


DashboardItem = Subscribed | Message | HubError
ALERT_KINDS = frozenset({"alert", "alert_updated", "alert_escalated"})


def parse_message(frame: dict[str, Any]) -> Message:
    """A ``message`` frame as its typed class."""
    channel, offset = str(frame.get("channel", "")), int(frame.get("offset", 0))
    data = frame.get("data")
    data = data if isinstance(data, dict) else {}
    kind = str(data.get("kind", ""))
    if kind == "state":
        return StateChanged(channel, offset, kind, data)
    if kind == "series":
        return SeriesDelta(
            channel, offset, kind, data, str(data.get("bucket")), data.get("values") or {}
        )
    if kind == "celebration":
        return CelebrationMessage(channel, offset, kind, data, data.get("milestone") or {})
    if kind == "insight":
        return InsightMessage(
            channel, offset, kind, data, str(data.get("code")), str(data.get("message"))
        )
    if kind in ALERT_KINDS:
        return AlertMessage(channel, offset, kind, data, Alert.from_wire(data))
    if kind == "support":
        return SupportMessage(
            channel, offset, kind, data, str(data.get("message")), data.get("resources") or []
        )
    return OtherMessage(channel, offset, kind, data)
