"""The progress document: every figure of one patient, JSON-ready, as of a local day."""

from __future__ import annotations

from typing import Any

from domain.dropout import dropout_risk
from domain.engagement import engagement
from domain.goals import action_items_summary, goals_summary
from domain.ledger import Ledger
from domain.mood import mood_trend
from domain.streaks import streak_from_ordinals


def progress_document(ledger: Ledger, today: int) -> dict[str, Any]:
    """The figures derivable from facts alone (milestones and insights are added by the tracker).

    Args:
        ledger: the patient's facts.
        today: the patient's local day (ordinal) the figures are computed for.
    """
    patient = ledger.patient
    figures = engagement(ledger, today)
    return {
        "patient_id": patient.patient_id,
        "therapist_id": patient.therapist_id,
        "timezone": patient.timezone,
        "total_sessions": figures["total_sessions"],
        "first_session_date": figures["first_session_date"],
        "last_session_date": figures["last_session_date"],
        "session_frequency": {
            "weekly_average": figures["weekly_average"],
            "trend": figures["frequency_trend"],
        },
        "mood_trend": mood_trend(ledger),
        "goals": goals_summary(ledger),
        "action_items": action_items_summary(ledger),
        "engagement": figures,
        "streak": streak_from_ordinals(ledger.active_days, today).to_wire(),
        "dropout_risk": dropout_risk(ledger, today).to_wire(),
        "progress_markers": dict(ledger.markers),
    }
