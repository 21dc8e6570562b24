"""Which webhook deliveries an alert change queues, within the outbox's cap.

A delivery's body and ``delivery_id`` are fixed here, when it is queued (in the transaction of
the change it announces): every retry sends the same bytes under the same id, so a receiver
can drop repeats. The cap (``webhook_max_queued``) keeps a receiver that is down for days from
filling the disk; what it refuses is counted (``outcome="dropped"``) and logged.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence

from realtime.metrics import HubMetrics
from realtime.settings import Alerting
from storage.alerts import Alert, Delivery

log = logging.getLogger("progress_hub.webhooks")


class WebhookOutbox:
    """Builds deliveries and keeps count of those waiting (``depth``)."""

    def __init__(self, settings: Alerting, metrics: HubMetrics) -> None:
        self._settings = settings
        self._metrics = metrics
        self.depth = 0

    def set_depth(self, depth: int) -> None:
        self.depth = depth
        self._metrics.webhook_queue_depth.set(depth)

    def delivered(self) -> None:
        self.set_depth(max(0, self.depth - 1))

    def deliveries(self, kind: str, alerts: Sequence[Alert]) -> list[Delivery]:
        """One delivery per alert and webhook URL, as many as the cap leaves room for."""
        urls = self._settings.webhooks
        if not urls or not alerts:
            return []
        wanted = len(urls) * len(alerts)
        room = max(0, self._settings.webhook_max_queued - self.depth)
        if wanted > room:
            self._metrics.webhook_deliveries.labels("dropped").inc(wanted - room)
            log.error(
                "event=webhook_queue_full queued=%d cap=%d dropped=%d type=%s",
                self.depth,
                self._settings.webhook_max_queued,
                wanted - room,
                kind,
            )
        deliveries: list[Delivery] = []
        for alert in alerts:
            wire = alert.to_wire()
            for url in urls:
                if len(deliveries) >= room:
                    break
                key = f"{alert.alert_id}\x00{kind}\x00{alert.escalations}\x00{url}"
                delivery_id = "dl_" + hashlib.sha256(key.encode()).hexdigest()[:24]
                body = {"type": kind, "delivery_id": delivery_id, "alert": wire}
                text = json.dumps(body, separators=(",", ":"))
                deliveries.append(Delivery(delivery_id, url, text))
        self.set_depth(self.depth + len(deliveries))
        return deliveries
