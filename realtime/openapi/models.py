"""The REST answers as pydantic models: the source of ``/openapi.json``'s response schemas.

Each model is written from what the endpoint returns (``domain.snapshot``, ``domain.analytics``,
``domain.reports``, ``realtime.rest.events*``), strict and closed (``extra="forbid"``), so
``tests/realtime/test_openapi.py`` fails when an answer grows a field the document does not
know, changes a type, or breaks a range. Nothing here is used on the request path.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, WithJsonSchema, field_validator

from realtime.openapi.outcomes import MeasureSummary
from realtime.openapi.types import Closed, Count, Instant, IsoDate, MoodScore, Rate, Share

# -- errors and plain answers ---------------------------------------------------------------

ErrorCode = Literal[
    "unauthorized",
    "forbidden",
    "unknown_patient",
    "not_found",
    "method_not_allowed",
    "too_large",
    "invalid",
    "bad_request",
    "rate_limited",
]


def _omitted_when_absent(schema: dict[str, Any]) -> None:
    schema.pop("default", None)  # absent, not null: the hub leaves the key out


class ApiErrorBody(Closed):
    """Every error: a machine code, a sentence for people, and on 422 the field at fault."""

    code: ErrorCode
    detail: str
    field: Annotated[
        str | None,
        WithJsonSchema({"type": "string", "description": "the query parameter or body field"}),
        Field(json_schema_extra=_omitted_when_absent),
    ] = None

    @field_validator("field")
    @classmethod
    def _present_means_named(cls, value: str | None) -> str | None:
        if value is None:
            raise ValueError("field is omitted, never null")
        return value


class Health(Closed):
    status: Literal["ok", "draining"]


class PatientRecord(Closed):
    """``PUT /api/v1/patients/{patient_id}``: the registration as stored."""

    patient_id: str
    therapist_id: str
    timezone: str
    created: bool = Field(description="true (201) for a new patient, false (200) for a change")


class RejectedEvent(Closed):
    id: str = Field(description='the id the event claimed, or "" when it had none usable')
    code: Literal["invalid_event", "unknown_patient", "forbidden", "internal"]
    detail: str


class Ack(Closed):
    """``POST /api/v1/events``: each event judged alone; sent once the accepted ones are durable."""

    accepted: list[str]
    duplicates: list[str]
    rejected: list[RejectedEvent]


class AuditEntry(Closed):
    seq: int = Field(ge=1)
    at: Instant
    role: Literal["patient", "therapist", "service", "admin"]
    sub: str
    action: str = Field(description="progress, series, milestones, insights, report, analytics.…")
    patient_id: str | None
    scope: str | None = Field(description="therapist:{id} or all, for practice-wide reads")


class AuditPage(Closed):
    entries: list[AuditEntry] = Field(description="newest first")
    next_before: int | None = Field(description="pass as before= for the next page; null at end")


class Alert(Closed):
    """The alert object of contract section 7, the same on every path."""

    alert_id: str
    patient_id: str
    therapist_id: str
    code: str = Field(examples=["mood_crisis"])
    severity: Literal["critical", "warning"]
    detail: str
    event_id: str | None = Field(description="null for a time-driven alert")
    event_at: str | None
    raised_at: str
    state: Literal["open", "acknowledged", "resolved"]
    acknowledged_by: str | None
    acknowledged_at: str | None
    note: str | None
    escalations: int = Field(ge=0, le=3)


class AlertList(Closed):
    alerts: list[Alert] = Field(description="newest first")
    next_before: str | None = Field(description="pass as before= for the next page; null at end")


# -- one patient ------------------------------------------------------------------------------


class SessionFrequency(Closed):
    weekly_average: float = Field(ge=0)
    trend: Literal["increasing", "stable", "declining"]


class MoodMonth(Closed):
    date: str = Field(pattern=r"^\d{4}-\d{2}$", description="local month, YYYY-MM")
    avg_pre: MoodScore | None
    avg_post: MoodScore | None


class MoodTrend(Closed):
    data: list[MoodMonth]
    average_change: float | None
    sessions_with_both: Count
    recent_change: float | None
    trend: Literal["improving", "stable", "worsening"]


class Goals(Closed):
    total: Count
    completed: Count
    in_progress: Count
    not_started: Count
    completion_rate: Rate


class ActionItems(Closed):
    total: Count
    done: Count
    open: Count
    completion_rate: Rate


class SessionsByStatus(Closed):
    completed: Count
    cancelled: Count
    no_show: Count


class Engagement(Closed):
    total_sessions: Count
    sessions_by_status: SessionsByStatus
    completion_rate: Rate
    total_minutes: float = Field(ge=0)
    average_duration_minutes: float = Field(ge=0)
    sessions_last_7_days: Count
    sessions_last_30_days: Count
    weekly_average: float = Field(ge=0)
    frequency_trend: Literal["increasing", "stable", "declining"]
    active_days_last_30: int = Field(ge=0, le=30)
    stickiness: Share
    momentum: Share
    exercises_completed: Count
    exercise_minutes: float = Field(ge=0)
    first_session_date: IsoDate | None
    last_session_date: IsoDate | None


class Streak(Closed):
    current: Count
    longest: Count
    last_active_day: IsoDate | None


class SilenceFactor(Closed):
    name: Literal["silence"]
    contribution: Share
    days_since_last_activity: int | None
    usual_gap_days: float | None
    app_only_prolonged: bool = Field(description="no completed session and a long silence")


class FrequencyDeclineFactor(Closed):
    name: Literal["frequency_decline"]
    contribution: Share
    sessions_last_4_weeks: Count
    usual_per_4_weeks: float = Field(ge=0)


class MissedSessionsFactor(Closed):
    name: Literal["missed_sessions"]
    contribution: Share
    missed: Count
    of_last: Count
    in_a_row: Count = Field(description="the last ended sessions missed in a row")


class FallingMoodFactor(Closed):
    name: Literal["falling_mood"]
    contribution: Share
    recent_change: float | None


class ShorterSessionsFactor(Closed):
    name: Literal["shorter_sessions"]
    contribution: Share
    recent_minutes: float | None
    earlier_minutes: float | None


RiskFactor = Annotated[
    SilenceFactor
    | FrequencyDeclineFactor
    | MissedSessionsFactor
    | FallingMoodFactor
    | ShorterSessionsFactor,
    Field(discriminator="name"),
]


class DropoutRisk(Closed):
    score: Share
    level: Literal["low", "moderate", "high"]
    model_version: int = Field(ge=1, description="the weights that scored it (docs/domain.md)")
    factors: list[RiskFactor]


class ProgressMarkers(Closed):
    SKILL_ACQUIRED: Count
    INSIGHT_GAINED: Count
    GOAL_PROGRESS: Count
    BREAKTHROUGH: Count


class Milestone(Closed):
    id: str = Field(description="stable for this patient and rule")
    rule: str = Field(description="first_session, streak_3, streak_7, …, first_goal")
    title: str
    achieved_at: Instant


class Highlight(Milestone):
    celebration_shown: bool


class Insight(Closed):
    code: str = Field(
        description="maintain_pace, shorter_more_frequent_sessions, explore_mindfulness, "
        "mood_improving"
    )
    message: str


class Progress(Closed):
    """``GET /api/v1/patients/{id}/progress`` and the WebSocket ``state`` document."""

    patient_id: str
    therapist_id: str
    timezone: str
    total_sessions: Count = Field(description="completed sessions")
    first_session_date: IsoDate | None
    last_session_date: IsoDate | None
    session_frequency: SessionFrequency
    mood_trend: MoodTrend
    goals: Goals
    action_items: ActionItems
    engagement: Engagement
    streak: Streak
    dropout_risk: DropoutRisk
    progress_markers: ProgressMarkers
    measures: dict[str, MeasureSummary] = Field(description="by instrument; section 8")
    milestones: list[Highlight]
    insights: list[Insight]


class SeriesColumns(Closed):
    activity_count: list[float]
    minutes: list[float]
    mood_pre: list[float | None]
    mood_post: list[float | None]
    phq9_total: list[int | None] = Field(description="the day's latest PHQ-9 total")
    gad7_total: list[int | None] = Field(description="the day's latest GAD-7 total")
    dropout_score: list[float | None] = Field(
        description=(
            "the dropout score as of the end of each day (today's: the live score); null where"
            " the hub cannot know it"
        )
    )


class SeriesUnits(Closed):
    activity_count: str
    minutes: str
    mood_pre: str
    mood_post: str
    phq9_total: str
    gad7_total: str
    dropout_score: str


class SeriesMeta(Closed):
    patient_id: str
    timezone: str
    bucket: Literal["day"]
    days: int = Field(ge=1, le=366)
    start: IsoDate
    end: IsoDate
    units: SeriesUnits


class ProgressVizSeries(Closed):
    """Daily buckets in the patient's zone, oldest first, ending today."""

    time_buckets: list[IsoDate]
    series: SeriesColumns
    meta: SeriesMeta


class Milestones(Closed):
    patient_id: str
    milestones: list[Highlight]


class Insights(Closed):
    patient_id: str
    insights: list[Insight]


class ReportSessions(Closed):
    completed: Count
    missed: Count
    completion_rate: Rate | None
    minutes: float = Field(ge=0)
    active_days: Count


class ReportMood(Closed):
    avg_pre: MoodScore | None
    avg_post: MoodScore | None
    avg_change_pre_to_post: float | None
    first_half_avg: MoodScore | None
    second_half_avg: MoodScore | None
    change_across_period: float | None
    trend: Literal["improved", "stable", "worsened", "unknown"]


class ReportAlert(Closed):
    patient_id: str
    code: str = Field(description="mood_crisis or dropout_risk_high")
    severity: str
    detail: str
    raised_at: Instant


class Report(Closed):
    """An effectiveness report over the patient's local days ``from``..``to`` inclusive."""

    model_config = ConfigDict(populate_by_name=True)

    patient_id: str
    from_: IsoDate = Field(alias="from")
    to: IsoDate
    sessions: ReportSessions
    mood: ReportMood
    milestones: list[Milestone]
    alerts: list[ReportAlert]
    outcomes: dict[str, MeasureSummary] = Field(description="over the scores in the period")
    findings: list[str]
