"""The hub's configuration: one immutable object, every default a named constant."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from storage.store import DEFAULT_SYNCHRONOUS, Synchronous

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_DB_PATH = Path("var/progress.db")
SECRET_ENV = "PROGRESS_HUB_SECRET"
MIN_SECRET_LENGTH = 32  # bytes of HMAC key HS256 needs (RFC 7518 section 3.2)

DEFAULT_MAX_FRAME_BYTES = 256 * 1024
DEFAULT_MAX_EVENTS_PER_PUBLISH = 500
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


class ConfigError(Exception):
    """The configuration cannot work (an unreadable secret, a bad path)."""


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything a hub needs to run; build once, never mutate."""

    secret: str
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    db_path: Path = DEFAULT_DB_PATH
    synchronous: Synchronous = DEFAULT_SYNCHRONOUS
    max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES
    max_events_per_publish: int = DEFAULT_MAX_EVENTS_PER_PUBLISH
    bad_frame_limit: int = DEFAULT_BAD_FRAME_LIMIT
    bad_frame_window_s: float = DEFAULT_BAD_FRAME_WINDOW_S
    history_size: int = DEFAULT_HISTORY_SIZE
    history_ttl_s: float = DEFAULT_HISTORY_TTL_S
    history_max_bytes: int = DEFAULT_HISTORY_MAX_BYTES
    send_queue_frames: int = DEFAULT_SEND_QUEUE_FRAMES
    max_inflight_publishes: int = DEFAULT_MAX_INFLIGHT_PUBLISHES
    ping_interval_s: float = DEFAULT_PING_INTERVAL_S
    ping_timeout_s: float = DEFAULT_PING_TIMEOUT_S
    max_future_skew_s: float = DEFAULT_MAX_FUTURE_SKEW_S
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    rate_limit_frames_per_s: float = DEFAULT_RATE_LIMIT_FRAMES_PER_S
    rate_limit_burst: float = DEFAULT_RATE_LIMIT_BURST
    shutdown_grace_s: float = DEFAULT_SHUTDOWN_GRACE_S
    coalesce_s: float = DEFAULT_COALESCE_S
    snapshot_interval_s: float = DEFAULT_SNAPSHOT_INTERVAL_S
    rest_rate_per_s: float = DEFAULT_REST_RATE_PER_S
    rest_rate_burst: float = DEFAULT_REST_RATE_BURST
    tick_interval_s: float = DEFAULT_TICK_INTERVAL_S
    # Raw events dated more than this many days ago are purged once a snapshot holds their
    # figures; None keeps every event (the default: purging is a decision, not an accident).
    retention_days: float | None = None
    purge_interval_s: float = DEFAULT_PURGE_INTERVAL_S

    def limits(self) -> dict[str, Any]:
        """What ``welcome.limits`` announces to every client."""
        return {
            "max_frame_bytes": self.max_frame_bytes,
            "max_events_per_publish": self.max_events_per_publish,
            "bad_frames_per_window": self.bad_frame_limit,
            "bad_frame_window_s": self.bad_frame_window_s,
            "history_size": self.history_size,
            "history_ttl_s": self.history_ttl_s,
            "history_max_bytes": self.history_max_bytes,
            "send_queue_frames": self.send_queue_frames,
            "ping_interval_s": self.ping_interval_s,
            "rate_limit_frames_per_s": self.rate_limit_frames_per_s,
            "rate_limit_burst": self.rate_limit_burst,
            "coalesce_ms": round(self.coalesce_s * 1000),
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


def resolve_secret(db_path: Path, *, create: bool) -> str:
    """The signing secret: ``PROGRESS_HUB_SECRET``, else the file beside the database.

    With ``create``, a missing file is generated once, readable by its owner alone.

    Raises:
        ConfigError: the secret is too short, or its file cannot be read or written.
    """
    from_env = os.environ.get(SECRET_ENV)
    if from_env:
        if len(from_env) < MIN_SECRET_LENGTH:
            raise ConfigError(f"{SECRET_ENV} must be at least {MIN_SECRET_LENGTH} characters")
        return from_env
    path = secret_path(db_path)
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        if not create:
            raise ConfigError(
                f"no secret: set {SECRET_ENV} or start the hub once with --db {db_path}"
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
