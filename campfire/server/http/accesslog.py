"""The access log and the response headers every answer carries.

One structured line per request on the ``campfire.server.access`` logger (INFO), its fields
also in the record's ``access`` attribute: method, route (the template, e.g.
``/api/v1/files/{path:path}``), status, duration, the user id (when the route authenticated
someone) and the request id. Never a query string (signed URLs carry their signature there), a
header or a body, so no secret reaches the log.

Every answer gets ``X-Request-Id`` (the client's, when it sent a sane one, else a fresh one;
the client keeps it on its errors), and the framing and sniffing guards: ``X-Frame-Options:
DENY`` and ``Content-Security-Policy: frame-ancestors 'none'`` (no page of ours, the device
approval page above all, can be framed) and ``X-Content-Type-Options: nosniff``.

Examples
--------
>>> request_id([(b"x-request-id", b"abc-123")])
'abc-123'
>>> len(request_id([(b"x-request-id", b"bad id; with spaces")]))
16
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
from typing import Any

from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["SECURITY_HEADERS", "AccessLogMiddleware", "request_id"]

log = logging.getLogger("campfire.server.access")

SECURITY_HEADERS = [
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
]
_SANE_ID = re.compile(rb"[A-Za-z0-9._-]{1,64}")


def request_id(headers: list[tuple[bytes, bytes]]) -> str:
    """The request's ``X-Request-Id`` if it is short and plain, else a fresh random one."""
    for k, v in headers:
        if k == b"x-request-id" and _SANE_ID.fullmatch(v):
            return v.decode("ascii")
    return secrets.token_hex(8)


def _route(scope: Scope) -> str:
    """The matched route's template (``/api/v1`` + its path), or ``-`` when none matched."""
    route = scope.get("route")
    template = getattr(route, "path", None)
    if isinstance(route, Mount) or not isinstance(template, str):
        return "-"
    return str(scope.get("root_path", "")) + template if scope.get("root_path") else template


def _user(scope: Scope) -> str | None:
    state: Any = scope.get("state") or {}
    principal = state.get("principal") if isinstance(state, dict) else None
    return getattr(principal, "user_id", None)


class AccessLogMiddleware:
    """Log every HTTP request once and stamp the common headers on its answer (outermost)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI request."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = request_id(scope.get("headers", []))
        start = time.perf_counter()
        status = 0
        sent = 0

        async def stamped(message: Message) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.lower() not in (b"x-request-id", *(h for h, _ in SECURITY_HEADERS))
                ]
                headers += [(b"x-request-id", rid.encode()), *SECURITY_HEADERS]
                message = {**message, "headers": headers}
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, stamped)
        except BaseException:
            status = status or 500
            raise
        finally:
            self._log(scope, status, time.perf_counter() - start, sent, rid)

    @staticmethod
    def _log(scope: Scope, status: int, seconds: float, sent: int, rid: str) -> None:
        if not log.isEnabledFor(logging.INFO):
            return
        entry = {
            "method": scope.get("method"),
            "route": _route(scope),
            "status": status,
            "duration_ms": round(seconds * 1000, 1),
            "bytes": sent,
            "user_id": _user(scope),
            "request_id": rid,
        }
        log.info(json.dumps(entry, separators=(",", ":")), extra={"access": entry})
