"""Comments on objects: read by anyone who can see the object, written by inspectors.

A comment is ``{"id", "object_id", "user_id", "user_name", "body", "created_at",
"updated_at"}``. Only its author edits it; its author or an admin deletes it. A deleted comment
leaves a tombstone, so ``/sync/comments`` with ``include_deleted`` tells clients to drop it.
Every comment write also moves its object's ``updated_at`` (not its ``version``), so an
incremental ``/sync/objects`` that brings nothing new tells a client that no comment changed
either (the ``comments-touch-objects`` extension: the client then skips ``/sync/comments``).

Examples
--------
>>> check_body({"body": "  Hα and [OIII] agree: z = 6.12 "})
'Hα and [OIII] agree: z = 6.12'
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from campfire.server.auth.access import Principal
from campfire.server.catalog.audit import record
from campfire.server.catalog.inspections import visible_object
from campfire.server.catalog.rows import refresh_objects
from campfire.server.http.writes import Writer, api_error

__all__ = [
    "COMMENT_SELECT",
    "MAX_BODY",
    "check_body",
    "comment_json",
    "create_comment",
    "delete_comment",
    "edit_comment",
    "object_comments",
    "visible_comment",
]

#: the longest comment, in characters
MAX_BODY = 10000
#: a comment row with its object's name and programs and its author's name
COMMENT_SELECT = (
    "SELECT c.id, o.object_id, c.user_id, coalesce(u.full_name, u.email) AS user_name, c.body, "
    "c.created_at, c.updated_at, o.programs, o.programs_key, c.object_pk "
    "FROM comments c JOIN objects o ON o.id = c.object_pk LEFT JOIN users u ON u.id = c.user_id"
)


def check_body(body: dict[str, Any]) -> str:
    """The comment text of a request body (trimmed), or 400."""
    if set(body) - {"body"}:
        raise api_error(400, "invalid_request", 'the body is {"body": "<text>"} and nothing else')
    text = body.get("body")
    if not isinstance(text, str) or not 1 <= len(text.strip()) <= MAX_BODY:
        raise api_error(400, "invalid_request", f"body must be a string of 1-{MAX_BODY} characters")
    return text.strip()


def comment_json(row: sqlite3.Row | tuple[Any, ...]) -> dict[str, Any]:
    """The wire form of a row selected with :data:`COMMENT_SELECT`."""
    return {"id": row[0], "object_id": row[1], "user_id": row[2], "user_name": row[3],
            "body": row[4], "created_at": row[5], "updated_at": row[6]}  # fmt: skip


def object_comments(
    conn: sqlite3.Connection, principal: Principal, object_id: str, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """``(comments, total)`` of an object the user can see (404 otherwise), oldest first."""
    obj = visible_object(conn, principal, object_id)
    total = conn.execute("SELECT count(*) FROM comments WHERE object_pk = ?", (obj["id"],))
    rows = conn.execute(
        f"{COMMENT_SELECT} WHERE c.object_pk = ? ORDER BY c.id LIMIT ? OFFSET ?",
        (obj["id"], limit, offset),
    ).fetchall()
    return [comment_json(r) for r in rows], int(total.fetchone()[0])


def visible_comment(conn: sqlite3.Connection, principal: Principal, comment_id: int) -> sqlite3.Row:
    """A comment on an active object the user can see, else 404."""
    row: sqlite3.Row | None = conn.execute(f"{COMMENT_SELECT} WHERE c.id = ? AND o.is_active = 1",
                       (comment_id,)).fetchone()  # fmt: skip
    if row is None or not principal.can_see(json.loads(row["programs"])):
        raise api_error(404, "not_found", f"No comment {comment_id} (or you cannot see it)")
    return row


def _one(conn: sqlite3.Connection, comment_id: int) -> dict[str, Any]:
    return comment_json(conn.execute(f"{COMMENT_SELECT} WHERE c.id = ?", (comment_id,)).fetchone())


def create_comment(
    conn: sqlite3.Connection, writer: Writer, object_id: str, body: dict[str, Any], now: str
) -> dict[str, Any]:
    """Add a comment (``body`` is the request's JSON) to an object the writer can see and may
    inspect: 404, then 403, then 400.
    """
    obj = visible_object(conn, writer.principal, object_id)
    writer.require_inspect()
    text = check_body(body)
    cid = conn.execute(
        "INSERT INTO comments (object_pk, user_id, body, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?) RETURNING id",
        (obj["id"], writer.user_id, text, now, now),
    ).fetchone()[0]
    record(conn, now, writer.user_id, "comment.create", "comment", str(cid), object_id, {},
           {"body": text})  # fmt: skip
    refresh_objects(conn, [obj["id"]], now, bump_version=False, touch=True)
    return _one(conn, cid)


def edit_comment(
    conn: sqlite3.Connection, writer: Writer, row: sqlite3.Row, body: dict[str, Any], now: str
) -> dict[str, Any]:
    """Change the text of one's own comment (403 for anyone else's, then 400)."""
    writer.require_inspect()
    if row["user_id"] != writer.user_id:
        raise api_error(403, "forbidden", "Only the author of a comment may edit it")
    text = check_body(body)
    if text != row["body"]:
        conn.execute("UPDATE comments SET body = ?, updated_at = ? WHERE id = ?",
                     (text, now, row["id"]))  # fmt: skip
        record(conn, now, writer.user_id, "comment.edit", "comment", str(row["id"]),
               row["object_id"], {"body": row["body"]}, {"body": text})  # fmt: skip
        refresh_objects(conn, [row["object_pk"]], now, bump_version=False, touch=True)
    return _one(conn, row["id"])


def delete_comment(conn: sqlite3.Connection, writer: Writer, row: sqlite3.Row, now: str) -> None:
    """Delete one's own comment (an admin may delete any); leaves a tombstone for sync."""
    writer.require_inspect()
    if row["user_id"] != writer.user_id and not writer.principal.is_admin:
        raise api_error(
            403, "forbidden", "Only the author of a comment (or an admin) may delete it"
        )
    conn.execute("DELETE FROM comments WHERE id = ?", (row["id"],))
    conn.execute(
        "INSERT INTO tombstones (kind, key, programs, deleted_at) VALUES ('comment', ?, ?, ?)",
        (str(row["id"]), row["programs"], now),
    )
    record(conn, now, writer.user_id, "comment.delete", "comment", str(row["id"]),
           row["object_id"], {"body": row["body"], "user_id": row["user_id"]}, {})  # fmt: skip
    refresh_objects(conn, [row["object_pk"]], now, bump_version=False, touch=True)
