"""What applying an event asks the shell to do: push state, chart deltas, celebrations, alerts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import NamedTuple


@dataclass(frozen=True, slots=True)
class StateChanged:
    """The patient's figures changed; subscribers should get a fresh ``state``."""


class SeriesDelta(NamedTuple):
    """One daily chart bucket's new values (a mood is None on a day without one).

    A named tuple, not a frozen dataclass like the other effects: one is built per touched
    day of every batch, and a frozen dataclass's ``__init__`` costs several times as much.
    """

    bucket: date
    values: Mapping[str, float | None]


@dataclass(frozen=True, slots=True)
class Milestone:
    """A milestone a patient reached; ``id`` is stable for the patient and rule."""

    id: str
    rule: str
    title: str
    achieved_at: datetime


@dataclass(frozen=True, slots=True)
class MilestoneReached:
    """A milestone was newly reached: celebrate it."""

    milestone: Milestone


@dataclass(frozen=True, slots=True)
class AlertRaised:
    """Something the therapist must see (``dropout_risk_high``, ``mood_crisis``)."""

    code: str
    severity: str
    detail: str


@dataclass(frozen=True, slots=True)
class InsightRaised:
    """A recommendation became true for the patient."""

    code: str
    message: str


Effect = StateChanged | SeriesDelta | MilestoneReached | AlertRaised | InsightRaised
