"""Every error the hub answers with: one class per wire code, carrying its code and HTTP status.

Raise the class; :func:`realtime.rest.http.handle_api_error` (REST) and
:func:`realtime.ws.session.error_of` (WebSocket) turn any of them into the contract's answer,
so a use case never decides how its refusal is spelled on the wire. This module imports
nothing, so ``realtime/protocol.py`` (and through it the clients) shares the same classes.

    HubError                          code              HTTP  WebSocket
    ├── Unauthorized                  unauthorized      401   close 4001
    ├── Forbidden                     forbidden         403   error frame
    ├── UnknownPatient                unknown_patient   404   error frame
    ├── UnknownAlert                  unknown_alert     404   (REST only; a WS ack skips it)
    ├── RateLimited                   rate_limited      429   error frame
    ├── InvalidEvent                  invalid_event     422   ack's ``rejected``
    ├── InternalError                 internal          500   error frame
    ├── InvalidRequest                invalid           422   (REST only: a query or field)
    │   └── BadRequest                bad_request       422   (REST only: an unusable body)
    └── FrameError                    the peer broke the contract; repeated, 4008
        ├── BadFrame                  bad_frame         400   error frame
        ├── UnknownChannel            unknown_channel   404   error frame
        └── TooLarge                  too_large         413   error frame
"""

from __future__ import annotations

from typing import ClassVar, Final, Literal, get_args

ErrorCode = Literal[
    "bad_frame",
    "invalid_event",
    "unknown_patient",
    "forbidden",
    "unknown_channel",
    "rate_limited",
    "too_large",
    "internal",
]
"""The codes of the WebSocket ``error`` frame and of an ack's ``rejected`` entries."""

ERROR_CODES: Final[tuple[ErrorCode, ...]] = get_args(ErrorCode)


class HubError(Exception):
    """Base of the hub's errors.

    Args:
        detail: a sentence for people (never a token or patient free text).
        ref: the ``ref`` of the frame being answered, when there is one.
        field: the query parameter or body field at fault (REST 422 answers).
    """

    code: ClassVar[str]
    status: ClassVar[int]

    def __init_subclass__(cls, *, code: str = "", status: int = 0) -> None:
        super().__init_subclass__()
        if code:
            cls.code = code
        if status:
            cls.status = status

    def __init__(self, detail: str, ref: str | None = None, *, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.ref = ref
        self.field = field


class Unauthorized(HubError, code="unauthorized", status=401):
    """The token is missing, expired or badly signed."""


class Forbidden(HubError, code="forbidden", status=403):
    """The principal may not do this."""


class UnknownPatient(HubError, code="unknown_patient", status=404):
    """No patient is registered under this id."""


class UnknownAlert(HubError, code="unknown_alert", status=404):
    """No alert has this id (said only to those who could read it if it existed)."""


class RateLimited(HubError, code="rate_limited", status=429):
    """The caller must slow down (REST answers say when, in ``Retry-After``)."""

    def __init__(self, detail: str, retry_after_s: float = 1.0, ref: str | None = None) -> None:
        super().__init__(detail, ref)
        self.retry_after_s = retry_after_s


class InvalidEvent(HubError, code="invalid_event", status=422):
    """An event the contract does not allow; answered per event, never for the whole batch."""


class InternalError(HubError, code="internal", status=500):
    """The hub failed; the caller's data was not taken and may be sent again."""


class InvalidRequest(HubError, code="invalid", status=422):
    """A REST query parameter or body field out of its documented range."""


class BadRequest(InvalidRequest, code="bad_request"):
    """A REST body the hub cannot use at all (not JSON, no events)."""


class FrameError(HubError):
    """The peer sent something the contract does not allow; repeated, it ends the connection."""


class BadFrame(FrameError, code="bad_frame", status=400):
    """Undecodable data, an unknown frame type, missing or wrong fields."""


class UnknownChannel(FrameError, code="unknown_channel", status=404):
    """A channel name of no known kind."""


class TooLarge(FrameError, code="too_large", status=413):
    """More than a limit allows: events in one publish, bytes in one body."""
