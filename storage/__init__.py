"""Persistence of what the domain decided: SQLite via aiosqlite, with group commit."""
