"""The hub's configuration: immutable groups of values, every default a named constant.

``Settings`` holds where the hub lives (host, port, database, secret) and four groups: what a
client may send (:class:`Limits`), what channels keep (:class:`History`), how events are kept
(:class:`Durability`) and the hub's clocks (:class:`Timers`).
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, Final

from realtime.protocol import DEFAULT_MAX_EVENTS_PER_PUBLISH
from storage.store import DEFAULT_SYNCHRONOUS, Synchronous

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_DB_PATH = Path("var/progress.db")
SECRET_ENV = "PROGRESS_HUB_SECRET"
MIN_SECRET_LENGTH = 32  # bytes of HMAC key HS256 needs (RFC 7518 section 3.2)

DEFAULT_MAX_FRAME_BYTES = 256 * 1024
DEFAULT_BAD_FRAME_LIMIT = 20
DEFAULT_BAD_FRAME_WINDOW_S = 60.0
DEFAULT_HISTORY_SIZE = 1_000
DEFAULT_HISTORY_TTL_S = 600.0
DEFAULT_HISTORY_MAX_BYTES = 256 * 1024
DEFAULT_SEND_QUEUE_FRAMES = 1_000
DEFAULT_MAX_INFLIGHT_PUBLISHES = 16
DEFAULT_PING_INTERVAL_S = 25.0
DEFAULT_PING_TIMEOUT_S = 20.0
DEFAULT_MAX_FUTURE_SKEW_S = 24 * 3600.0
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
DEFAULT_RATE_LIMIT_FRAMES_PER_S = 500.0
DEFAULT_RATE_LIMIT_BURST = 1_000.0
DEFAULT_SHUTDOWN_GRACE_S = 5.0
DEFAULT_COALESCE_S = 0.1
DEFAULT_SNAPSHOT_INTERVAL_S = 300.0
DEFAULT_REST_RATE_PER_S = 200.0
DEFAULT_REST_RATE_BURST = 400.0
DEFAULT_TICK_INTERVAL_S = 60.0
RETENTION_ENV = "PROGRESS_HUB_RETENTION_DAYS"
DEFAULT_PURGE_INTERVAL_S = 3600.0
DEFAULT_ALERT_ESCALATE_AFTER_S = 900.0
DEFAULT_MAX_ESCALATIONS = 3
DEFAULT_GAMIFICATION_HOLD_S = 24 * 3600.0
DEFAULT_WEBHOOK_TIMEOUT_S = 5.0
DEFAULT_WEBHOOK_MAX_QUEUED = 10_000
DEFAULT_WEBHOOK_MAX_BACKOFF_S = 300.0
# Open alerts published again per subscribe: half the default send queue, so a therapist with
# thousands unacknowledged is not cut off as a slow consumer on every reconnect (the
# snapshot's ``open_alerts`` still lists them all).
DEFAULT_REDELIVER_MAX = 500
WEBHOOK_SECRET_ENV = "PROGRESS_HUB_WEBHOOK_SECRET"
DEFAULT_SUPPORT_MESSAGE = (
    "If you are in danger or thinking about harming yourself, please contact your local "
    "emergency services now. You are not alone, and help is available."
)
DEFAULT_CRISIS_RESOURCES: Final[tuple[tuple[str, str], ...]] = (
    ("Local emergency services", "your local emergency number (112 in the EU, 999 in the UK)"),
)


class ConfigError(Exception):
    """The configuration cannot work (an unreadable secret, a bad path)."""


@dataclass(frozen=True, kw_only=True)
class Limits:
    """What one client may send and keep waiting (most are announced in ``welcome.limits``)."""

    max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES
    max_events_per_publish: int = DEFAULT_MAX_EVENTS_PER_PUBLISH
    bad_frame_limit: int = DEFAULT_BAD_FRAME_LIMIT
    bad_frame_window_s: float = DEFAULT_BAD_FRAME_WINDOW_S
    send_queue_frames: int = DEFAULT_SEND_QUEUE_FRAMES
    max_inflight_publishes: int = DEFAULT_MAX_INFLIGHT_PUBLISHES
    rate_limit_frames_per_s: float = DEFAULT_RATE_LIMIT_FRAMES_PER_S
    rate_limit_burst: float = DEFAULT_RATE_LIMIT_BURST
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    rest_rate_per_s: float = DEFAULT_REST_RATE_PER_S
    rest_rate_burst: float = DEFAULT_REST_RATE_BURST
    max_future_skew_s: float = DEFAULT_MAX_FUTURE_SKEW_S


@dataclass(frozen=True, kw_only=True)
class History:
    """What each channel keeps for clients that reconnect with ``since``."""

    history_size: int = DEFAULT_HISTORY_SIZE
    history_ttl_s: float = DEFAULT_HISTORY_TTL_S
    history_max_bytes: int = DEFAULT_HISTORY_MAX_BYTES


@dataclass(frozen=True, kw_only=True)
class Durability:
    """How the store keeps what it was given, and for how long."""

    synchronous: Synchronous = DEFAULT_SYNCHRONOUS
    snapshot_interval_s: float = DEFAULT_SNAPSHOT_INTERVAL_S
    # Raw events dated more than this many days ago are purged once a snapshot holds their
    # figures; None keeps every event (the default: purging is a decision, not an accident).
    retention_days: float | None = None
    purge_interval_s: float = DEFAULT_PURGE_INTERVAL_S


@dataclass(frozen=True, kw_only=True)
class Timers:
    """The hub's clocks: keep-alives, shutdown, coalescing and the domain's tick."""

    ping_interval_s: float = DEFAULT_PING_INTERVAL_S
    ping_timeout_s: float = DEFAULT_PING_TIMEOUT_S
    shutdown_grace_s: float = DEFAULT_SHUTDOWN_GRACE_S
    coalesce_s: float = DEFAULT_COALESCE_S
    tick_interval_s: float = DEFAULT_TICK_INTERVAL_S


@dataclass(frozen=True, kw_only=True)
class Alerting:
    """Alerts (``PROTOCOL.md`` section 7): escalation, webhooks, support for the patient."""

    alert_escalate_after_s: float = DEFAULT_ALERT_ESCALATE_AFTER_S
    max_escalations: int = DEFAULT_MAX_ESCALATIONS
    gamification_hold_s: float = DEFAULT_GAMIFICATION_HOLD_S
    webhooks: tuple[str, ...] = ()
    webhook_secret: str = ""
    webhook_timeout_s: float = DEFAULT_WEBHOOK_TIMEOUT_S
    webhook_max_queued: int = DEFAULT_WEBHOOK_MAX_QUEUED
    webhook_max_backoff_s: float = DEFAULT_WEBHOOK_MAX_BACKOFF_S
    redeliver_max: int = DEFAULT_REDELIVER_MAX
    support_message: str = DEFAULT_SUPPORT_MESSAGE
    crisis_resources: tuple[tuple[str, str], ...] = DEFAULT_CRISIS_RESOURCES


DEFAULT_LIMITS: Final = Limits()
DEFAULT_HISTORY: Final = History()
DEFAULT_DURABILITY: Final = Durability()
DEFAULT_TIMERS: Final = Timers()
DEFAULT_ALERTING: Final = Alerting()
_GROUPS: Final = ("limits", "history", "durability", "timers", "alerting")


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything a hub needs to run; build once, never mutate."""

    secret: str
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    db_path: Path = DEFAULT_DB_PATH
    limits: Limits = DEFAULT_LIMITS
    history: History = DEFAULT_HISTORY
    durability: Durability = DEFAULT_DURABILITY
    timers: Timers = DEFAULT_TIMERS
    alerting: Alerting = DEFAULT_ALERTING

    def with_values(self, **values: Any) -> Settings:
        """A copy with some values changed, each named as in its group (``tick_interval_s``).

        Raises:
            TypeError: no group has a value of that name.
        """
        top = {name: values.pop(name) for name in list(values) if name not in _GROUP_OF}
        changed: dict[str, Any] = {}
        for name, value in values.items():
            group = _GROUP_OF[name]
            changed.setdefault(group, {})[name] = value
        groups = {
            group: replace(getattr(self, group), **fields) for group, fields in changed.items()
        }
        return replace(self, **top, **groups)

    def welcome_limits(self) -> dict[str, Any]:
        """What ``welcome.limits`` announces to every client."""
        limits, history = self.limits, self.history
        return {
            "max_frame_bytes": limits.max_frame_bytes,
            "max_events_per_publish": limits.max_events_per_publish,
            "bad_frames_per_window": limits.bad_frame_limit,
            "bad_frame_window_s": limits.bad_frame_window_s,
            "history_size": history.history_size,
            "history_ttl_s": history.history_ttl_s,
            "history_max_bytes": history.history_max_bytes,
            "send_queue_frames": limits.send_queue_frames,
            "ping_interval_s": self.timers.ping_interval_s,
            "rate_limit_frames_per_s": limits.rate_limit_frames_per_s,
            "rate_limit_burst": limits.rate_limit_burst,
            "coalesce_ms": round(self.timers.coalesce_s * 1000),
        }


_GROUP_OF: Final = {
    field.name: group
    for group, kind in zip(_GROUPS, (Limits, History, Durability, Timers, Alerting), strict=True)
    for field in fields(kind)
}


def parse_retention_days(value: str) -> float:
    """A retention age in days, as given on the command line or in the environment.

    Raises:
        ValueError: not a positive, finite number.
    """
    try:
        days = float(value)
    except ValueError:
        raise ValueError(f"retention days must be a number, got {value!r}") from None
    if not 0 < days < float("inf"):
        raise ValueError(f"retention days must be above 0, got {value!r}")
    return days


def retention_from_env() -> float | None:
    """``PROGRESS_HUB_RETENTION_DAYS``, or ``None`` when unset or empty.

    Raises:
        ConfigError: set but not a positive number.
    """
    value = os.environ.get(RETENTION_ENV, "").strip()
    if not value:
        return None
    try:
        return parse_retention_days(value)
    except ValueError as error:
        raise ConfigError(f"{RETENTION_ENV}: {error}") from None


def secret_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".secret")


def resolve_secret(
    db_path: Path, *, create: bool, env: str = SECRET_ENV, suffix: str = ".secret"
) -> str:
    """The signing secret: ``PROGRESS_HUB_SECRET``, else the file beside the database.

    With ``create``, a missing file is generated once, readable by its owner alone. The
    webhook secret is found the same way (``env=WEBHOOK_SECRET_ENV``, ``suffix=".webhook-secret"``).

    Raises:
        ConfigError: the secret is too short, or its file cannot be read or written.
    """
    from_env = os.environ.get(env)
    if from_env:
        if len(from_env) < MIN_SECRET_LENGTH:
            raise ConfigError(f"{env} must be at least {MIN_SECRET_LENGTH} characters")
        return from_env
    path = db_path.with_name(db_path.name + suffix)
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        if not create:
            raise ConfigError(
                f"no secret: set {env} or start the hub once with --db {db_path}"
            ) from None
    except OSError as error:
        raise ConfigError(f"cannot read secret {path}: {error.strerror}") from None
    secret = secrets.token_urlsafe(32)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    except OSError as error:
        raise ConfigError(f"cannot create secret {path}: {error.strerror}") from None
    with os.fdopen(descriptor, "w") as handle:
        handle.write(secret)
    return secret


def parse_crisis_resources(text: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """A clinic's ``--crisis-resources`` file: ``{"message", "resources": [{"name", "contact"}]}``.

    Raises:
        ValueError: not that shape (a message of 1-1000 characters, 1-20 resources).
    """
    try:
        data = json.loads(text)
    except ValueError as error:
        raise ValueError(f"not JSON: {error}") from None
    if not isinstance(data, dict):
        raise ValueError('expected {"message": ..., "resources": [...]}')
    message = data.get("message", DEFAULT_SUPPORT_MESSAGE)
    resources = data.get("resources")
    if not isinstance(message, str) or not 0 < len(message) <= 1000:
        raise ValueError("message: a string of 1 to 1000 characters")
    if not isinstance(resources, list) or not 0 < len(resources) <= 20:
        raise ValueError("resources: a list of 1 to 20 {name, contact} objects")
    pairs = []
    for item in resources:
        name = item.get("name") if isinstance(item, dict) else None
        contact = item.get("contact") if isinstance(item, dict) else None
        if not isinstance(name, str) or not isinstance(contact, str) or not name or not contact:
            raise ValueError("resources: each needs a non-empty name and contact")
        pairs.append((name, contact))
    return message, tuple(pairs)


def alerting_from(
    db_path: Path,
    *,
    escalate_after_s: float,
    webhooks: tuple[str, ...],
    crisis_resources: Path | None,
) -> Alerting:
    """The alert settings of ``progress-hub serve``; the webhook secret as the signing one.

    Raises:
        ConfigError: an unreadable or malformed resources file, a bad URL or secret.
    """
    for url in webhooks:
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"--webhook {url!r}: must be an http:// or https:// URL")
    values: dict[str, Any] = {"alert_escalate_after_s": escalate_after_s, "webhooks": webhooks}
    if webhooks:
        values["webhook_secret"] = resolve_secret(
            db_path, create=True, env=WEBHOOK_SECRET_ENV, suffix=".webhook-secret"
        )
    if crisis_resources is not None:
        try:
            message, resources = parse_crisis_resources(crisis_resources.read_text("utf-8"))
        except OSError as error:
            raise ConfigError(f"cannot read {crisis_resources}: {error.strerror}") from None
        except ValueError as error:
            raise ConfigError(f"{crisis_resources}: {error}") from None
        values.update(support_message=message, crisis_resources=resources)
    return Alerting(**values)
