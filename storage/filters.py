"""Optional filters of a listing query, as one ``WHERE`` clause and its parameters."""

from __future__ import annotations

from typing import Any


def where(conditions: dict[str, Any]) -> tuple[str, list[Any]]:
    """``WHERE a AND b`` (or nothing) for the conditions whose parameter is not ``None``.

    Each condition is SQL with exactly one ``?``, bound to its parameter; a ``None``
    parameter means the caller did not ask for that filter, so the condition is left out.
    """
    given = {condition: value for condition, value in conditions.items() if value is not None}
    clause = f"WHERE {' AND '.join(given)}" if given else ""
    return clause, list(given.values())
