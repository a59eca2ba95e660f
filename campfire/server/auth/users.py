"""Archive users, program grants and API keys (what ``campfire admin`` manages).

Every change of who can see a program is written to ``access_events``, so ``sync-deletions``
clients learn about lost access and re-fetch newly visible rows.

Examples
--------
>>> import tempfile
>>> from campfire.server.archive import Archive
>>> archive = Archive(tempfile.mkdtemp())
>>> user = add_user(archive, "ada@example.org", "pw", admin=True)
>>> key = create_api_key(archive, "ada@example.org")
>>> [u["email"] for u in list_users(archive)]
['ada@example.org']
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from campfire.errors import NotFoundError, ValidationError
from campfire.server.archive import Archive
from campfire.server.auth.credentials import hash_password, hash_token, new_api_key
from campfire.server.catalog.inspections import link_inspector
from campfire.server.storage.database import utc_now

__all__ = [
    "add_user",
    "create_api_key",
    "grant_program",
    "list_users",
    "revoke_api_key",
    "revoke_program",
    "set_can_inspect",
    "set_program_public",
    "user_by_email",
]

_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+$")


def user_by_email(archive: Archive, email: str) -> dict[str, Any]:
    """The user row for ``email``.

    Raises
    ------
    NotFoundError
        When no user has that email (the message lists how to add one).
    """
    row = (
        archive.db.conn()
        .execute("SELECT * FROM users WHERE email = ? COLLATE NOCASE", (email.strip(),))
        .fetchone()
    )
    if row is None:
        raise NotFoundError(
            f"no user {email!r} in {archive.root}; add one with "
            f"'campfire admin add-user {email} --archive {archive.root}'"
        )
    return dict(row)


def add_user(
    archive: Archive,
    email: str,
    password: str | None = None,
    *,
    full_name: str | None = None,
    admin: bool = False,
    can_inspect: bool = False,
) -> dict[str, Any]:
    """Create a user (password scrypt-hashed; None means no web sign-in).

    Inspections that products files credit to this email (deployed before the user existed)
    become theirs: ``last_inspected_by`` is set to the new user's uuid.

    Raises
    ------
    ValidationError
        For a malformed email or one that already exists.
    """
    email = email.strip()
    if not _EMAIL_RE.match(email):
        raise ValidationError(f"{email!r} is not an email address (expected name@host)")
    with archive.db.transaction() as conn:
        if conn.execute("SELECT 1 FROM users WHERE email = ? COLLATE NOCASE", (email,)).fetchone():
            raise ValidationError(f"user {email!r} already exists; pick another email")
        uid = str(uuid.uuid4())
        now = utc_now()
        conn.execute(
            "INSERT INTO users (id, email, password_hash, full_name, is_admin, can_inspect, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                uid,
                email,
                hash_password(password) if password else None,
                full_name,
                int(admin),
                int(can_inspect),
                now,
            ),
        )
        link_inspector(conn, uid, email, full_name or email, now)
    return user_by_email(archive, email)


def set_can_inspect(archive: Archive, email: str, allowed: bool) -> bool:
    """Grant or revoke a user's permission to write inspections; False if nothing changed.

    Examples
    --------
    >>> set_can_inspect(archive, "ada@example.org", True)  # doctest: +SKIP
    True
    """
    user = user_by_email(archive, email)
    with archive.db.transaction() as conn:
        cur = conn.execute(
            "UPDATE users SET can_inspect = ? WHERE id = ? AND can_inspect != ?",
            (int(allowed), user["id"], int(allowed)),
        )
        return bool(cur.rowcount)


def _program(conn: Any, slug: str) -> None:
    if conn.execute("SELECT 1 FROM programs WHERE slug = ?", (slug,)).fetchone() is None:
        known = [r[0] for r in conn.execute("SELECT slug FROM programs ORDER BY slug")]
        raise NotFoundError(f"no program {slug!r}; known programs: {', '.join(known) or 'none'}")


def grant_program(archive: Archive, email: str, slug: str) -> bool:
    """Give a user access to a program; False if they already had it."""
    user = user_by_email(archive, email)
    now = utc_now()
    with archive.db.transaction() as conn:
        _program(conn, slug)
        cur = conn.execute(
            "INSERT INTO program_access (user_id, program_slug, granted_at) "
            "VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            (user["id"], slug, now),
        )
        if cur.rowcount:
            conn.execute(
                "INSERT INTO access_events (user_id, program_slug, gained, at) VALUES (?,?,1,?)",
                (user["id"], slug, now),
            )
        return bool(cur.rowcount)


def revoke_program(archive: Archive, email: str, slug: str) -> bool:
    """Take a program grant away from a user; False if they had none."""
    user = user_by_email(archive, email)
    now = utc_now()
    with archive.db.transaction() as conn:
        cur = conn.execute(
            "DELETE FROM program_access WHERE user_id = ? AND program_slug = ?", (user["id"], slug)
        )
        if cur.rowcount:
            conn.execute(
                "INSERT INTO access_events (user_id, program_slug, gained, at) VALUES (?,?,0,?)",
                (user["id"], slug, now),
            )
        return bool(cur.rowcount)


def set_program_public(archive: Archive, slug: str, public: bool) -> bool:
    """Make a program public or private; False if it already was."""
    now = utc_now()
    with archive.db.transaction() as conn:
        _program(conn, slug)
        cur = conn.execute(
            "UPDATE programs SET is_public = ?, updated_at = ? WHERE slug = ? AND is_public != ?",
            (int(public), now, slug, int(public)),
        )
        if cur.rowcount:
            conn.execute(
                "INSERT INTO access_events (user_id, program_slug, gained, at) "
                "VALUES (NULL, ?, ?, ?)",
                (slug, int(public), now),
            )
        return bool(cur.rowcount)


def create_api_key(
    archive: Archive, email: str, name: str | None = None, *, key: str | None = None
) -> str:
    """Create an API key for a user and return it (shown once; only its hash is kept).

    Parameters
    ----------
    key
        Use this key instead of a random one (the demo derives keys from its seed).
    """
    user = user_by_email(archive, email)
    key = key or new_api_key()
    if not re.fullmatch(r"sk_live_[0-9a-f]{64}", key):
        raise ValidationError("an API key is 'sk_live_' followed by 64 lowercase hex characters")
    with archive.db.transaction() as conn:
        conn.execute(
            "INSERT INTO api_keys (id, user_id, key_hash, key_prefix, name, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (str(uuid.uuid4()), user["id"], hash_token(key), key[:16] + "...", name, utc_now()),
        )
    return key


def revoke_api_key(archive: Archive, key: str) -> int:
    """Deactivate an API key, given the key itself or its displayed prefix (``sk_live_abcd1234``).

    Returns
    -------
    int
        How many keys were deactivated.

    Raises
    ------
    NotFoundError
        When no active key matches.
    """
    key = key.strip().removesuffix("...")
    with archive.db.transaction() as conn:
        if len(key) == 72:
            cur = conn.execute(
                "UPDATE api_keys SET is_active = 0 WHERE key_hash = ? AND is_active = 1",
                (hash_token(key),),
            )
        else:
            if len(key) < 12:
                raise ValidationError("give the whole key or at least 'sk_live_' + 4 hex digits")
            cur = conn.execute(
                "UPDATE api_keys SET is_active = 0 WHERE key_prefix LIKE ? AND is_active = 1",
                (key + "%",),
            )
        if not cur.rowcount:
            raise NotFoundError(f"no active API key matches {key!r}")
        return int(cur.rowcount)


def list_users(archive: Archive) -> list[dict[str, Any]]:
    """Every user with their grants and active key prefixes, by email."""
    conn = archive.db.conn()
    out = []
    for row in conn.execute("SELECT * FROM users ORDER BY email"):
        grants = [
            r[0]
            for r in conn.execute(
                "SELECT program_slug FROM program_access WHERE user_id = ? ORDER BY program_slug",
                (row["id"],),
            )
        ]
        keys = [
            r[0]
            for r in conn.execute(
                "SELECT key_prefix FROM api_keys WHERE user_id = ? AND is_active = 1 "
                "ORDER BY created_at",
                (row["id"],),
            )
        ]
        out.append(
            {
                "id": row["id"],
                "email": row["email"],
                "full_name": row["full_name"],
                "admin": bool(row["is_admin"]),
                "can_inspect": bool(row["can_inspect"]),
                "programs": grants,
                "api_keys": keys,
                "created_at": row["created_at"],
            }
        )
    return out
