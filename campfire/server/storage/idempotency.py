"""Idempotency keys: the stored answer of each applied write, per user and key, for 7 days.

A client sends ``Idempotency-Key: <uuid>`` with every write; when it sends the same write again
(it was killed before it recorded the answer), :func:`stored_answer` finds the first answer and
the server replays it instead of applying the write twice. Lookup and store run inside the
write's own transaction, so two concurrent requests with one key apply once.

Examples
--------
>>> import tempfile, pathlib
>>> from campfire.server.storage.database import Database
>>> db = Database(pathlib.Path(tempfile.mkdtemp()) / "archive.db")
>>> with db.transaction() as conn:
...     store_answer(conn, "u1", "k1", "PATCH", "/x", 200, "{}", "2026-01-01T00:00:00+00:00")
>>> stored_answer(db.conn(), "u1", "k1")
('PATCH', '/x', 200, '{}')
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta

from campfire.server.storage.database import format_ts

__all__ = ["KEEP_DAYS", "store_answer", "stored_answer"]

#: how long an answer is kept
KEEP_DAYS = 7


def stored_answer(
    conn: sqlite3.Connection, user_id: str, key: str
) -> tuple[str, str, int, str | None] | None:
    """``(method, path, status, body)`` stored for this user's key, or None."""
    row = conn.execute(
        "SELECT method, path, status, body FROM idempotency_keys WHERE user_id = ? AND key = ?",
        (user_id, key),
    ).fetchone()
    return None if row is None else (row[0], row[1], int(row[2]), row[3])


def store_answer(
    conn: sqlite3.Connection,
    user_id: str,
    key: str,
    method: str,
    path: str,
    status: int,
    body: str | None,
    now: str,
) -> None:
    """Record the answer of an applied write, and forget answers older than :data:`KEEP_DAYS`."""
    conn.execute(
        "INSERT INTO idempotency_keys (user_id, key, method, path, status, body, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (user_id, key) DO NOTHING",
        (user_id, key, method, path, status, body, now),
    )
    cutoff = format_ts(datetime.fromisoformat(now) - timedelta(days=KEEP_DAYS))
    conn.execute("DELETE FROM idempotency_keys WHERE created_at < ?", (cutoff,))
