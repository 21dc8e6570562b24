"""Prometheus metrics, on a registry per app so several hubs in one process never collide."""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

if TYPE_CHECKING:
    from realtime.service.commits import AckResult


class HubMetrics:
    """Every metric the hub exports at ``/metrics``."""

    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry()

        def gauge(name: str, doc: str, labels: tuple[str, ...] = ()) -> Gauge:
            return Gauge(f"progress_hub_{name}", doc, labels, registry=registry)

        def counter(name: str, doc: str, labels: tuple[str, ...] = ()) -> Counter:
            return Counter(f"progress_hub_{name}", doc, labels, registry=registry)

        def histogram(name: str, doc: str, buckets: tuple[float, ...]) -> Histogram:
            return Histogram(f"progress_hub_{name}", doc, buckets=buckets, registry=registry)

        self.connections = gauge("connections", "Open WebSocket connections", ("role",))
        self.events = counter("events", "Events by outcome", ("outcome",))
        self.ack_latency = histogram(
            "ack_latency_seconds",
            "From a publish frame to its ack (includes the durable commit)",
            buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
        )
        self.messages_pushed = gauge("messages_pushed", "Channel messages published")
        self.frames_delivered = gauge("frames_delivered", "Frames queued to subscribers")
        self.queue_depth = histogram(
            "send_queue_depth",
            "Send queue depth seen when a frame is queued",
            buckets=(0, 1, 2, 5, 10, 50, 100, 250, 500, 1000),
        )
        self.slow_consumer_closes = counter("slow_consumer_closes", "Connections closed with 4000")
        self.unauthorized = counter("unauthorized", "Connections refused with 4001")
        self.rate_limited = counter("rate_limited", "Frames refused as rate_limited")
        self.frame_errors = counter("frame_errors", "Error frames sent, by code", ("code",))
        self.events_unapplied = gauge(
            "events_unapplied",
            "Stored events no tracker could fold: kept, left out of figures (each is a defect)",
        )
        self.writer_queued_rows = gauge("writer_queued_rows", "Rows waiting for the writer")
        self.writer_batch_rows = histogram(
            "writer_batch_rows",
            "Rows per committed transaction",
            buckets=(1, 5, 10, 50, 100, 500, 1000, 2500, 5000),
        )

        self.alerts_open = gauge("alerts_open", "Alerts not yet acknowledged", ("severity",))
        self.alert_time_to_acknowledge = histogram(
            "alert_time_to_acknowledge_seconds",
            "From an alert being raised to its acknowledgement",
            buckets=(30, 60, 120, 300, 600, 900, 1800, 3600, 4 * 3600, 24 * 3600),
        )
        self.alert_escalations = counter("alert_escalations", "Critical alerts escalated")
        self.webhook_deliveries = counter(
            "webhook_deliveries",
            "Webhook delivery attempts by outcome (delivered, failed, timeout, dropped)",
            ("outcome",),
        )
        self.webhook_queue_depth = gauge("webhook_queue_depth", "Webhook deliveries waiting")

        # Children looked up once: labels() hashes and locks on every call, once per publish.
        self._accepted = self.events.labels("accepted")
        self._duplicate = self.events.labels("duplicate")
        self._rejected = self.events.labels("rejected")

    def observe_ack(self, result: AckResult, seconds: float) -> None:
        self.ack_latency.observe(seconds)
        self.events_from(result)

    def events_from(self, result: AckResult) -> None:
        if result.accepted:
            self._accepted.inc(len(result.accepted))
        if result.duplicates:
            self._duplicate.inc(len(result.duplicates))
        if result.rejected:
            self._rejected.inc(len(result.rejected))
