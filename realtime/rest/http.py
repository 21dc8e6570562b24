"""What every REST endpoint shares: the error shape, the caller's identity, bodies and queries.

Every error body has one shape: ``{"code": …, "detail": …}`` plus ``field`` on 422, with the
codes of the WebSocket ``error`` frame where one fits.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from zoneinfo import available_timezones

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from domain.errors import InvalidQuery, UnknownTimezone
from domain.patients import zone
from realtime.auth import Principal, bearer_token, verify_token
from realtime.codec import LONE_SURROGATE, has_lone_surrogate
from realtime.errors import BadRequest, HubError, InvalidRequest, RateLimited, TooLarge

if TYPE_CHECKING:
    from realtime.runtime import Runtime


def invalid(field: str, detail: str) -> InvalidRequest:
    return InvalidRequest(f"{field}: {detail}", field=field)


def error_response(status: int, code: str, detail: str, field: str | None = None) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "detail": detail}
    if field is not None:
        body["field"] = field
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, headers=headers)


async def handle_api_error(request: Request, exc: Exception) -> Response:
    """The one place a REST refusal gets its status and body: from the error's class."""
    if isinstance(exc, InvalidQuery):
        exc = InvalidRequest(str(exc), field=str(exc).partition(":")[0] or "query")
    if isinstance(exc, HubError):
        response = error_response(exc.status, exc.code, exc.detail, exc.field)
        if isinstance(exc, RateLimited):
            response.headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after_s)))
        return response
    if isinstance(exc, HTTPException):
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "bad_request")
        response = error_response(exc.status_code, code, str(exc.detail))
        response.headers.update(exc.headers or {})  # the ``Allow`` of a 405, say
        return response
    raise exc


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def principal_of(request: Request) -> Principal:
    """The caller, authenticated and within its request rate.

    Raises:
        Unauthorized: no valid token.
        RateLimited: this token made too many requests.
    """
    runtime = runtime_of(request)
    token = bearer_token(request.headers.get("authorization"))
    principal = verify_token(runtime.settings.secret, token)
    assert token is not None  # verify_token refuses a missing token
    wait = runtime.request_limiter.check(token)
    if wait is not None:
        raise RateLimited("too many requests for this token; slow down", wait)
    return principal


async def json_body(request: Request) -> Any:
    limit = runtime_of(request).settings.limits.max_body_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"body over {limit} bytes")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise TooLarge(f"body over {limit} bytes")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("body is not valid UTF-8", field="body") from None
    try:
        value = json.loads(text)
    except ValueError:
        raise BadRequest("body is not valid JSON", field="body") from None
    except RecursionError:
        raise BadRequest("body is not valid JSON: nested too deeply", field="body") from None
    if has_lone_surrogate(text, value):
        raise BadRequest(f"body: {LONE_SURROGATE}", field="body")
    return value


def query_int(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid(name, f"must be an integer from {low} to {high}") from None
    if not low <= value <= high:
        raise invalid(name, f"must be an integer from {low} to {high}")
    return value


def query_choice(request: Request, name: str, choices: tuple[str, ...], default: str) -> str:
    value = request.query_params.get(name, default)
    if value not in choices:
        raise invalid(name, f"must be one of {', '.join(choices)}")
    return value


# Names the tz database ships that are not places: the host's own zone, a template for POSIX
# TZ strings, and a placeholder that reports "-00". A patient's days need a real location.
NOT_LOCATIONS = frozenset({"Factory", "localtime", "posixrules"})


@lru_cache(maxsize=1)
def location_zones() -> tuple[str, ...]:
    """Every IANA location zone a caller may name, sorted (the OpenAPI document lists them)."""
    return tuple(sorted(available_timezones() - NOT_LOCATIONS))


def location_zone(field: str, name: str) -> str:
    """``name`` when it is an IANA location zone.

    Raises:
        InvalidRequest: 422 naming ``field`` otherwise (aliases such as ``posix/…`` included).
    """
    if name not in location_zones():
        raise invalid(
            field, f"unknown time zone {name!r}: name an IANA location such as Europe/Berlin"
        )
    try:
        zone(name)
    except UnknownTimezone as error:
        raise invalid(field, str(error)) from None
    return name


def query_tz(request: Request, default: str = "UTC") -> str:
    return location_zone("tz", request.query_params.get("tz", default))


def reject_unknown_params(request: Request, allowed: set[str]) -> None:
    for name in request.query_params:
        if name not in allowed:
            raise invalid(name, "unknown query parameter")
