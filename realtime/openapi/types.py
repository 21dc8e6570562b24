"""The building blocks every REST answer model shares: strict closed models and typed figures."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


def _aware_instant(value: str) -> str:
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError("must carry a UTC offset")
    return value


IsoDate = Annotated[
    str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$", json_schema_extra={"format": "date"})
]
Instant = Annotated[
    str, AfterValidator(_aware_instant), Field(json_schema_extra={"format": "date-time"})
]
Count = Annotated[int, Field(ge=0)]
Share = Annotated[float, Field(ge=0, le=1)]
MoodScore = Annotated[float, Field(ge=1, le=10)]
Rate = Annotated[float, Field(ge=0, le=1, description="0..1; 0.0 when there is nothing to divide")]


class Closed(BaseModel):
    """Every answer model: strict types, no field the document does not name."""

    model_config = ConfigDict(extra="forbid", strict=True)
