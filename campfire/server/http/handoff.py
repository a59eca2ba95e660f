"""Hand a client's next request to whichever worker is free: ``Connection: close`` after a
long one, when several worker processes share the port (``campfire serve --workers N``).

Worker processes accept from one listening socket, and a keep-alive connection stays with the
worker that accepted it. Clients that open their connections at once land unevenly (measured
with 4 clients on 2 workers: 3 + 1, or all 4 on one worker, in two runs of three), so one
worker serialises requests while the other idles. After a request that took longer than
``after_seconds`` to answer, this middleware closes its connection: the client reconnects
(a fraction of a millisecond on a LAN, against the long request just served) and the accept
goes to whichever worker reaches it first, the one not busy. Short requests keep their
connection.

Examples
--------
>>> from starlette.applications import Starlette
>>> app = HandOffMiddleware(Starlette(), after_seconds=0.05)
>>> app.after_seconds
0.05
"""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["HandOffMiddleware"]


class HandOffMiddleware:
    """Close the connection of any response that took over ``after_seconds`` to start."""

    def __init__(self, app: ASGIApp, after_seconds: float) -> None:
        self.app = app
        self.after_seconds = after_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; mark its answer ``Connection: close`` if it came late."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()

        async def send_closing(message: Message) -> None:
            if (
                message["type"] == "http.response.start"
                and time.perf_counter() - began > self.after_seconds
            ):
                headers = [
                    (k, v) for k, v in message.get("headers", []) if k.lower() != b"connection"
                ]
                message = {**message, "headers": [*headers, (b"connection", b"close")]}
            await send(message)

        await self.app(scope, receive, send_closing)
