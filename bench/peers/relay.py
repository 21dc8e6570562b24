"""The bare WebSocket relay that ``suite.py`` measures the hub against.

No logic and no storage: a Starlette app whose ``/ws`` sends one ``welcome`` frame, then echoes
every frame back to its sender (standing in for the hub's ``ack``) and forwards it verbatim to
every connection subscribed to the sender's channel (standing in for the hub's ``message``).
A connection names its channels in the query string: ``?sub=NAME`` to receive, ``?pub=NAME``
to send to. It is served exactly as ``progress-hub serve`` serves the hub (uvicorn with
``websockets-sansio``, ``httptools``, uvloop, the hub's frame limit and ping settings), so
the difference between the two is what the hub itself costs.

Run: ``python bench/peers/relay.py --port N``.
"""

from __future__ import annotations

import argparse
import asyncio
import resource

import uvicorn
import uvloop
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

from realtime.serving import serving_config

WELCOME = '{"type":"welcome"}'


async def relay(websocket: WebSocket) -> None:
    subscribers: dict[str, set[WebSocket]] = websocket.app.state.subscribers
    sub = websocket.query_params.get("sub")
    pub = websocket.query_params.get("pub", "")
    await websocket.accept(subprotocol=(websocket.scope.get("subprotocols") or [None])[0])
    if sub:
        subscribers.setdefault(sub, set()).add(websocket)
    try:
        await websocket.send_text(WELCOME)
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            if text is None:
                continue
            await websocket.send_text(text)
            for peer in list(subscribers.get(pub, ())):
                await peer.send_text(text)
    finally:
        if sub:
            subscribers.get(sub, set()).discard(websocket)


def create_relay() -> Starlette:
    app = Starlette(routes=[WebSocketRoute("/ws", relay)])
    app.state.subscribers = {}
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description="bare Starlette WebSocket relay")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    # 10,000 idle connections need 10,000 descriptors.
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    config = serving_config(create_relay(), args.port, lifespan="off")
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(uvicorn.Server(config).serve())


if __name__ == "__main__":
    main()
