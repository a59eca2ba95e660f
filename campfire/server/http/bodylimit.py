"""A cap on request bodies: counted as they stream in, ``413`` with a JSON error past the cap.

Every route gets :data:`DEFAULT_BODY_LIMIT` bytes unless a path prefix in its allowances says
otherwise (deploy uploads are files of up to 4 GiB, capped by their own route). A request whose
``Content-Length`` already says too much is refused before a byte is read; a chunked one is
refused when its running count passes the cap, so no route ever buffers more than the cap.

Examples
--------
>>> limits = BodyLimits({"/api/v1/deploy/upload/": 4 << 30})
>>> limits.for_path("/api/v1/auth/device/token"), limits.for_path("/api/v1/deploy/upload/a")
(1048576, 4294967296)
"""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["DEFAULT_BODY_LIMIT", "BodyLimitMiddleware", "BodyLimits"]

#: bytes a request body may have unless a route's allowance says otherwise (JSON and forms)
DEFAULT_BODY_LIMIT = 1 << 20


class BodyLimits:
    """The body cap of each path: the longest matching prefix allowance, else the default.

    Parameters
    ----------
    allowances
        ``{path prefix: bytes}`` for routes that take more (or less) than the default.
    default
        The cap of every other path.
    """

    def __init__(self, allowances: dict[str, int] | None = None, default: int = DEFAULT_BODY_LIMIT):
        self.default = default
        self.allowances = sorted((allowances or {}).items(), key=lambda kv: -len(kv[0]))

    def for_path(self, path: str) -> int:
        """The cap for a request path."""
        for prefix, limit in self.allowances:
            if path.startswith(prefix):
                return limit
        return self.default


def _too_large(limit: int) -> str:
    return (
        f"Request body too large: at most {limit} bytes on this route "
        "(send less, or split it into several requests)"
    )


class BodyLimitMiddleware:
    """Refuse request bodies over the cap of their path with ``413`` and a JSON error."""

    def __init__(self, app: ASGIApp, limits: BodyLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI request."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limits.for_path(scope.get("path", ""))
        for k, v in scope.get("headers", []):
            if k == b"content-length":
                try:
                    declared = int(v)
                except ValueError:
                    declared = 0
                if declared > limit:
                    await _send_413(send, limit)
                    return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    # an HTTPException: the app's handler answers it as JSON, like any other
                    raise HTTPException(413, _too_large(limit))
            return message

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, watch)
        except HTTPException as exc:  # raised while a route read outside the handlers' reach
            if exc.status_code != 413 or started:
                raise
            await _send_413(send, limit)


async def _send_413(send: Send, limit: int) -> None:
    body = json.dumps({"error": _too_large(limit)}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
