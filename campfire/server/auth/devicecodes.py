"""Device-flow user codes: is a code still pending, and the signed-in user's decision on it.

The login route (``/auth/device/*``) and the approval page (``/cli-auth``) both ask these
questions, so they live here, below both.

Examples
--------
>>> row, problem = pending_device_code(archive.db.conn(), "ABCDEFGH")  # doctest: +SKIP
>>> problem in (None, "not_found", "expired", "already_used")  # doctest: +SKIP
True
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, Literal

from campfire.server.auth.credentials import normalize_user_code
from campfire.server.storage.database import utc_now

if TYPE_CHECKING:
    from campfire.server.archive import Archive

__all__ = ["CodeProblem", "decide_device_code", "pending_device_code"]

#: why a user code cannot be approved
CodeProblem = Literal["not_found", "expired", "already_used"]


def pending_device_code(
    conn: sqlite3.Connection, user_code: str
) -> tuple[sqlite3.Row | None, CodeProblem | None]:
    """The ``device_codes`` row of a normalised user code, and what stops its approval.

    The problem is None when the code is pending and unexpired.

    Examples
    --------
    >>> pending_device_code(conn, "ZZZZZZZZ")  # doctest: +SKIP
    (None, 'not_found')
    """
    row: sqlite3.Row | None = conn.execute(
        "SELECT * FROM device_codes WHERE user_code = ?", (user_code,)
    ).fetchone()
    if row is None:
        return None, "not_found"
    if row["expires_at"] < utc_now():
        return row, "expired"
    if row["status"] != "pending":
        return row, "already_used"
    return row, None


def decide_device_code(archive: Archive, user_code: str, action: str, user_id: str) -> bool:
    """Approve (``authorize``) or ``deny`` a pending code; False if nothing changed.

    Examples
    --------
    >>> decide_device_code(archive, "ABCD-EFGH", "authorize", user_id)  # doctest: +SKIP
    True
    """
    code = normalize_user_code(user_code)
    with archive.db.transaction() as conn:
        if action == "authorize":
            cur = conn.execute(
                "UPDATE device_codes SET status = 'authorized', user_id = ?, authorized_at = ? "
                "WHERE user_code = ? AND status = 'pending' AND expires_at > ?",
                (user_id, utc_now(), code, utc_now()),
            )
        else:
            cur = conn.execute(
                "UPDATE device_codes SET status = 'denied' "
                "WHERE user_code = ? AND status = 'pending'",
                (code,),
            )
        return cur.rowcount == 1
