"""Ways to damage a stored snapshot, shared by the tests that check the hub refuses it."""

from __future__ import annotations

import sqlite3


def flip_last_byte(body: bytes) -> bytes:
    """The same snapshot part with its last bit turned: its signature no longer matches."""
    return bytes(body[:-1]) + bytes([body[-1] ^ 1])


def from_another_format(connection: sqlite3.Connection) -> None:
    """Mark the snapshot as written by another format version of the code."""
    connection.execute("UPDATE snapshots SET format = format + 1")
