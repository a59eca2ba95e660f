"""The audit log: one row for every write of the ``inspections`` extension.

A row says who (``user_id``), when (``at``), what (``action`` on ``entity`` ``entity_id``, and
the object it concerns, if one) and the fields that changed (``old`` and ``new``, JSON objects).
Admins read it through ``GET /audit``.

Examples
--------
>>> import tempfile, pathlib
>>> from campfire.server.storage.database import Database
>>> db = Database(pathlib.Path(tempfile.mkdtemp()) / "archive.db")
>>> with db.transaction() as conn:
...     record(conn, "2026-01-01T00:00:00.000000+00:00", "u1", "inspect", "object", "J1", "J1",
...            {"redshift_quality": 0}, {"redshift_quality": 4})
>>> audit_rows(db.conn(), limit=10, offset=0)[0][0]["new"]
{'redshift_quality': 4}
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

__all__ = ["ACTIONS", "audit_rows", "record"]

#: every ``action`` a row can have
ACTIONS = (
    "inspect",
    "dq",
    "comment.create",
    "comment.edit",
    "comment.delete",
    "list.create",
    "list.update",
    "list.delete",
    "list.add",
    "list.remove",
)


def record(
    conn: sqlite3.Connection,
    at: str,
    user_id: str | None,
    action: str,
    entity: str,
    entity_id: str,
    object_id: str | None,
    old: dict[str, Any],
    new: dict[str, Any],
) -> None:
    """Add one audit row (inside the write's transaction)."""
    assert action in ACTIONS, action
    conn.execute(
        "INSERT INTO audit_log (at, user_id, action, entity, entity_id, object_id, old, new) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (at, user_id, action, entity, str(entity_id), object_id,
         json.dumps(old, separators=(",", ":")), json.dumps(new, separators=(",", ":"))),
    )  # fmt: skip


def audit_rows(
    conn: sqlite3.Connection,
    *,
    limit: int,
    offset: int,
    since: str | None = None,
    user_id: str | None = None,
    object_id: str | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """``(rows, total)``: audit rows newest first, filtered by time, user and object.

    Parameters
    ----------
    since
        Only rows strictly after this archive timestamp.
    user_id
        Only this user's writes.
    object_id
        Only writes that concern this object (inspections, DQ flags of its spectra, comments).
    """
    where, args = ["1 = 1"], []
    for clause, value in (("at > ?", since), ("user_id = ?", user_id),
                          ("object_id = ?", object_id)):  # fmt: skip
        if value is not None:
            where.append(clause)
            args.append(value)
    sql = " AND ".join(where)
    total = int(conn.execute(f"SELECT count(*) FROM audit_log WHERE {sql}", args).fetchone()[0])
    rows = conn.execute(
        "SELECT id, at, user_id, action, entity, entity_id, object_id, old, new FROM audit_log "
        f"WHERE {sql} ORDER BY id DESC LIMIT ? OFFSET ?",
        [*args, limit, offset],
    ).fetchall()
    out = [
        {"id": r[0], "at": r[1], "user_id": r[2], "action": r[3], "entity": r[4],
         "entity_id": r[5], "object_id": r[6], "old": json.loads(r[7]), "new": json.loads(r[8])}
        for r in rows
    ]  # fmt: skip
    return out, total
