"""Several rows in one ``INSERT`` statement: ``executemany`` without a GIL hand-off per row.

``sqlite3`` gives up the GIL around every step, i.e. once per row with ``executemany``, and
takes it back only when the event loop's thread lets go of it (up to a switch interval later
when that thread is busy). Measured at 5,000 publishes/s, a 200-row transaction took 40-110 ms
while the ticker kept the loop busy, 0.5 ms otherwise. One statement for many rows is one step.
"""

from __future__ import annotations

import functools
import re
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

Row = tuple[Any, ...]

# Rows per multi-row INSERT (plus at most one statement per power of two below it for the rest,
# so the connection's statement cache holds a handful of texts per statement).
ROWS_PER_STATEMENT = 64
_PARAMETER = re.compile(r"\?(\d*)")


@dataclass(frozen=True, slots=True)
class _ValuesForm:
    """An ``INSERT … VALUES (…) …`` split around its row, so several rows fit one statement."""

    head: str
    row: str
    tail: str
    per_row: int
    numbered: bool


@functools.lru_cache(maxsize=64)
def _values_form(statement: str) -> _ValuesForm | None:
    """How to repeat the statement's row, or ``None`` when it cannot be done safely."""
    if not statement.lstrip().upper().startswith("INSERT"):
        return None
    found = re.search(r"\bVALUES\s*\(", statement, re.IGNORECASE)
    if found is None:
        return None
    start = found.end() - 1
    depth = 0
    for end in range(start, len(statement)):
        depth += {"(": 1, ")": -1}.get(statement[end], 0)
        if depth == 0:
            break
    else:
        return None
    row, tail = statement[start : end + 1], statement[end + 1 :]
    literals = re.findall(r"'[^']*'", row)
    marks = _PARAMETER.findall(re.sub(r"'[^']*'", "''", row))
    # Parameters after the row, or a "?" inside a literal, are beyond this rewrite.
    if not marks or _PARAMETER.search(tail) or any("?" in literal for literal in literals):
        return None
    if all(mark == "" for mark in marks):
        return _ValuesForm(statement[:start], row, tail, len(marks), numbered=False)
    if all(mark != "" for mark in marks):
        return _ValuesForm(statement[:start], row, tail, max(map(int, marks)), numbered=True)
    return None


@functools.lru_cache(maxsize=256)
def _multi_row(statement: str, count: int) -> str:
    form = _values_form(statement)
    assert form is not None
    if form.numbered:

        def shifted(k: int) -> str:
            return _PARAMETER.sub(
                lambda mark: f"?{int(mark.group(1)) + k * form.per_row}", form.row
            )

        rows = [shifted(k) for k in range(count)]
    else:
        rows = [form.row] * count
    return form.head + ", ".join(rows) + form.tail


def execute_rows(connection: sqlite3.Connection, statement: str, rows: Sequence[Row]) -> None:
    """``executemany``, but with up to ``ROWS_PER_STATEMENT`` rows per INSERT statement.

    Rows are inserted in the same order, so ``OR IGNORE`` and ``ON CONFLICT`` behave exactly
    as with ``executemany``.
    """
    form = _values_form(statement) if len(rows) > 1 else None
    if form is None or any(len(row) != form.per_row for row in rows):
        connection.executemany(statement, rows)
        return
    index, total = 0, len(rows)
    while index < total:
        left = total - index
        size = ROWS_PER_STATEMENT if left >= ROWS_PER_STATEMENT else 1 << (left.bit_length() - 1)
        chunk = rows[index : index + size]
        if size == 1:
            connection.execute(statement, chunk[0])
        else:
            connection.execute(_multi_row(statement, size), [v for row in chunk for v in row])
        index += size
