"""Which milestones a patient reached and which celebrations their app has shown.

The rules and their event-time ``achieved_at`` live in :mod:`domain.milestones`; this module
keeps the bookkeeping a tracker needs around them: each rule reached once (``MilestoneReached``
only then), the lowest unreached threshold per metric (so most events skip the catalog), and
the celebrated ids (part of the tracker's marks).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Final

from domain.effects import Effect, Milestone, MilestoneReached
from domain.ledger import Ledger
from domain.milestones import (
    FIRST_THRESHOLDS,
    MILESTONE_RULES,
    RULES_BY_METRIC,
    UNREACHABLE,
    Metric,
    metric_value,
    milestone_id,
    reached_key,
)
from domain.outcomes import rfc3339_utc
from domain.sessions import Key

_TITLES: Final = {rule.rule: rule.title for rule in MILESTONE_RULES}


def _instant(key: Key) -> datetime:
    return datetime.fromtimestamp(key[0], UTC)


class MilestoneBook:
    """The milestones one patient reached and the celebrations already shown.

    Args:
        patient_id: whose milestones these are (part of each milestone id).
    """

    __slots__ = ("patient_id", "reached", "celebrated", "next_threshold", "_cache")

    def __init__(self, patient_id: str) -> None:
        self.patient_id = patient_id
        self.reached: dict[str, datetime] = {}  # rule -> achieved_at when first reached
        self.celebrated: set[str] = set()
        # The lowest threshold not reached yet per metric: most events can skip the catalog.
        self.next_threshold: dict[Metric, int] = dict(FIRST_THRESHOLDS)
        self._cache: tuple[int, list[Milestone]] | None = None

    def milestone(self, rule: str, achieved_at: datetime) -> Milestone:
        """The milestone of ``rule`` for this patient."""
        return Milestone(milestone_id(self.patient_id, rule), rule, _TITLES[rule], achieved_at)

    def reach(self, ledger: Ledger, metric: Metric, effects: list[Effect]) -> None:
        """Reach every rule of ``metric`` its value now meets, each once."""
        value = metric_value(ledger.ever, metric)
        for rule in RULES_BY_METRIC[metric]:
            if rule.threshold <= value and rule.rule not in self.reached:
                key = reached_key(ledger.ever, rule)
                if key is None:  # cannot happen while metrics and keys agree; be safe
                    continue
                self.reached[rule.rule] = _instant(key)
                self._cache = None
                effects.append(MilestoneReached(self.milestone(rule.rule, _instant(key))))
        self.next_threshold[metric] = self._lowest_unreached(metric)

    def restore(self, reached: dict[str, datetime], celebrated: set[str]) -> None:
        """Adopt reached rules and celebrated ids from a saved state (unknown rules dropped)."""
        self.reached = {rule: at for rule, at in reached.items() if rule in _TITLES}
        self.celebrated = celebrated
        self._cache = None
        for metric in self.next_threshold:
            self.next_threshold[metric] = self._lowest_unreached(metric)

    def _lowest_unreached(self, metric: Metric) -> int:
        return min(
            (r.threshold for r in RULES_BY_METRIC[metric] if r.rule not in self.reached),
            default=UNREACHABLE,
        )

    def milestones(self, ledger: Ledger) -> list[Milestone]:
        """Every milestone reached, oldest first; ``achieved_at`` is in event-time order."""
        cache = self._cache
        if cache is not None and cache[0] == ledger.version:
            return list(cache[1])
        rows = []
        for order, rule in enumerate(MILESTONE_RULES):
            if rule.rule not in self.reached:
                continue
            key = reached_key(ledger.ever, rule)
            achieved_at = _instant(key) if key is not None else self.reached[rule.rule]
            rows.append((achieved_at, order, self.milestone(rule.rule, achieved_at)))
        milestones = [item for _, _, item in sorted(rows, key=lambda row: row[:2])]
        self._cache = (ledger.version, milestones)
        return list(milestones)

    def to_wire(self, milestone: Milestone) -> dict[str, Any]:
        """The milestone as the progress document and REST list show it."""
        return {
            "id": milestone.id,
            "rule": milestone.rule,
            "title": milestone.title,
            "achieved_at": rfc3339_utc(milestone.achieved_at),
            "celebration_shown": milestone.id in self.celebrated,
        }

    def mark_celebrated(self, ledger: Ledger, milestone_ids: Iterable[str]) -> list[str]:
        """Mark reached milestones as shown; returns the ids newly marked, in the order given."""
        known = {milestone.id for milestone in self.milestones(ledger)}
        marked: list[str] = []
        for item in milestone_ids:
            if item in known and item not in self.celebrated:
                self.celebrated.add(item)
                marked.append(item)
        return marked
