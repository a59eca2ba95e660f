"""Who is asking, and what they may see (contract section 0.2-0.3).

:func:`authenticate` turns an ``Authorization: Bearer`` header into a :class:`Principal`: an API
key (``sk_`` prefix, looked up by SHA-256) or an HS256 access token. The principal's
``programs`` are the public programs plus the user's grants; admins get nothing extra.
:func:`program_changes` says which programs a user gained or lost since a time (for
``sync-deletions``).

Examples
--------
>>> p = Principal(user_id="u1", email="a@b.c", is_admin=False, programs=frozenset({"A"}))
>>> p.can_see(["A", "B"]), p.can_see(["B"])
(True, False)
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from campfire.server.auth.credentials import hash_token, verify_access_token
from campfire.server.storage.database import utc_now

if TYPE_CHECKING:
    from campfire.server.archive import Archive

__all__ = ["Principal", "accessible_programs", "authenticate", "program_changes"]


@dataclass(frozen=True)
class Principal:
    """An authenticated user and the programs they can see."""

    user_id: str
    email: str
    is_admin: bool
    programs: frozenset[str]
    identity: str = ""

    def can_see(self, programs: list[str] | tuple[str, ...] | set[str] | str | None) -> bool:
        """Whether any of ``programs`` (or the one slug) is accessible."""
        if programs is None:
            return False
        if isinstance(programs, str):
            return programs in self.programs
        return not self.programs.isdisjoint(programs)


def accessible_programs(conn: Any, user_id: str) -> frozenset[str]:
    """Public programs plus the user's grants."""
    rows = conn.execute(
        "SELECT slug FROM programs WHERE is_public = 1 UNION "
        "SELECT program_slug FROM program_access WHERE user_id = ?",
        (user_id,),
    )
    return frozenset(r[0] for r in rows)


_last_used: dict[str, float] = {}
_last_used_lock = threading.Lock()


def _touch_key(archive: Archive, key_hash: str) -> None:
    """Record ``last_used_at`` in the background, at most once a minute per key."""
    now = time.monotonic()
    with _last_used_lock:
        if now - _last_used.get(key_hash, -1e9) < 60:
            return
        _last_used[key_hash] = now
    archive.db.later(
        "UPDATE api_keys SET last_used_at = ? WHERE key_hash = ?", (utc_now(), key_hash)
    )


def authenticate(archive: Archive, header: str | None) -> Principal | None:
    """The principal of an ``Authorization`` header value, or None if it is not valid."""
    if not header or not header.startswith("Bearer "):
        return None
    token = header[len("Bearer ") :].strip()
    if not token:
        return None
    conn = archive.db.conn()
    if token.startswith("sk_"):
        key_hash = hash_token(token)
        row = conn.execute(
            "SELECT u.id, u.email, u.is_admin, k.expires_at FROM api_keys k "
            "JOIN users u ON u.id = k.user_id WHERE k.key_hash = ? AND k.is_active = 1",
            (key_hash,),
        ).fetchone()
        if row is None or (row["expires_at"] is not None and row["expires_at"] <= utc_now()):
            return None
        _touch_key(archive, key_hash)
        identity = "key:" + key_hash[:16]
    else:
        claims = verify_access_token(archive.secret, token)
        if claims is None:
            return None
        row = conn.execute(
            "SELECT id, email, is_admin FROM users WHERE id = ?", (claims["sub"],)
        ).fetchone()
        if row is None:
            return None
        identity = "user:" + row["id"]
    return Principal(
        user_id=row["id"],
        email=row["email"],
        is_admin=bool(row["is_admin"]),
        programs=accessible_programs(conn, row["id"]),
        identity=identity,
    )


def program_changes(
    conn: Any, principal: Principal, since: str | None
) -> tuple[set[str], set[str], dict[str, str]]:
    """How this user's access changed: what they gained or lost after ``since``, and when.

    Returns
    -------
    tuple
        ``(gained, lost, when)``: programs gained after ``since`` (and still accessible), programs
        lost after ``since`` (and still inaccessible), and, for every program with any access
        event for this user, the time of the latest one (all time, not only after ``since``).
    """
    rows = conn.execute(
        "SELECT program_slug, gained, max(at) FROM access_events "
        "WHERE user_id IS NULL OR user_id = ? GROUP BY program_slug, gained",
        (principal.user_id,),
    ).fetchall()
    after = [r for r in rows if since is not None and r[2] > since]
    gained = {r[0] for r in after if r[1] and r[0] in principal.programs}
    lost = {r[0] for r in after if not r[1] and r[0] not in principal.programs}
    when: dict[str, str] = {}
    for slug, _, at in rows:
        when[slug] = max(when.get(slug, ""), at)
    return gained, lost, when
