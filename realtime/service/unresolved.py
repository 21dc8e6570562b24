"""The alerts not yet resolved, in memory: by id in the order they were raised, by patient.

Every path that reads alerts often (each round's reward hold, each subscription, each
escalation pass, the open-alert gauge) reads here, never the database; each lookup costs the
size of one patient's alerts, not of the whole inbox (a hub that nobody acknowledges may hold
thousands).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from storage.alerts import Alert


class UnresolvedAlerts:
    """Alerts open or acknowledged; a resolved one leaves."""

    def __init__(self) -> None:
        self._by_id: dict[str, Alert] = {}
        self._by_patient: dict[str, dict[str, Alert]] = {}
        self.open_by_severity: dict[str, int] = {"critical": 0, "warning": 0}

    def __contains__(self, alert_id: str) -> bool:
        return alert_id in self._by_id

    def __iter__(self) -> Iterator[Alert]:
        return iter(list(self._by_id.values()))

    def get(self, alert_id: str) -> Alert | None:
        return self._by_id.get(alert_id)

    def of_patient(self, patient_id: str) -> Iterable[Alert]:
        return self._by_patient.get(patient_id, {}).values()

    def put(self, alert: Alert) -> None:
        """Keep the alert as it now is (a resolved one is dropped)."""
        previous = self._by_id.get(alert.alert_id)
        if previous is not None and previous.state == "open":
            self.open_by_severity[previous.severity] -= 1
        if alert.state == "resolved":
            self._by_id.pop(alert.alert_id, None)
            patient = self._by_patient.get(alert.patient_id, {})
            patient.pop(alert.alert_id, None)
            if not patient:
                self._by_patient.pop(alert.patient_id, None)
            return
        # Replacing a value keeps its place: iteration stays in the order alerts were raised.
        self._by_id[alert.alert_id] = alert
        self._by_patient.setdefault(alert.patient_id, {})[alert.alert_id] = alert
        if alert.state == "open":
            self.open_by_severity[alert.severity] = self.open_by_severity.get(alert.severity, 0) + 1
