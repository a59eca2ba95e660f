"""The ``rate-limit`` extension and the login throttle, counted in the archive database.

Counters live in the ``rate_counters`` table, so every server process (``campfire serve
--workers N``, or several servers on one database) counts against the same budget. Each counted
request costs one statement, an UPSERT of its caller's counter in the current fixed window
(``INSERT ... ON CONFLICT DO UPDATE ... RETURNING``) and one read of the previous window's
count; nothing is kept in process memory but a short cache of which API keys are active. The
limit applies to a sliding estimate: the current window's hits plus the previous window's,
weighted by how much of it is still within the last ``window`` seconds (so there is no burst of
twice the budget at a window boundary). A refused request is taken back (a second write, only
when refusing), so refusals do not prolong a caller's wait.

Rate limit: N requests per minute per API key or user (off by default). Callers are told apart
by their API key (its hash) or the ``sub`` of their access token, but only once the credential
is known to be valid: a made-up ``Bearer sk_<random>`` or a forged token is counted against the
client's address, so inventing credentials buys neither a fresh bucket nor database rows. Signed
file downloads (``/files/``) and ``/version`` are not counted: they carry no credentials and a
download plan may fetch thousands of files. Over the limit: ``429``, ``Retry-After`` and
``{"error": "Rate limit exceeded", "retry_after": <seconds>}``.

Rows of windows that ended over an hour ago are deleted in the background, at most once a
minute per process.

Examples
--------
>>> import tempfile, pathlib
>>> from campfire.server.storage.database import Database
>>> db = Database(pathlib.Path(tempfile.mkdtemp()) / "archive.db")
>>> w = WindowCounters(db, "api", 2)
>>> w.hit("k", now=0.0), w.hit("k", now=1.0), w.hit("k", now=2.0)
(None, None, 58)
>>> w.hit("k", now=60.5), w.hit("k", now=91.0)  # 1 + 2 * 59.5 / 60 > 2; 1 + 2 * 29 / 60
(30, None)
>>> w.hit("k", now=150.0), w.live(now=150.0)
(None, 1)
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import OrderedDict
from typing import TYPE_CHECKING

import anyio
from starlette.types import ASGIApp, Receive, Scope, Send

from campfire.server.auth.credentials import hash_token, verify_access_token

if TYPE_CHECKING:
    from campfire.server.archive import Archive
    from campfire.server.storage.database import Database

__all__ = ["LoginThrottle", "RateLimitMiddleware", "WindowCounters", "too_many_requests"]

_EXEMPT = ("/api/v1/files/", "/api/v1/version", "/api/v1/_test/")
WINDOW_SECONDS = 60
#: counters of windows that ended longer ago than this are deleted
KEEP_SECONDS = 3600

_UPSERT = (
    "INSERT INTO rate_counters (bucket, window_start, hits) VALUES (?, ?, 1) "
    "ON CONFLICT (bucket, window_start) DO UPDATE SET hits = rate_counters.hits + 1 "
    "RETURNING hits"
)


class WindowCounters:
    """Hits per key over a sliding ``window`` seconds, counted in the database.

    Parameters
    ----------
    db
        The archive database (its ``rate_counters`` table is shared by every process).
    name
        What is counted (``"api"``, ``"login-address"``...); keys of different names never mix.
    per_window
        Hits allowed per key in one window.
    window
        The window in whole seconds (default one minute); windows start at multiples of it
        since the epoch, the same in every process.
    """

    def __init__(
        self, db: Database, name: str, per_window: int, window: int = WINDOW_SECONDS
    ) -> None:
        self.db, self.name = db, name
        self.per_window, self.window = per_window, window
        self._pruned = -math.inf
        self._lock = threading.Lock()

    def _start(self, now: float) -> int:
        return int(now // self.window) * self.window

    def _wait(self, start: int, now: float) -> int:
        return max(1, math.ceil(start + self.window - now))

    def _count(self, bucket: str, start: int) -> int:
        row = (
            self.db.conn()
            .execute(
                "SELECT hits FROM rate_counters WHERE bucket = ? AND window_start = ?",
                (bucket, start),
            )
            .fetchone()
        )
        return 0 if row is None else int(row[0])

    def _over(self, bucket: str, current: int, start: int, now: float, allowed: int) -> int | None:
        """Seconds until the estimate ``current + previous * (share of the previous window
        still inside the last ``window`` seconds)`` falls to ``allowed``; None if it is there.
        A full current window answers the time to its end (then the estimate is looked at
        again).
        """
        previous = self._count(bucket, start - self.window)
        left = 1.0 - (now - start) / self.window
        if current + previous * left <= allowed:
            return None
        if current > allowed or previous == 0:
            return self._wait(start, now)
        until = start + self.window * (1.0 - (allowed - current) / previous)
        return max(1, math.ceil(until - now))

    def hit(self, key: str, now: float | None = None) -> int | None:
        """Count a hit; the seconds to wait if the key is over its limit, else None.

        A refused hit is taken back (one more write, only when refusing), so a caller who
        keeps knocking is not held back any longer for it.
        """
        now = time.time() if now is None else now
        start, bucket = self._start(now), f"{self.name}:{key}"
        rows = self.db.conn().execute(_UPSERT, (bucket, start)).fetchall()
        self._prune(now)
        current = int(rows[0][0])
        if self._over(bucket, current, start, now, self.per_window) is None:
            return None
        self.db.conn().execute(
            "UPDATE rate_counters SET hits = hits - 1 WHERE bucket = ? AND window_start = ?",
            (bucket, start),
        )
        return self._over(bucket, current - 1, start, now, self.per_window - 1)

    def wait(self, key: str, now: float | None = None) -> int | None:
        """The seconds to wait if one more hit of ``key`` would be refused, else None (counts
        nothing).
        """
        now = time.time() if now is None else now
        start, bucket = self._start(now), f"{self.name}:{key}"
        return self._over(bucket, self._count(bucket, start), start, now, self.per_window - 1)

    def live(self, now: float | None = None) -> int:
        """How many keys have hits in the current window."""
        start = self._start(time.time() if now is None else now)
        row = (
            self.db.conn()
            .execute(
                "SELECT count(*) FROM rate_counters WHERE window_start = ? AND bucket LIKE ?",
                (start, self.name.replace("%", "") + ":%"),
            )
            .fetchone()
        )
        return int(row[0])

    def __len__(self) -> int:
        return self.live()

    def _prune(self, now: float) -> None:
        """Delete old windows' rows in the background, at most once a minute."""
        with self._lock:
            if now - self._pruned < 60:
                return
            self._pruned = now
        cutoff = int(now) - KEEP_SECONDS
        self.db.later("DELETE FROM rate_counters WHERE window_start < ?", (cutoff,))


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
    """API key hashes recently found active (bounded, re-checked after ``ttl`` seconds).

    Per process by design: a cache of the database's answer that only decides which bucket a
    request counts against, for at most ``ttl`` seconds after a key is revoked.
    """

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
    """Answer 429 to callers over ``per_minute`` requests in the current minute.

    The caller is identified and counted on a worker thread (one UPSERT), so a database that
    is busy delays only the request being counted, never the event loop.
    """

    def __init__(self, app: ASGIApp, per_minute: int, archive: Archive) -> None:
        self.app = app
        self.window = WindowCounters(archive.db, "api", per_minute)
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

    def _count(self, scope: Scope) -> int | None:
        return self.window.hit(self._caller(scope))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI request."""
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith("/api/v1/") or path.startswith(_EXEMPT):
            await self.app(scope, receive, send)
            return
        wait = await anyio.to_thread.run_sync(self._count, scope)
        if wait is None:
            await self.app(scope, receive, send)
            return
        await too_many_requests(send, wait)


class LoginThrottle:
    """Sign-in attempts allowed per client address, and failed ones per account (always on).

    Password checks cost ~100 ms of CPU each, so both are limited whatever ``--rate-limit``
    says: ``per_address`` attempts a minute from one address, and ``per_account`` failed
    attempts in five minutes on one e-mail address (known or not, so the answer tells nothing;
    a successful sign-in is never held back by its own account's count). Counted in the
    database, so every server process shares the budget.

    Examples
    --------
    >>> t = LoginThrottle(db, per_address=3, per_account=1)  # doctest: +SKIP
    >>> t.check("10.0.0.1", "a@b.c", now=0.0), t.failed("a@b.c", now=0.0)  # doctest: +SKIP
    (None, None)
    >>> t.check("10.0.0.1", "a@b.c", now=1.0), t.check("10.0.0.1", "x@b.c", now=2.0)
    ... # doctest: +SKIP
    (299, None)
    >>> t.check("10.0.0.1", "y@b.c", now=3.0)  # doctest: +SKIP
    57
    """

    def __init__(self, db: Database, per_address: int = 60, per_account: int = 10) -> None:
        self.addresses = WindowCounters(db, "login-address", per_address, window=60)
        self.accounts = WindowCounters(db, "login-account", per_account, window=300)

    @staticmethod
    def _account(email: str) -> str:
        return email.strip().lower()[:320]

    def check(self, address: str, email: str, now: float | None = None) -> int | None:
        """Count an attempt; the seconds to wait when over either limit, else None."""
        now = time.time() if now is None else now
        wait = self.addresses.hit(address, now)
        if wait is not None:
            return wait
        return self.accounts.wait(self._account(email), now)

    def failed(self, email: str, now: float | None = None) -> None:
        """Count a failed attempt against the account."""
        self.accounts.hit(self._account(email), time.time() if now is None else now)
