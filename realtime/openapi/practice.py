"""The practice analytics answers (overview, trends, topics, heatmap, compare) as pydantic models.

Written from ``domain.analytics`` and ``domain.reports``; strict and closed like every answer
model, so ``tests/realtime/test_openapi.py`` fails when an answer drifts from the document.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from realtime.openapi.types import Closed, Count, IsoDate, Rate, Share


class PracticeOverview(Closed):
    total_patients: Count
    active_patients: Count
    sessions_this_week: Count
    sessions_this_month: Count
    upcoming_sessions: Count
    completion_rate: Rate


class TrendBucket(Closed):
    label: str = Field(description="2026-W47, Nov 2026, 2026-Q4 or 2026")
    start: IsoDate
    sessions: Count
    unique_patients: Count


class SessionTrends(Closed):
    period: Literal["week", "month", "quarter", "year"]
    data: list[TrendBucket] = Field(min_length=12, max_length=12)


class Topic(Closed):
    name: str
    count: int = Field(ge=1)
    percentage: Share


class Topics(Closed):
    topics: list[Topic]


Weekday = Literal["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
HourRow = Annotated[list[Count], Field(min_length=24, max_length=24)]


class HeatmapCell(Closed):
    day: Weekday
    hour: int = Field(ge=0, le=23)
    count: int = Field(ge=1)


class Heatmap(Closed):
    tz: str
    days: list[Weekday] = Field(min_length=7, max_length=7)
    matrix: list[HourRow] = Field(min_length=7, max_length=7, description="Monday first")
    cells: list[HeatmapCell] = Field(description="non-zero cells only")
    peak_day: Weekday | None
    peak_hour: int | None = Field(ge=0, le=23)
    total: Count


class Change(Closed):
    """A figure now and over the previous period of the same length."""

    value: float | None
    previous: float | None
    change: float | None = Field(description="value - previous")
    change_pct: float | None = Field(description="change / previous; null when previous is 0")


class Period(Closed):
    model_config = ConfigDict(populate_by_name=True)

    from_: IsoDate = Field(alias="from")
    to: IsoDate


class ComparedPatient(Closed):
    patient_id: str
    period: Period
    sessions_completed: Change
    minutes: Change
    active_days: Change
    completion_rate: Change
    streak: Change
    avg_mood_pre: Change
    avg_mood_post: Change
    dropout_risk: Change = Field(description="previous and change are always null")


class Comparison(Closed):
    days: int = Field(ge=1, le=366)
    patients: list[ComparedPatient] = Field(min_length=2, max_length=10)
