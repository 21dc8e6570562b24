"""Prometheus metrics, on a registry per app so several hubs in one process never collide."""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

if TYPE_CHECKING:
    from realtime.service.commits import AckResult

_ACK_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
_QUEUE_BUCKETS = (0, 1, 2, 5, 10, 50, 100, 250, 500, 1000)
_BATCH_BUCKETS = (1, 5, 10, 50, 100, 500, 1000, 2500, 5000)
_ACKNOWLEDGE_BUCKETS = (30, 60, 120, 300, 600, 900, 1800, 3600, 4 * 3600, 24 * 3600)


class HubMetrics:
    """Every metric the hub exports at ``/metrics``."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        self.connections = Gauge(
            "progress_hub_connections", "Open WebSocket connections", ["role"], registry=registry
        )
        self.events = Counter(
            "progress_hub_events", "Events by outcome", ["outcome"], registry=registry
        )
        self.ack_latency = Histogram(
            "progress_hub_ack_latency_seconds",
            "From a publish frame to its ack (includes the durable commit)",
            buckets=_ACK_BUCKETS,
            registry=registry,
        )
        self.messages_pushed = Gauge(
            "progress_hub_messages_pushed", "Channel messages published", registry=registry
        )
        self.frames_delivered = Gauge(
            "progress_hub_frames_delivered", "Frames queued to subscribers", registry=registry
        )
        self.queue_depth = Histogram(
            "progress_hub_send_queue_depth",
            "Send queue depth seen when a frame is queued",
            buckets=_QUEUE_BUCKETS,
            registry=registry,
        )
        self.slow_consumer_closes = Counter(
            "progress_hub_slow_consumer_closes", "Connections closed with 4000", registry=registry
        )
        self.unauthorized = Counter(
            "progress_hub_unauthorized", "Connections refused with 4001", registry=registry
        )
        self.rate_limited = Counter(
            "progress_hub_rate_limited", "Frames refused as rate_limited", registry=registry
        )
        self.frame_errors = Counter(
            "progress_hub_frame_errors", "Error frames sent, by code", ["code"], registry=registry
        )
        self.writer_queued_rows = Gauge(
            "progress_hub_writer_queued_rows", "Rows waiting for the writer", registry=registry
        )
        self.writer_batch_rows = Histogram(
            "progress_hub_writer_batch_rows",
            "Rows per committed transaction",
            buckets=_BATCH_BUCKETS,
            registry=registry,
        )

        self.alerts_open = Gauge(
            "progress_hub_alerts_open",
            "Alerts not yet acknowledged",
            ["severity"],
            registry=registry,
        )
        self.alert_time_to_acknowledge = Histogram(
            "progress_hub_alert_time_to_acknowledge_seconds",
            "From an alert being raised to its acknowledgement",
            buckets=_ACKNOWLEDGE_BUCKETS,
            registry=registry,
        )
        self.alert_escalations = Counter(
            "progress_hub_alert_escalations", "Critical alerts escalated", registry=registry
        )
        self.webhook_deliveries = Counter(
            "progress_hub_webhook_deliveries",
            "Webhook delivery attempts by outcome (delivered, failed, timeout, dropped)",
            ["outcome"],
            registry=registry,
        )
        self.webhook_queue_depth = Gauge(
            "progress_hub_webhook_queue_depth", "Webhook deliveries waiting", registry=registry
        )

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
