"""Goals and action items: the latest status of each, counted by status."""

from __future__ import annotations

from typing import Any

from domain.engagement import rate
from domain.ledger import Ledger


def goals_summary(ledger: Ledger) -> dict[str, Any]:
    """``goals``: totals by the latest status of each goal (latest by ``(at, id)``)."""
    counts = {"completed": 0, "in_progress": 0, "not_started": 0}
    for _, status in ledger.goals.values():
        counts[status] += 1
    total = len(ledger.goals)
    return {"total": total, **counts, "completion_rate": rate(counts["completed"], total)}


def action_items_summary(ledger: Ledger) -> dict[str, Any]:
    """``action_items``: totals by the latest status of each item."""
    done = sum(1 for _, status in ledger.items.values() if status == "done")
    total = len(ledger.items)
    return {
        "total": total,
        "done": done,
        "open": total - done,
        "completion_rate": rate(done, total),
    }
