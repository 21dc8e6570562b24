"""The ``/ws`` endpoint: authenticate a WebSocket client, then hand it to a :class:`Connection`."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from starlette.types import Scope
from starlette.websockets import WebSocket

from realtime.auth import Principal, bearer_token, verify_token
from realtime.errors import Unauthorized
from realtime.protocol import (
    CLOSE_GOING_AWAY,
    CLOSE_UNAUTHORIZED,
    SUBPROTOCOL_JSON,
    SUBPROTOCOL_MSGPACK,
    Codec,
    choose_subprotocol,
)
from realtime.ws.connection import Connection

if TYPE_CHECKING:
    from realtime.runtime import Runtime

log = logging.getLogger("progress_hub.connection")

# A codec holds no state, so every connection speaking a subprotocol shares one.
_CODECS = {name: Codec(name) for name in (SUBPROTOCOL_JSON, SUBPROTOCOL_MSGPACK)}


async def serve_websocket(websocket: WebSocket) -> None:
    """The ``/ws`` endpoint: authenticate, then run the connection until either side closes."""
    runtime: Runtime = websocket.app.state.runtime
    subprotocol = choose_subprotocol(list(websocket.scope.get("subprotocols", [])))
    await websocket.accept(subprotocol=subprotocol)
    # In a coroutine of its own, which ends here: this one lasts as long as the connection,
    # and so would the token text among its locals.
    principal = await _authenticate(websocket, runtime)
    if principal is None:
        return
    if runtime.draining:
        await websocket.close(CLOSE_GOING_AWAY, "server shutting down")
        return
    connection = Connection(websocket, principal, _CODECS[subprotocol or SUBPROTOCOL_JSON], runtime)
    await connection.run()


async def _authenticate(websocket: WebSocket, runtime: Runtime) -> Principal | None:
    """Who the token says the client is; ``None`` once a client without a valid one is closed."""
    # Read from the scope: Starlette's parsed query and headers would be kept on the
    # WebSocket for the life of every connection, to serve one look-up each.
    scope = websocket.scope
    query = scope.get("query_string")
    in_query = (
        dict(parse_qsl(query.decode("latin-1"), keep_blank_values=True)).get("token")
        if query
        else None
    )
    in_header = bearer_token(_header(scope, b"authorization"))
    try:
        if in_query and in_header and in_query != in_header:
            # Two different identities: picking either would be a guess, so neither is used.
            raise Unauthorized("conflicting tokens in query and header")
        return verify_token(runtime.settings.secret, in_query or in_header)
    except Unauthorized as error:
        runtime.metrics.unauthorized.inc()
        log.info("event=ws_refused reason=%s", str(error).replace(" ", "_"))
        await websocket.close(CLOSE_UNAUTHORIZED, str(error))
        return None


def _header(scope: Scope, name: bytes) -> str | None:
    """The first value of header ``name`` (ASGI gives names in lower case), as Starlette's."""
    for key, value in scope["headers"]:
        if key == name:
            text: str = value.decode("latin-1")
            return text
    return None
