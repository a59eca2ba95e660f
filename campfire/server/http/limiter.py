"""The ``rate-limit`` extension: N requests per minute per API key or user (off by default).

A sliding one-minute window per caller. Callers are told apart by their API key (its hash) or
the ``sub`` of their access token, but only once the credential is known to be valid: a made-up
``Bearer sk_<random>`` or a forged token is counted against the client's address, so inventing
credentials buys neither a fresh bucket nor memory. Signed file downloads (``/files/``) and
``/version`` are not counted: they carry no credentials and a download plan may fetch thousands
of files. Over the limit: ``429``, ``Retry-After`` and
``{"error": "Rate limit exceeded", "retry_after": <seconds>}``.

The windows' memory is bounded: a key whose last hit is over a minute old is dropped, and past
``max_keys`` live keys the least recently seen ones go first.

Examples
--------
>>> w = SlidingWindow(2)
>>> w.hit("k", now=0.0), w.hit("k", now=1.0), w.hit("k", now=2.0)
(None, None, 58)
>>> w.hit("k", now=60.5)
>>> w.hit("other", now=200.0), len(w)
(None, 1)
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import OrderedDict, deque
from typing import TYPE_CHECKING

from starlette.types import ASGIApp, Receive, Scope, Send

from campfire.server.auth.credentials import hash_token, verify_access_token

if TYPE_CHECKING:
    from campfire.server.archive import Archive

__all__ = ["LoginThrottle", "RateLimitMiddleware", "SlidingWindow", "too_many_requests"]

_EXEMPT = ("/api/v1/files/", "/api/v1/version", "/api/v1/_test/")
WINDOW_SECONDS = 60.0


class SlidingWindow:
    """Count hits per key over the last ``window`` seconds, for at most ``max_keys`` keys.

    Parameters
    ----------
    per_window
        Hits allowed per key in any window.
    window
        The window in seconds (default one minute).
    max_keys
        Live keys kept; past it the least recently seen key is forgotten.
    """

    def __init__(
        self, per_window: int, window: float = WINDOW_SECONDS, max_keys: int = 100_000
    ) -> None:
        self.per_window = per_window
        self.window = window
        self.max_keys = max_keys
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._hits)

    def _expire(self, now: float) -> None:
        """Drop keys whose newest hit left the window, oldest first, and any over the cap."""
        while self._hits:
            key, q = next(iter(self._hits.items()))
            if q and q[-1] > now - self.window and len(self._hits) <= self.max_keys:
                return
            del self._hits[key]

    def wait(self, key: str, now: float) -> int | None:
        """The seconds to wait if ``key`` is at its limit, else None (records nothing)."""
        with self._lock:
            q = self._hits.get(key)
            live = [t for t in q or () if t > now - self.window]
            if len(live) >= self.per_window:
                return max(1, math.ceil(live[0] + self.window - now))
            return None

    def hit(self, key: str, now: float) -> int | None:
        """Record a hit; return the seconds to wait if the key is over the limit, else None."""
        with self._lock:
            q = self._hits.get(key)
            if q is None:
                q = self._hits[key] = deque()
            self._hits.move_to_end(key)
            while q and q[0] <= now - self.window:
                q.popleft()
            if len(q) >= self.per_window:
                wait = max(1, math.ceil(q[0] + self.window - now))
            else:
                q.append(now)
                wait = None
            if not q:
                del self._hits[key]
            self._expire(now)
            return wait


async def too_many_requests(send: Send, wait: int) -> None:
    """Answer ``429`` with ``Retry-After`` and the contract's JSON body."""
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


class _KnownKeys:
    """API key hashes recently found active (bounded, re-checked after ``ttl`` seconds)."""

    def __init__(self, archive: Archive, size: int = 10_000, ttl: float = 60.0) -> None:
        self.archive, self.size, self.ttl = archive, size, ttl
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def active(self, key_hash: str) -> bool:
        now = time.monotonic()
        with self._lock:
            at = self._seen.get(key_hash)
            if at is not None and now - at < self.ttl:
                return True
        row = (
            self.archive.db.conn()
            .execute("SELECT 1 FROM api_keys WHERE key_hash = ? AND is_active = 1", (key_hash,))
            .fetchone()
        )
        if row is None:
            return False
        with self._lock:
            self._seen[key_hash] = now
            self._seen.move_to_end(key_hash)
            while len(self._seen) > self.size:
                self._seen.popitem(last=False)
        return True


class RateLimitMiddleware:
    """Answer 429 to callers over ``per_minute`` requests in the last minute."""

    def __init__(self, app: ASGIApp, per_minute: int, archive: Archive) -> None:
        self.app = app
        self.window = SlidingWindow(per_minute)
        self.archive = archive
        self.keys = _KnownKeys(archive)

    def _caller(self, scope: Scope) -> str:
        auth = ""
        for k, v in scope.get("headers", []):
            if k == b"authorization":
                auth = v.decode("latin-1")
        if auth.startswith("Bearer "):
            token = auth[7:].strip()
            if token.startswith("sk_"):
                key_hash = hash_token(token)
                if self.keys.active(key_hash):
                    return "key:" + key_hash
            else:
                claims = verify_access_token(self.archive.secret, token)
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
        wait = self.window.hit(self._caller(scope), time.monotonic())
        if wait is None:
            await self.app(scope, receive, send)
            return
        await too_many_requests(send, wait)


class LoginThrottle:
    """Sign-in attempts allowed per client address, and failed ones per account (always on).

    Password checks cost ~100 ms of CPU each, so both are limited whatever ``--rate-limit``
    says: ``per_address`` attempts a minute from one address, and ``per_account`` failed
    attempts in five minutes on one e-mail address (known or not, so the answer tells nothing;
    a successful sign-in is never held back by its own account's count).

    Examples
    --------
    >>> t = LoginThrottle(per_address=3, per_account=1)
    >>> t.check("10.0.0.1", "a@b.c", now=0.0), t.failed("a@b.c", now=0.0)
    (None, None)
    >>> t.check("10.0.0.1", "a@b.c", now=1.0), t.check("10.0.0.1", "x@b.c", now=2.0)
    (299, None)
    >>> t.check("10.0.0.1", "y@b.c", now=3.0)
    57
    """

    def __init__(self, per_address: int = 60, per_account: int = 10) -> None:
        self.addresses = SlidingWindow(per_address, window=60.0, max_keys=50_000)
        self.accounts = SlidingWindow(per_account, window=300.0, max_keys=50_000)

    @staticmethod
    def _account(email: str) -> str:
        return email.strip().lower()[:320]

    def check(self, address: str, email: str, now: float | None = None) -> int | None:
        """Count an attempt; the seconds to wait when over either limit, else None."""
        now = time.monotonic() if now is None else now
        wait = self.addresses.hit(address, now)
        if wait is not None:
            return wait
        return self.accounts.wait(self._account(email), now)

    def failed(self, email: str, now: float | None = None) -> None:
        """Count a failed attempt against the account."""
        self.accounts.hit(self._account(email), time.monotonic() if now is None else now)
