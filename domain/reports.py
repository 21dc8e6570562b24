"""Figures over a period: side-by-side comparison of patients and effectiveness reports.

A period is a range of the patient's local days, inclusive. Period figures are summed from the
ledger's day buckets, so they cost O(days in the period) and never rescan events.

Changes are against the previous period of the same length: ``change`` is the difference and
``change_pct`` the relative change (``None`` when the previous value is 0 or unknown). Dropout
risk is a judgement at an instant from everything known then; the events that arrived since
cannot be unlearned, so its previous value is not reconstructed and its change is ``None``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final

from domain.days import EMPTY_DAY, iso_day
from domain.mood import trend_label
from domain.outcomes import Outcome, measures_document, outcome, rfc3339_utc
from domain.progress import PatientProgress

MIN_COMPARED: Final = 2
MAX_COMPARED: Final = 10
SETTLED_TREND: Final = {"improving": "improved", "worsening": "worsened", "stable": "stable"}
"""A period's mood change in the past tense, by :func:`domain.mood.trend_label`'s word: one
threshold decides both the live trend and what a finished report calls the change."""


@dataclass(frozen=True, slots=True)
class PeriodFigures:
    """What happened on the local days ``first`` to ``last`` (ordinals, inclusive)."""

    first: int
    last: int
    completed: int
    missed: int
    minutes: float
    active_days: int
    pre_sum: int
    pre_n: int
    post_sum: int
    post_n: int
    reading_sum: int
    reading_n: int

    @property
    def completion_rate(self) -> float | None:
        ended = self.completed + self.missed
        return round(self.completed / ended, 4) if ended else None

    @property
    def avg_mood_pre(self) -> float | None:
        return round(self.pre_sum / self.pre_n, 2) if self.pre_n else None

    @property
    def avg_mood_post(self) -> float | None:
        return round(self.post_sum / self.post_n, 2) if self.post_n else None

    @property
    def avg_mood(self) -> float | None:
        """Every mood reading of the period: pre, post and check-ins."""
        return round(self.reading_sum / self.reading_n, 2) if self.reading_n else None


def period_figures(tracker: PatientProgress, first: int, last: int) -> PeriodFigures:
    ledger = tracker.ledger
    completed = minutes_ms = active = 0
    pre_sum = pre_n = post_sum = post_n = reading_sum = reading_n = 0
    for ordinal in range(first, last + 1):
        day = ledger.days.get(ordinal, EMPTY_DAY)
        completed += day.sessions
        minutes_ms += day.millis
        active += 1 if day.activity else 0
        pre_sum, pre_n = pre_sum + day.pre_sum, pre_n + day.pre_n
        post_sum, post_n = post_sum + day.post_sum, post_n + day.post_n
        reading_sum += day.pre_sum + day.post_sum + day.checkin_sum
        reading_n += day.pre_n + day.post_n + day.checkin_n
    missed = sum(
        1
        for ts, _, was_missed in ledger.ended_order
        if was_missed and first <= _local_ordinal(tracker, ts) <= last
    )
    return PeriodFigures(
        first,
        last,
        completed,
        missed,
        round(minutes_ms / 60_000, 2),
        active,
        pre_sum,
        pre_n,
        post_sum,
        post_n,
        reading_sum,
        reading_n,
    )


def _local_ordinal(tracker: PatientProgress, timestamp: float) -> int:
    return tracker.ledger.clock.local_day(datetime.fromtimestamp(timestamp, UTC))


def streak_ending(active_days: Sequence[int], day: int) -> int:
    """The run of consecutive active days that ends on ``day`` or the day before."""
    active = set(active_days)
    end = day if day in active else day - 1
    length = 0
    while end - length in active:
        length += 1
    return length


def _change(current: float | int | None, previous: float | int | None) -> dict[str, Any]:
    if current is None or previous is None:
        return {"value": current, "previous": previous, "change": None, "change_pct": None}
    change = round(current - previous, 4)
    pct = round(change / previous, 4) if previous else None
    return {"value": current, "previous": previous, "change": change, "change_pct": pct}


def compare_patients(
    trackers: Sequence[PatientProgress], now: datetime, days: int
) -> dict[str, Any]:
    """Side-by-side figures for 2 to 10 patients over their last ``days`` local days.

    Each figure carries its value, the previous period's value and the change.
    """
    entries = []
    for tracker in trackers:
        today = tracker.ledger.clock.today(now)
        current = period_figures(tracker, today - days + 1, today)
        previous = period_figures(tracker, today - 2 * days + 1, today - days)
        snapshot = tracker.snapshot(now)
        active_days = tracker.ledger.active_days
        entries.append(
            {
                "patient_id": tracker.patient.patient_id,
                "period": {"from": iso_day(current.first), "to": iso_day(current.last)},
                "sessions_completed": _change(current.completed, previous.completed),
                "minutes": _change(current.minutes, previous.minutes),
                "active_days": _change(current.active_days, previous.active_days),
                "completion_rate": _change(current.completion_rate, previous.completion_rate),
                "streak": _change(
                    streak_ending(active_days, today), streak_ending(active_days, today - days)
                ),
                "avg_mood_pre": _change(current.avg_mood_pre, previous.avg_mood_pre),
                "avg_mood_post": _change(current.avg_mood_post, previous.avg_mood_post),
                "dropout_risk": _change(snapshot["dropout_risk"]["score"], None),
            }
        )
    return {"days": days, "patients": entries}


def _trend_word(delta: float | None) -> str:
    return "unknown" if delta is None else SETTLED_TREND[trend_label(delta)]


def effectiveness_report(
    tracker: PatientProgress,
    start: date,
    end: date,
    alerts: Iterable[dict[str, Any]],
) -> dict[str, Any]:
    """What a period of therapy achieved, with plain-language findings.

    Args:
        tracker: the patient.
        start: the first local day of the period.
        end: the last local day (inclusive).
        alerts: alerts raised around the period, as stored (``code``, ``raised_at``, …);
            those whose local day falls outside it are left out.
    """
    first, last = start.toordinal(), end.toordinal()
    figures = period_figures(tracker, first, last)
    middle = first + (last - first) // 2
    early = period_figures(tracker, first, middle)
    late = period_figures(tracker, middle + 1, last) if last > first else early
    pre, post = figures.avg_mood_pre, figures.avg_mood_post
    session_change = round(post - pre, 2) if pre is not None and post is not None else None
    across = (
        round(late.avg_mood - early.avg_mood, 2)
        if early.avg_mood is not None and late.avg_mood is not None
        else None
    )
    clock = tracker.ledger.clock
    milestones = [
        {"id": m.id, "rule": m.rule, "title": m.title, "achieved_at": rfc3339_utc(m.achieved_at)}
        for m in tracker.milestones()
        if first <= clock.local_day(m.achieved_at) <= last
    ]
    alert_list = [
        alert
        for alert in alerts
        if first <= clock.local_day(datetime.fromisoformat(alert["raised_at"])) <= last
    ]
    outcomes = period_outcomes(tracker, first, last)
    findings = _findings(figures, session_change, across, milestones, alert_list, outcomes)
    return {
        "patient_id": tracker.patient.patient_id,
        "from": start.isoformat(),
        "to": end.isoformat(),
        "sessions": {
            "completed": figures.completed,
            "missed": figures.missed,
            "completion_rate": figures.completion_rate,
            "minutes": figures.minutes,
            "active_days": figures.active_days,
        },
        "mood": {
            "avg_pre": pre,
            "avg_post": post,
            "avg_change_pre_to_post": session_change,
            "first_half_avg": early.avg_mood,
            "second_half_avg": late.avg_mood,
            "change_across_period": across,
            "trend": _trend_word(across),
        },
        "milestones": milestones,
        "alerts": alert_list,
        # Each instrument's outcome over the scores dated in the period (section 8).
        "outcomes": measures_document(outcomes, False),
        "findings": findings,
    }


def period_outcomes(tracker: PatientProgress, first: int, last: int) -> dict[str, Outcome]:
    """The patient's outcomes over the scores whose local day is in ``first..last``."""
    day_of = tracker.ledger.clock.local_day
    result: dict[str, Outcome] = {}
    for name, whole in tracker.outcomes().items():
        within = [item for item in whole.history if first <= day_of(item.at) <= last]
        part = outcome(whole.instrument, within)
        if part is not None:
            result[name] = part
    return result


def _questionnaire_findings(outcomes: dict[str, Outcome]) -> list[str]:
    """Change judged by reliable change on each questionnaire scored twice or more."""
    findings = []
    for name, item in outcomes.items():
        if item.count < 2:
            continue
        words = {"improved": "a reliable improvement", "deteriorated": "a reliable deterioration"}
        judged = words.get(item.reliable_change, "no reliable change")
        extra = " and a reliable recovery" if item.reliable_recovery else ""
        findings.append(
            f"{name} went from {item.baseline.total} to {item.latest.total}: {judged}{extra} "
            f"(reliable change is {item.instrument.reliable_change} points)."
        )
    return findings


def _findings(
    figures: PeriodFigures,
    session_change: float | None,
    across: float | None,
    milestones: list[dict[str, Any]],
    alerts: list[dict[str, Any]],
    outcomes: dict[str, Outcome],
) -> list[str]:
    findings = []
    ended = figures.completed + figures.missed
    if ended:
        findings.append(
            f"Completed {figures.completed} of {ended} sessions that ended in this period "
            f"({round(100 * figures.completed / ended)}%)."
        )
    else:
        findings.append("No sessions ended in this period.")
    if session_change is not None:
        direction = (
            "higher" if session_change > 0 else "lower" if session_change < 0 else "the same"
        )
        amount = f"{abs(session_change):g} points " if session_change else ""
        findings.append(f"Mood after sessions was on average {amount}{direction} than before.")
    # Where questionnaires measured change, they judge it; the mood slider only where none did.
    measured = _questionnaire_findings(outcomes)
    findings += measured
    word = _trend_word(across)
    if word != "unknown" and not measured:
        findings.append(f"Mood across the period {word} (second half vs first half).")
    if milestones:
        titles = ", ".join(m["title"] for m in milestones)
        findings.append(f"Reached {len(milestones)} milestone(s): {titles}.")
    crises = sum(1 for alert in alerts if alert.get("code") == "mood_crisis")
    if crises:
        findings.append(f"{crises} mood crisis alert(s) were raised; review them with the patient.")
    if any(alert.get("code") == "dropout_risk_high" for alert in alerts):
        findings.append("Dropout risk was high at some point in this period.")
    return findings


def report_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """A UTC window wide enough to hold every instant of the local days ``start``..``end``."""
    return (
        datetime.combine(start, time.min, UTC) - timedelta(days=1),
        datetime.combine(end, time.min, UTC) + timedelta(days=2),
    )
