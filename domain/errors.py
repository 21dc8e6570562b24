"""Errors the domain raises; each maps to a documented wire code in ``realtime``.

DomainError
├── InvalidEvent      -> ``invalid_event``
└── UnknownTimezone   -> HTTP 422 on patient registration
"""


class DomainError(Exception):
    """Base of every error the domain raises."""


class InvalidEvent(DomainError):
    """An event broke the contract; the message lists ``field: reason`` clauses."""


class UnknownTimezone(DomainError):
    """A time zone name is not an IANA zone this machine knows."""
