"""Errors of the shell; each maps to a documented wire code or HTTP status.

HubError
├── Unauthorized   missing, expired or badly signed token -> close 4001 / HTTP 401
├── Forbidden      outside the role's rights               -> ``forbidden`` / HTTP 403
├── UnknownPatient not registered                          -> ``unknown_patient`` / HTTP 404
└── RateLimited    too many requests                       -> ``rate_limited`` / HTTP 429
"""


class HubError(Exception):
    """Base of the shell's errors."""


class Unauthorized(HubError):
    """The token is missing, expired or badly signed."""


class Forbidden(HubError):
    """The principal may not do this."""


class UnknownPatient(HubError):
    """No patient is registered under this id."""


class RateLimited(HubError):
    """The caller must slow down."""

    def __init__(self, detail: str, retry_after_s: float) -> None:
        super().__init__(detail)
        self.retry_after_s = retry_after_s
