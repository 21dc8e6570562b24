"""Chart series for front ends (``ProgressVizSeries``): daily buckets in the patient's zone."""

from __future__ import annotations

from typing import Any, Final

from domain.days import EMPTY_DAY, iso_day
from domain.errors import InvalidQuery
from domain.ledger import Ledger

DEFAULT_SERIES_DAYS: Final = 14
MAX_SERIES_DAYS: Final = 366
SERIES_NAMES: Final = ("activity_count", "minutes", "mood_pre", "mood_post")


def daily_series(ledger: Ledger, today: int, days: int = DEFAULT_SERIES_DAYS) -> dict[str, Any]:
    """``days`` daily buckets ending with ``today`` (local), oldest first.

    ``activity_count`` counts completed sessions, exercises and mood check-ins; ``minutes`` sums
    completed-session and exercise time; ``mood_pre``/``mood_post`` average the session moods
    of that day and are ``None`` on days without one.

    Raises:
        InvalidQuery: (a ``ValueError``) when ``days`` is outside ``1..366``.
    """
    if not 1 <= days <= MAX_SERIES_DAYS:
        raise InvalidQuery(f"days: must be between 1 and {MAX_SERIES_DAYS}")
    ordinals = range(today - days + 1, today + 1)
    columns: dict[str, list[float | None]] = {name: [] for name in SERIES_NAMES}
    for ordinal in ordinals:
        values = ledger.days.get(ordinal, EMPTY_DAY).chart_values()
        for name in SERIES_NAMES:
            columns[name].append(values[name])
    return {
        "time_buckets": [iso_day(ordinal) for ordinal in ordinals],
        "series": columns,
        "meta": {
            "patient_id": ledger.patient.patient_id,
            "timezone": ledger.patient.timezone,
            "bucket": "day",
            "days": days,
            "start": iso_day(ordinals[0]),
            "end": iso_day(ordinals[-1]),
            "units": {
                "activity_count": "events",
                "minutes": "minutes",
                "mood_pre": "score 1-10",
                "mood_post": "score 1-10",
            },
        },
    }
