"""Webhook deliveries from the durable outbox: signed, retried with backoff, never in ingest's way.

Each delivery was queued in the transaction of what it announces (``storage.alerts``); this
task POSTs the stored body as it is, signed ``X-Progress-Hub-Signature: sha256=<hex>`` (HMAC-
SHA256 of the body with the webhook secret), and deletes the row once the receiver answers
2xx. Anything else (an error status, a refused connection, a timeout) is tried again after
``min(max_backoff, 2^attempts)`` seconds, across restarts, with the same ``delivery_id``.

Bounded: every request has a timeout; at most ``BATCH`` requests are in flight; the outbox has
a cap (``webhook_max_queued``, enforced where deliveries are queued). Ingest never waits for
any of it: the publish path only adds rows to a commit it makes anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

import httpx

from realtime.metrics import HubMetrics
from realtime.service.outbox import WebhookOutbox
from realtime.settings import Alerting
from storage.alerts import AlertRows, Delivery

log = logging.getLogger("progress_hub.webhooks")

SIGNATURE_HEADER: Final = "X-Progress-Hub-Signature"
BATCH: Final = 16
IDLE_S: Final = 5.0
"""Longest sleep when nothing is due (a new delivery wakes the sender at once)."""


def signature(secret: str, body: bytes) -> str:
    """The header value a receiver recomputes to check a delivery came from this hub."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# No generated repr: the settings hold the webhook secret.
@dataclass(eq=False, repr=False, slots=True)
class WebhookSender:
    """Drains the outbox; :meth:`wake` when deliveries were queued."""

    rows: Callable[[], AlertRows | None]
    outbox: WebhookOutbox
    settings: Alerting
    metrics: HubMetrics
    clock: Callable[[], datetime]
    _wake: asyncio.Event = field(default_factory=asyncio.Event, init=False)

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        timeout = httpx.Timeout(self.settings.webhook_timeout_s)
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:
            while True:
                try:
                    sent = await self._send_due(client)
                except Exception:
                    log.exception("event=webhook_pass_failed")
                    sent = 0
                if sent:
                    continue
                await self._sleep()

    async def _sleep(self) -> None:
        rows = self.rows()
        wait = IDLE_S
        if rows is not None:
            due = await rows.next_due()
            if due is not None:
                wait = max(0.0, min(IDLE_S, (due - self.clock()).total_seconds()))
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), wait)

    async def _send_due(self, client: httpx.AsyncClient) -> int:
        rows = self.rows()
        if rows is None:
            return 0
        due = await rows.due(self.clock(), BATCH)
        if due:
            await asyncio.gather(*(self._deliver(client, rows, item) for item in due))
        return len(due)

    async def _deliver(self, client: httpx.AsyncClient, rows: AlertRows, item: Delivery) -> None:
        body = item.body.encode()
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: signature(self.settings.webhook_secret, body),
        }
        outcome = "failed"
        try:
            response = await client.post(item.url, content=body, headers=headers)
            if 200 <= response.status_code < 300:
                outcome = "delivered"
        except httpx.TimeoutException:
            outcome = "timeout"
        except httpx.HTTPError:
            outcome = "failed"
        self.metrics.webhook_deliveries.labels(outcome).inc()
        if outcome == "delivered":
            await rows.delivered(item.delivery_id)
            self.outbox.delivered()
            return
        attempts = item.attempts + 1
        backoff = min(self.settings.webhook_max_backoff_s, float(2 ** min(attempts, 20)) / 2)
        log.warning(
            "event=webhook_retry delivery=%s outcome=%s attempts=%d next_in_s=%.1f",
            item.delivery_id,
            outcome,
            attempts,
            backoff,
        )
        await rows.retry_at(item.delivery_id, attempts, self.clock() + timedelta(seconds=backoff))
