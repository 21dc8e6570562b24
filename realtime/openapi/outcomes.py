"""The answers of PROTOCOL.md section 8 as pydantic models: measures, outcomes, practice rates.

Written from ``domain.outcomes``; strict and closed like every answer model, so
``tests/realtime/test_openapi.py`` and the outcome wire tests fail when an answer drifts.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from realtime.openapi.types import Closed, Count, Instant

Severity = Literal["minimal", "mild", "moderate", "moderately_severe", "severe"]


class MeasurePoint(Closed):
    total: int = Field(ge=0)
    severity: Severity
    at: Instant


class MeasureSummary(Closed):
    """One instrument's outcome, as the progress document carries it (no history)."""

    count: int = Field(ge=1)
    baseline: MeasurePoint
    latest: MeasurePoint
    change: int = Field(description="latest - baseline")
    reliable_change: Literal["improved", "deteriorated", "none"]
    caseness_at_baseline: bool
    caseness_now: bool
    recovered: bool
    reliable_recovery: bool


class MeasureOutcome(MeasureSummary):
    history: list[MeasurePoint] = Field(description="every score, oldest first")


class PatientOutcomes(Closed):
    """``GET /api/v1/patients/{id}/outcomes``: keyed by instrument name (``PHQ-9``, ``GAD-7``)."""

    patient_id: str
    measures: dict[str, MeasureOutcome]


Fraction = float | None


class PracticeOutcome(Closed):
    """Over the patients with at least two scores on the instrument; None when nobody counts."""

    patients: Count
    cases_at_baseline: Count
    reliable_improvement_rate: Fraction = Field(ge=0, le=1)
    recovery_rate: Fraction = Field(ge=0, le=1, description="over cases_at_baseline")
    reliable_recovery_rate: Fraction = Field(ge=0, le=1, description="over cases_at_baseline")
    reliable_deterioration_rate: Fraction = Field(ge=0, le=1)


class PracticeOutcomes(Closed):
    """``GET /api/v1/analytics/outcomes``: one entry per instrument in the catalogue."""

    PHQ9: PracticeOutcome = Field(alias="PHQ-9")
    GAD7: PracticeOutcome = Field(alias="GAD-7")
