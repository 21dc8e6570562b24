"""Recommendations for the therapist and patient, as a declared catalog of rules.

Each rule reads a few figures of a :class:`Figures` (computed lazily, so checking one
rule never pays for the others) and carries a short, kind message. None of them shames a
broken streak: they speak about what is going well, or suggest an easier path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from domain.dropout import HIGH_RISK, dropout_score
from domain.engagement import momentum
from domain.ledger import Ledger
from domain.mood import improving, mood_delta, trend_label
from domain.streaks import current_streak

PACE_STREAK: Final = 3
PACE_MOMENTUM: Final = 0.6
MINDFULNESS_COUNT: Final = 3
MINDFULNESS_DAYS: Final = 14
"""``explore_mindfulness``: at least 3 exercises of any kind in the last 14 local days.

The seed's rule, "frequent exercises -> suggest mindfulness": a patient who practises exercises
often may take to a related, practice-based approach. Counting only ``mindfulness/*`` exercises
reached only patients already doing mindfulness."""


class Figures:
    """The figures the rules read, each computed on first use, so checking one rule never
    pays for the others.

    Hand-written lazy properties: ``functools.cached_property`` takes a lock per access in
    Python 3.11, which costs more than the figures checked on the hot path.
    """

    __slots__ = (
        "_ledger",
        "_now",
        "_today",
        "_streak",
        "_momentum",
        "_dropout",
        "_mindful",
        "_mood",
    )

    def __init__(
        self,
        ledger: Ledger,
        today: int | None,
        dropout: float | None = None,
        now: datetime | None = None,
    ) -> None:
        """``today`` (a local day ordinal) or ``now`` to derive it from when a rule needs it."""
        self._ledger = ledger
        self._now = now
        self._today = today
        self._streak: int | None = None
        self._momentum: float | None = None
        self._dropout = dropout
        self._mindful: int | None = None
        self._mood: str | None = None

    @property
    def today(self) -> int:
        # The mood rule never needs "today": a mood event alone skips the zone conversion.
        if self._today is None:
            if self._now is None:
                raise ValueError("Figures needs today or now")
            self._today = self._ledger.clock.today(self._now)
        return self._today

    @property
    def streak_current(self) -> int:
        if self._streak is None:
            self._streak = current_streak(self._ledger.active_days, self.today)
        return self._streak

    @property
    def momentum(self) -> float:
        if self._momentum is None:
            self._momentum = momentum(self._ledger, self.today)
        return self._momentum

    @property
    def dropout_score(self) -> float:
        if self._dropout is None:
            self._dropout = dropout_score(self._ledger, self.today)
        return self._dropout

    @property
    def mindfulness_recent(self) -> int:
        if self._mindful is None:
            today = self.today
            first = today - MINDFULNESS_DAYS + 1
            # Exercises of any kind (the seed's rule): a day's activity less its sessions and
            # check-ins, so no further state is kept.
            days = self._ledger.days
            self._mindful = sum(
                bucket.activity - bucket.sessions - bucket.checkin_n
                for bucket in (days.get(day) for day in range(first, today + 1))
                if bucket is not None
            )
        return self._mindful

    @property
    def mood_trend(self) -> str:
        if self._mood is None:
            self._mood = trend_label(mood_delta(self._ledger))
        return self._mood

    @property
    def mood_improving(self) -> bool:
        # Read by one rule only, at most once per check: no cache needed.
        return improving(self._ledger)


@dataclass(frozen=True, slots=True)
class InsightRule:
    """``code`` holds when ``holds(inputs)``; ``message`` is what the people read."""

    code: str
    message: str
    holds: Callable[[Figures], bool]


def _pace(inputs: Figures) -> bool:
    return inputs.streak_current >= PACE_STREAK and inputs.momentum >= PACE_MOMENTUM


def _risk(inputs: Figures) -> bool:
    return inputs.dropout_score > HIGH_RISK


def _mindfulness(inputs: Figures) -> bool:
    return inputs.mindfulness_recent >= MINDFULNESS_COUNT


def _mood(inputs: Figures) -> bool:
    return inputs.mood_improving


INSIGHT_RULES: Final[tuple[InsightRule, ...]] = (
    InsightRule(
        "maintain_pace",
        "Maintain current pace: regular practice is building real momentum.",
        _pace,
    ),
    InsightRule(
        "shorter_more_frequent_sessions",
        "Shorter, more frequent sessions may make it easier to keep going.",
        _risk,
    ),
    InsightRule(
        "explore_mindfulness",
        "Exercises are a regular habit: a related, mindfulness-based approach may suit.",
        _mindfulness,
    ),
    InsightRule(
        "mood_improving",
        "Mood is improving across recent check-ins and sessions.",
        _mood,
    ),
)
RULES_BY_CODE: Final = {rule.code: rule for rule in INSIGHT_RULES}

# Which rules an event can flip, so ``apply`` re-checks only those (the rest wait for ``tick``).
ON_NEW_ACTIVE_DAY: Final = ("maintain_pace",)
ON_MINDFULNESS: Final = ("explore_mindfulness",)
ON_MOOD: Final = ("mood_improving",)
ON_RISK: Final = ("shorter_more_frequent_sessions",)
