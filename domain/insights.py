"""Recommendations for the therapist and patient, as a declared catalog of rules.

Each rule reads a few figures through :class:`InsightInputs` (computed lazily, so checking one
rule never pays for the others) and carries a short, kind message. None of them shames a
broken streak: they speak about what is going well, or suggest an easier path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Protocol

from domain.dropout import HIGH_RISK

PACE_STREAK: Final = 3
PACE_MOMENTUM: Final = 0.6
MINDFULNESS_COUNT: Final = 3
MINDFULNESS_DAYS: Final = 14
"""``explore_mindfulness``: at least 3 exercises of any kind in the last 14 local days.

The seed's rule, "frequent exercises -> suggest mindfulness": a patient who practises exercises
often may take to a related, practice-based approach. Counting only ``mindfulness/*`` exercises
reached only patients already doing mindfulness."""


class InsightInputs(Protocol):
    """The figures the rules read; an implementation computes each one on first use."""

    @property
    def streak_current(self) -> int: ...

    @property
    def momentum(self) -> float: ...

    @property
    def dropout_score(self) -> float: ...

    @property
    def mindfulness_recent(self) -> int: ...

    @property
    def mood_trend(self) -> str: ...

    @property
    def mood_improving(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class InsightRule:
    """``code`` holds when ``holds(inputs)``; ``message`` is what the people read."""

    code: str
    message: str
    holds: Callable[[InsightInputs], bool]


def _pace(inputs: InsightInputs) -> bool:
    return inputs.streak_current >= PACE_STREAK and inputs.momentum >= PACE_MOMENTUM


def _risk(inputs: InsightInputs) -> bool:
    return inputs.dropout_score > HIGH_RISK


def _mindfulness(inputs: InsightInputs) -> bool:
    return inputs.mindfulness_recent >= MINDFULNESS_COUNT


def _mood(inputs: InsightInputs) -> bool:
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
