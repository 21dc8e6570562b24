"""Errors the domain raises; each maps to a documented wire code in ``realtime``.

DomainError
├── InvalidEvent      -> ``invalid_event``
├── UnknownTimezone   -> HTTP 422 (patient registration, ``tz`` query parameters)
├── InvalidQuery      -> HTTP 422 (a query parameter out of range, e.g. ``period``)
└── StateFormatError  -> a stored tracker state this code cannot read (a snapshot is then
                         ignored and the events replayed, or start-up fails: storage decides)
"""


class DomainError(Exception):
    """Base of every error the domain raises."""


class InvalidEvent(DomainError):
    """An event broke the contract; the message lists ``field: reason`` clauses."""


class UnknownTimezone(DomainError):
    """A time zone name is not an IANA zone this machine knows."""


class InvalidQuery(DomainError, ValueError):
    """A read was asked with a parameter out of range; the message names the parameter."""


class StateFormatError(DomainError, ValueError):
    """A tracker state (``PatientProgress.from_state``) has an unknown format or is garbled."""
