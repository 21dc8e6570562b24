"""Errors the domain raises; each maps to a documented wire code in ``realtime``.

DomainError
├── InvalidEvent      -> ``invalid_event``
├── UnknownTimezone   -> HTTP 422 (patient registration, ``tz`` query parameters)
└── InvalidQuery      -> HTTP 422 (a query parameter out of range, e.g. ``period``)
"""


class DomainError(Exception):
    """Base of every error the domain raises."""


class InvalidEvent(DomainError):
    """An event broke the contract; the message lists ``field: reason`` clauses."""


class UnknownTimezone(DomainError):
    """A time zone name is not an IANA zone this machine knows."""


class InvalidQuery(DomainError, ValueError):
    """A read was asked with a parameter out of range; the message names the parameter."""
