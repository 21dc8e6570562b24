"""Errors of the clients package."""

from __future__ import annotations


class SessionClientStopped(Exception):
    """The client stopped for good: the hub refused its token, or it was closed."""
