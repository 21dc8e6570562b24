"""Dropout risk: a documented score in 0..1, its level, and the alert's hysteresis.

The score is a weighted sum of five factors, each in 0..1 before weighting (weights sum to 1):

=================  ======  ==============================================================
factor             weight  value before weighting
=================  ======  ==============================================================
silence            0.45    clamp((days since last active day / usual gap - 1) / 2); the
                           usual gap is the mean gap over the last 11 active days (7 when
                           there are fewer than 2)
frequency_decline  0.20    clamp((usual 4-week count - last 4 weeks) / usual); the usual
                           count is the patient's completed sessions before the last 4
                           weeks per 28 days of the span they cover (first to last, plus
                           one mean gap; at least 28 days)
missed_sessions    0.15    share of cancelled or no-show among the last 10 ended sessions
falling_mood       0.10    clamp(-(recent mood change) / 3)
shorter_sessions   0.10    clamp((earlier mean - last 3 mean) / earlier mean), earlier being
                           up to 10 completed sessions before the last 3 (needs 3 of them)
=================  ======  ==============================================================

Two escalations add to a factor's share, so that no patient is out of the alert's reach:

- app-only silence: a patient with no completed session on record (frequency_decline cannot
  see them) adds ``APP_SILENCE_WEIGHT`` (0.20) to silence once the silence is at least
  ``APP_SILENCE_GAPS`` (3) usual gaps and ``APP_SILENCE_DAYS`` (14) days long;
- missed in a row: the last ``MISSED_RUN`` (2) or more ended sessions all missed adds
  ``MISSED_RUN_WEIGHT`` (0.30) to missed_sessions: consecutive no-shows weigh more than the
  same number scattered among attended sessions.

The score is capped at 1. The weights are a clinical judgement, not fitted to outcomes:
``MODEL_VERSION`` names this set, so a clinic can check the score against its own dropouts
(docs/domain.md) before it trusts the alert.

Level: ``high`` above 0.6, ``moderate`` above 0.3, else ``low``. Silence is counted in the
patient's local days, so the score rises at local midnight while a patient stays away.

``dropout_score(ledger, day, until)`` scores as of a past local day: ``until`` (the first
instant after that day, :meth:`~domain.zoneclock.ZoneClock.day_end`) cuts every time-ordered
list with a bisect, so the chart's daily ``dropout_score`` column reads only facts dated on or
before each day, the way the score read them that evening.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from domain.engagement import FREQUENCY_WINDOW_DAYS
from domain.ledger import Ledger
from domain.mood import mood_delta

HIGH_RISK: Final = 0.6
"""Crossing above this raises ``dropout_risk_high`` (once)."""
REARM_BELOW: Final = 0.5
"""The alert re-arms only after the score falls below this (hysteresis)."""
MODERATE_RISK: Final = 0.3
DEFAULT_USUAL_GAP_DAYS: Final = 7.0
USUAL_GAP_SPAN: Final = 11
MISSED_WINDOW: Final = 10
SHORT_RECENT: Final = 3
SHORT_EARLIER: Final = 10
MOOD_FALL_FULL: Final = 3.0
MODEL_VERSION: Final = 2
"""Which weights and escalations scored a risk; carried as ``model_version``."""
APP_SILENCE_WEIGHT: Final = 0.20
APP_SILENCE_GAPS: Final = 3
APP_SILENCE_DAYS: Final = 14
MISSED_RUN: Final = 2
MISSED_RUN_WEIGHT: Final = 0.30

WEIGHTS: Final = {
    "silence": 0.45,
    "frequency_decline": 0.20,
    "missed_sessions": 0.15,
    "falling_mood": 0.10,
    "shorter_sessions": 0.10,
}

RiskLevel = Literal["low", "moderate", "high"]


def _clamp(value: float) -> float:
    # "<= 0" also turns -0.0 (a fall of zero) into a plain 0.0 on the wire.
    return 0.0 if value <= 0 else 1.0 if value > 1 else value


@dataclass(frozen=True, slots=True)
class RiskFactor:
    """One factor's share of the score, with the numbers behind it."""

    name: str
    contribution: float
    detail: dict[str, Any] = field(default_factory=dict)

    def to_wire(self) -> dict[str, Any]:
        return {"name": self.name, "contribution": self.contribution, **self.detail}


@dataclass(frozen=True, slots=True)
class DropoutRisk:
    """The dropout risk score, its level and the factors that make it up."""

    score: float
    level: RiskLevel
    factors: tuple[RiskFactor, ...]

    def to_wire(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "level": self.level,
            "model_version": MODEL_VERSION,
            "factors": [factor.to_wire() for factor in self.factors],
        }


def level_of(score: float) -> RiskLevel:
    """``high`` above 0.6, ``moderate`` above 0.3, else ``low``."""
    if score > HIGH_RISK:
        return "high"
    return "moderate" if score > MODERATE_RISK else "low"


def _contribution(name: str, value: float, extra: float = 0.0) -> float:
    return round(WEIGHTS[name] * _clamp(value) + extra, 3)


def _app_silence(ledger: Ledger, today: int, silent: int | None, gap: float | None) -> float:
    """The app-only silence escalation: its weight when it applies, else 0."""
    if silent is None or gap is None or bisect_right(ledger.completed_days, today):
        return 0.0
    long_enough = silent >= APP_SILENCE_GAPS * gap and silent >= APP_SILENCE_DAYS
    return APP_SILENCE_WEIGHT if long_enough else 0.0


def _known(
    order: list[tuple[float, str, float]] | list[tuple[float, str]], until: float | None
) -> int:
    """How many entries of a time-ordered list are dated before ``until`` (all when None)."""
    return len(order) if until is None else bisect_left(order, (until,))


def _missed_run(ledger: Ledger, until: float | None) -> int:
    """How many of the last ended sessions were missed in a row."""
    order = ledger.ended_order
    run = 0
    for index in range(_known(order, until) - 1, -1, -1):
        if not order[index][2]:
            break
        run += 1
    return run


def _run_extra(run: int) -> float:
    return MISSED_RUN_WEIGHT if run >= MISSED_RUN else 0.0


def _silence(ledger: Ledger, today: int) -> tuple[float, int | None, float | None]:
    """(value, days since the last active day, usual gap in days)."""
    active = ledger.active_days
    known = bisect_right(active, today)
    if not known:
        return (0.0, None, None)
    last = active[known - 1]
    first_index = max(0, known - USUAL_GAP_SPAN)
    span = known - first_index
    gap = (last - active[first_index]) / (span - 1) if span > 1 else DEFAULT_USUAL_GAP_DAYS
    gap = max(gap, 1.0)
    silent = today - last
    return ((silent / gap - 1) / 2, silent, gap)


def _frequency(ledger: Ledger, today: int) -> tuple[float, int, float]:
    """(value, completed sessions in the last 4 weeks, usual count per 4 weeks)."""
    # Against the patient's own long-run pace, not just the 4 weeks before: a long silence must
    # keep counting as a decline once both recent windows are empty.
    days = ledger.completed_days
    window_start = today - FREQUENCY_WINDOW_DAYS + 1
    before = bisect_left(days, window_start)
    recent = bisect_right(days, today) - before
    usual = 0.0
    if before:
        # The span the earlier sessions cover, plus one usual gap after the last of them, so
        # the pace does not fade while the patient stays away.
        covered = days[before - 1] - days[0]
        gap = covered / (before - 1) if before > 1 else 0.0
        usual = before * FREQUENCY_WINDOW_DAYS / max(FREQUENCY_WINDOW_DAYS, covered + gap)
    return ((usual - recent) / usual if usual else 0.0, recent, usual)


def _missed(ledger: Ledger, until: float | None) -> tuple[float, int, int]:
    """(value, missed sessions among the last ended ones, how many ended ones were read)."""
    known = _known(ledger.ended_order, until)
    last = ledger.ended_order[max(0, known - MISSED_WINDOW) : known]
    read = len(last)
    missed = sum(1 for _, _, was_missed in last if was_missed)
    return (missed / read if read else 0.0, missed, read)


def _mood(ledger: Ledger, until: float | None) -> tuple[float, float | None]:
    """(value, recent mood change)."""
    delta = mood_delta(ledger, until)
    return (-delta / MOOD_FALL_FULL if delta is not None else 0.0, delta)


def _shorter(ledger: Ledger, until: float | None) -> tuple[float, float | None, float | None]:
    """(value, mean seconds of the last 3 completed sessions, mean of the ones before)."""
    order = ledger.completed_order
    count = _known(order, until)
    earlier_count = min(count - SHORT_RECENT, SHORT_EARLIER)
    if earlier_count < SHORT_RECENT:
        return (0.0, None, None)
    recent = order[count - SHORT_RECENT :]
    earlier = order[count - SHORT_RECENT - earlier_count : count - SHORT_RECENT]
    recent_mean = sum(seconds for _, _, seconds in recent) / SHORT_RECENT
    earlier_mean = sum(seconds for _, _, seconds in earlier) / earlier_count
    value = (earlier_mean - recent_mean) / earlier_mean if earlier_mean > 0 else 0.0
    return (value, recent_mean, earlier_mean)


def _minutes(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 60, 2)


def dropout_risk(ledger: Ledger, today: int) -> DropoutRisk:
    """The patient's dropout risk as of their local day ``today`` (an ordinal)."""
    silence, silent, gap = _silence(ledger, today)
    frequency, recent, usual = _frequency(ledger, today)
    missed, missed_count, ended = _missed(ledger, None)
    mood, change = _mood(ledger, None)
    shorter, recent_s, earlier_s = _shorter(ledger, None)
    app_silence = _app_silence(ledger, today, silent, gap)
    run = _missed_run(ledger, None)
    factors = (
        RiskFactor(
            "silence",
            _contribution("silence", silence, app_silence),
            {
                "days_since_last_activity": silent,
                "usual_gap_days": None if gap is None else round(gap, 2),
                "app_only_prolonged": app_silence > 0,
            },
        ),
        RiskFactor(
            "frequency_decline",
            _contribution("frequency_decline", frequency),
            {"sessions_last_4_weeks": recent, "usual_per_4_weeks": round(usual, 2)},
        ),
        RiskFactor(
            "missed_sessions",
            _contribution("missed_sessions", missed, _run_extra(run)),
            {"missed": missed_count, "of_last": ended, "in_a_row": run},
        ),
        RiskFactor(
            "falling_mood",
            _contribution("falling_mood", mood),
            {"recent_change": None if change is None else round(change, 3)},
        ),
        RiskFactor(
            "shorter_sessions",
            _contribution("shorter_sessions", shorter),
            {"recent_minutes": _minutes(recent_s), "earlier_minutes": _minutes(earlier_s)},
        ),
    )
    score = _score(factor.contribution for factor in factors)
    return DropoutRisk(score, level_of(score), factors)


def dropout_score(ledger: Ledger, today: int, until: float | None = None) -> float:
    """The score of :func:`dropout_risk` without the explanation (the hub re-scores often).

    With ``until`` (a POSIX timestamp: the end of local day ``today``), only the facts dated
    before it count: the score as it stood at the end of that day.
    """
    silence, silent, gap = _silence(ledger, today)
    missed = _missed(ledger, until)[0]
    return _score(
        (
            _contribution("silence", silence, _app_silence(ledger, today, silent, gap)),
            _contribution("frequency_decline", _frequency(ledger, today)[0]),
            _contribution("missed_sessions", missed, _run_extra(_missed_run(ledger, until))),
            _contribution("falling_mood", _mood(ledger, until)[0]),
            _contribution("shorter_sessions", _shorter(ledger, until)[0]),
        )
    )


def _score(contributions: Iterable[float]) -> float:
    """The factors' contributions (in ``WEIGHTS`` order) summed and capped at 1."""
    return round(min(1.0, sum(contributions)), 3)


@dataclass(slots=True)
class DropoutAlertGate:
    """Raises ``dropout_risk_high`` once per excursion above 0.6; re-arms below 0.5.

    ``armed`` is part of the tracker's marks: it is not derivable from events, and a restart
    must not raise the same alert again.
    """

    armed: bool = True

    def observe(self, score: float) -> bool:
        """Feed the current score; True when the alert must be raised now."""
        if self.armed and score > HIGH_RISK:
            self.armed = False
            return True
        if not self.armed and score < REARM_BELOW:
            self.armed = True
        return False
