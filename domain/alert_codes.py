"""Every alert code the hub raises and its severity (``PROTOCOL.md`` section 7), in one table.

A ``critical`` alert is escalated when left open, comes with support for the patient and holds
back gamification; a ``warning`` is listed and delivered like any alert, nothing more. Codes
are never renamed; the hub may add some.
"""

from __future__ import annotations

from typing import Final, Literal

Severity = Literal["critical", "warning"]

CRITICAL: Final = "critical"
WARNING: Final = "warning"

ALERT_SEVERITY: Final[dict[str, Severity]] = {
    # a mood check-in or session mood at or below 2, or a steep fall within a session
    "mood_crisis": "critical",
    # a PHQ-9 whose item 9 (thoughts of self-harm) is 1 or more (section 8)
    "suicide_risk_screen": "critical",
    # the dropout score crossed into "high" (hysteresis: once until it falls back)
    "dropout_risk_high": "warning",
    # a PHQ-9 or GAD-7 score rose by at least the reliable-change threshold (section 8)
    "reliable_deterioration": "warning",
}


def is_critical(severity: str) -> bool:
    """Whether an alert of this severity escalates, brings support and holds back rewards."""
    return severity == CRITICAL


POSITIVE_INSIGHTS: Final = frozenset({"mood_improving", "maintain_pace"})
"""Insights that praise progress: held back, like celebrations, while a crisis is open."""
