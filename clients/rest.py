"""A small REST caller for clients, on the standard library (run in a thread by its callers)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

DEFAULT_REST_TIMEOUT_S = 10.0


class RestError(Exception):
    """The hub answered with an error status; ``status`` and the body's ``code``."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(f"{status} {code}: {detail}")
        self.status = status
        self.code = code


def http_base(ws_url: str) -> str:
    """``ws://host:port/ws`` → ``http://host:port`` (``wss`` → ``https``)."""
    scheme, _, rest = ws_url.partition("://")
    host = rest.split("/", 1)[0]
    return f"{'https' if scheme == 'wss' else 'http'}://{host}"


def call(
    method: str,
    url: str,
    token: str,
    body: dict[str, Any] | None = None,
    timeout: float = DEFAULT_REST_TIMEOUT_S,
) -> dict[str, Any]:
    """One JSON request; returns the decoded answer.

    Raises:
        RestError: an HTTP error status.
        OSError: the hub could not be reached.
    """
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            answer: dict[str, Any] = json.loads(response.read() or b"{}")
            return answer
    except urllib.error.HTTPError as error:
        try:
            payload = json.loads(error.read() or b"{}")
        except ValueError:
            payload = {}
        raise RestError(
            error.code, str(payload.get("code", "")), str(payload.get("detail", error.reason))
        ) from None
