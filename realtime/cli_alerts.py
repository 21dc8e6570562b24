"""The alert flags of ``progress-hub serve`` (``PROTOCOL.md`` section 7) and what they build."""

from __future__ import annotations

import argparse
from pathlib import Path

from realtime.settings import (
    DEFAULT_ALERT_ESCALATE_AFTER_S,
    WEBHOOK_SECRET_ENV,
    Alerting,
    alerting_from,
)


def _positive_seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {value!r}") from None
    if not 0 < seconds < float("inf"):
        raise argparse.ArgumentTypeError(f"must be above 0, got {value!r}")
    return seconds


def add_alert_arguments(serve: argparse.ArgumentParser) -> None:
    serve.add_argument(
        "--alert-escalate-after",
        type=_positive_seconds,
        default=DEFAULT_ALERT_ESCALATE_AFTER_S,
        metavar="SECONDS",
        help="escalate a critical alert still open after SECONDS, again every SECONDS, "
        f"at most 3 times (default {DEFAULT_ALERT_ESCALATE_AFTER_S:g})",
    )
    serve.add_argument(
        "--webhook",
        action="append",
        default=[],
        metavar="URL",
        help="POST every alert raised, escalated, acknowledged or resolved to URL "
        f"(repeatable; signed with ${WEBHOOK_SECRET_ENV}, else a secret beside the database)",
    )
    serve.add_argument(
        "--crisis-resources",
        type=Path,
        default=None,
        metavar="FILE",
        help='JSON {"message": ..., "resources": [{"name": ..., "contact": ...}]} sent to the '
        "patient with every critical alert (default: local emergency services)",
    )


def alerting_of(args: argparse.Namespace) -> Alerting:
    """The alert settings the flags ask for.

    Raises:
        ConfigError: an unreadable or malformed resources file, a bad URL or secret.
    """
    return alerting_from(
        args.db,
        escalate_after_s=args.alert_escalate_after,
        webhooks=tuple(args.webhook),
        crisis_resources=args.crisis_resources,
    )
