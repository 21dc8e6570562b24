"""What applying an event asks the shell to do: push state, chart deltas, celebrations, alerts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from domain.days import ChartSums, chart_values


@dataclass(frozen=True, slots=True)
class StateChanged:
    """The patient's figures changed; subscribers should get a fresh ``state``."""


@dataclass(frozen=True, slots=True)
class SeriesDelta:
    """One daily chart bucket's new values (a mood is None on a day without one).

    Built for every touched day of every apply, and most are never read one by one (the
    fan-out keeps the last per day): it holds the day ordinal and the bucket's raw sums as
    they were, and turns them into a ``date`` and the values dict only when read.
    """

    day: int  # a local day ordinal
    sums: ChartSums  # activity, millis, pre_sum, pre_n, post_sum, post_n
    # Each instrument's chart key and the day's latest total (None without one).
    totals: tuple[tuple[str, int | None], ...] = ()

    @property
    def bucket(self) -> date:
        """The local day of the bucket."""
        return date.fromordinal(self.day)

    @property
    def values(self) -> dict[str, float | None]:
        """The bucket's chart values (``domain.days.chart_values``)."""
        values = chart_values(self.sums)
        values.update(self.totals)
        return values

    def __repr__(self) -> str:
        return f"SeriesDelta(bucket={self.bucket!r}, values={self.values!r})"


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
    """Something the therapist must see (codes and severities: :mod:`domain.alert_codes`).

    ``event_id`` and ``event_at`` name the event that raised it; both are ``None`` for an
    alert that time raised (the dropout risk growing in silence).
    """

    code: str
    severity: str
    detail: str
    event_id: str | None = None
    event_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class InsightRaised:
    """A recommendation became true for the patient."""

    code: str
    message: str


Effect = StateChanged | SeriesDelta | MilestoneReached | AlertRaised | InsightRaised
