"""Browser sign-in sessions for the web pages (device approval, API keys).

A session is a random cookie (``campfire_session``, HttpOnly, SameSite=Lax) whose SHA-256 is
stored with the user and a per-session CSRF token that every form and ``fetch`` must echo.

Examples
--------
>>> token, csrf = create_session(archive, user_id)  # doctest: +SKIP
"""

from __future__ import annotations

import hmac
import secrets
from typing import TYPE_CHECKING, Any

from starlette.requests import Request

from campfire.server.auth.credentials import hash_token
from campfire.server.storage.database import utc_now

if TYPE_CHECKING:
    from campfire.server.archive import Archive

__all__ = [
    "COOKIE",
    "SESSION_SECONDS",
    "check_csrf",
    "create_session",
    "end_session",
    "session_user",
]

COOKIE = "campfire_session"
SESSION_SECONDS = 7 * 24 * 3600


def create_session(archive: Archive, user_id: str) -> tuple[str, str]:
    """Start a session; return ``(cookie value, csrf token)``."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(16)
    with archive.db.transaction() as conn:
        conn.execute(
            "INSERT INTO web_sessions (token_hash, user_id, csrf, created_at, expires_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (hash_token(token), user_id, csrf, utc_now(), utc_now(SESSION_SECONDS)),
        )
    return token, csrf


def session_user(archive: Archive, request: Request) -> tuple[dict[str, Any], str] | None:
    """``(user row, csrf)`` of the request's live session, or None."""
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    row = (
        archive.db.conn()
        .execute(
            "SELECT u.*, s.csrf, s.expires_at AS session_expires FROM web_sessions s "
            "JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?",
            (hash_token(token),),
        )
        .fetchone()
    )
    if row is None or row["session_expires"] <= utc_now():
        return None
    return dict(row), str(row["csrf"])


def check_csrf(expected: str, given: str | None) -> bool:
    """Constant-time CSRF token comparison (any text given, non-ASCII included).

    Examples
    --------
    >>> check_csrf("abc", "abc"), check_csrf("abc", "ábc"), check_csrf("abc", None)
    (True, False, False)
    """
    return bool(given) and hmac.compare_digest(
        expected.encode(), str(given).encode("utf-8", "replace")
    )


def end_session(archive: Archive, request: Request) -> None:
    """Forget the request's session, if any."""
    token = request.cookies.get(COOKIE)
    if token:
        archive.db.conn().execute(
            "DELETE FROM web_sessions WHERE token_hash = ?", (hash_token(token),)
        )
