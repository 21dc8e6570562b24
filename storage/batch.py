"""A batch of accepted events: what one append commits, all or nothing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from domain.events import Event
from storage.lane import BULK, Lane, Steps


@dataclass(frozen=True, slots=True)
class Batch:
    """Events committed in one transaction, with the rows they decided.

    ``together`` holds what the events decided and must never be lost without them nor kept
    without them (their alerts, webhook deliveries, marks). ``lane``: see :mod:`storage.writer`.
    """

    events: Sequence[Event]
    received_at: datetime
    together: Steps = ()
    lane: Lane = BULK
