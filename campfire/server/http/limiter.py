"""The ``rate-limit`` extension: N requests per minute per API key or user (off by default).

A sliding one-minute window per caller. Callers are told apart by their API key (its hash),
the ``sub`` of their access token, or, with no valid credentials, their IP address. Signed file
downloads (``/files/``) and ``/version`` are not counted: they carry no credentials and a
download plan may fetch thousands of files. Over the limit: ``429``, ``Retry-After`` and
``{"error": "Rate limit exceeded", "retry_after": <seconds>}``.

Examples
--------
>>> w = SlidingWindow(2)
>>> w.hit("k", now=0.0), w.hit("k", now=1.0), w.hit("k", now=2.0)
(None, None, 58)
>>> w.hit("k", now=60.5)
"""

from __future__ import annotations

import json
import math
import threading
from collections import defaultdict, deque

from starlette.types import ASGIApp, Receive, Scope, Send

from campfire.server.auth.credentials import hash_token, verify_access_token

__all__ = ["RateLimitMiddleware", "SlidingWindow"]

_EXEMPT = ("/api/v1/files/", "/api/v1/version", "/api/v1/_test/")


class SlidingWindow:
    """Count hits per key over the last 60 s."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._hits: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def hit(self, key: str, now: float) -> int | None:
        """Record a hit; return the seconds to wait if the key is over the limit, else None."""
        with self._lock:
            q = self._hits[key]
            while q and q[0] <= now - 60.0:
                q.popleft()
            if len(q) >= self.per_minute:
                return max(1, math.ceil(q[0] + 60.0 - now))
            q.append(now)
            return None


class RateLimitMiddleware:
    """Answer 429 to callers over ``per_minute`` requests in the last minute."""

    def __init__(self, app: ASGIApp, per_minute: int, secret: bytes) -> None:
        self.app = app
        self.window = SlidingWindow(per_minute)
        self.secret = secret

    def _caller(self, scope: Scope) -> str:
        auth = ""
        for k, v in scope.get("headers", []):
            if k == b"authorization":
                auth = v.decode("latin-1")
        if auth.startswith("Bearer "):
            token = auth[7:].strip()
            if token.startswith("sk_"):
                return "key:" + hash_token(token)
            claims = verify_access_token(self.secret, token)
            if claims is not None:
                return "user:" + str(claims["sub"])
        client = scope.get("client")
        return "ip:" + (client[0] if client else "unknown")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI request."""
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith("/api/v1/") or path.startswith(_EXEMPT):
            await self.app(scope, receive, send)
            return
        import time

        wait = self.window.hit(self._caller(scope), time.monotonic())
        if wait is None:
            await self.app(scope, receive, send)
            return
        body = json.dumps({"error": "Rate limit exceeded", "retry_after": wait}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 429,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"retry-after", str(wait).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
