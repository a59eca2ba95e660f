"""Lists (tags) written through the API: create, rename, re-scope, delete, add and remove members.

Visibility is ``private`` (only its creator sees it), ``public_read`` (everyone sees it, its
creator changes it) or ``public_edit`` (everyone sees it, anyone with ``can_inspect`` changes its
members). Admins may change or delete any list; system lists (no creator) only admins change.
A private list of another user does not exist for the caller: :func:`visible_list` answers 404.

The shared ``/sync/objects`` JSON of an object names only its non-private lists;
:func:`private_memberships` gives the caller's own private ones, which the feed adds per user.

Examples
--------
>>> bool(SLUG_RE.match("my-candidates_2")), bool(SLUG_RE.match("Bad slug"))
(True, False)
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections import defaultdict
from typing import Any

from campfire.server.auth.access import Principal
from campfire.server.catalog.audit import record
from campfire.server.catalog.rows import refresh_objects
from campfire.server.http.writes import Writer, api_error
from campfire.server.storage.database import marks

__all__ = [
    "MAX_MEMBERS",
    "SLUG_RE",
    "VISIBILITIES",
    "change_members",
    "create_list",
    "delete_list",
    "list_json",
    "private_memberships",
    "update_list",
    "visible_list",
    "visible_lists",
]

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
VISIBILITIES = ("private", "public_read", "public_edit")
#: most object ids one members request may name
MAX_MEMBERS = 10000
_CHUNK = 500
_FIELDS = ("slug", "name", "description", "visibility")


def _bad(message: str) -> Exception:
    return api_error(400, "invalid_request", message)


def _check(body: dict[str, Any], creating: bool) -> dict[str, Any]:
    unknown = sorted(set(body) - set(_FIELDS))
    if unknown:
        raise _bad(f"unknown field(s) {', '.join(unknown)}; allowed: {', '.join(_FIELDS)}")
    out: dict[str, Any] = {}
    if creating and "slug" not in body:
        raise _bad("slug is required")
    if "slug" in body:
        slug = body["slug"]
        if not isinstance(slug, str) or not SLUG_RE.match(slug):
            raise _bad(f"slug must match ^[a-z0-9][a-z0-9_-]{{0,63}}$ (got {slug!r})")
        out["slug"] = slug
    if "name" in body:
        name = body["name"]
        if not isinstance(name, str) or not 1 <= len(name.strip()) <= 200:
            raise _bad("name must be a string of 1-200 characters")
        out["name"] = name.strip()
    if "description" in body:
        text = body["description"]
        if text is not None and (not isinstance(text, str) or len(text) > 2000):
            raise _bad("description must be null or a string of at most 2000 characters")
        out["description"] = text
    if "visibility" in body:
        if body["visibility"] not in VISIBILITIES:
            raise _bad(f"visibility must be one of {', '.join(VISIBILITIES)} "
                       f"(got {body['visibility']!r})")  # fmt: skip
        out["visibility"] = body["visibility"]
    return out


def visible_lists(conn: sqlite3.Connection, user_id: str) -> list[sqlite3.Row]:
    """The lists a user can see (own and public ones), system lists first, then by name."""
    return conn.execute(
        "SELECT l.*, (SELECT count(*) FROM list_members m WHERE m.list_id = l.id) AS member_count "
        "FROM lists l WHERE l.visibility != 'private' OR l.created_by = ? "
        "ORDER BY l.is_system DESC, l.name, l.slug",
        (user_id,),
    ).fetchall()


def visible_list(conn: sqlite3.Connection, principal: Principal, slug: str) -> sqlite3.Row:
    """The list ``slug`` if the user can see it, else 404 (as if it did not exist)."""
    row: sqlite3.Row | None = conn.execute(
        "SELECT l.*, (SELECT count(*) FROM list_members m WHERE m.list_id = l.id) AS member_count "
        "FROM lists l WHERE l.slug = ?",
        (slug,),
    ).fetchone()
    if row is None or (row["visibility"] == "private" and row["created_by"] != principal.user_id):
        raise api_error(404, "not_found", f"No list {slug!r} (or you cannot see it)")
    return row


def _visible_members(
    conn: sqlite3.Connection, programs: frozenset[str], list_ids: list[int]
) -> dict[int, list[str]]:
    out: dict[int, list[str]] = defaultdict(list)
    if not list_ids or not programs:
        return out
    rows = conn.execute(
        "SELECT m.list_id, o.object_id, o.programs FROM list_members m "
        f"JOIN objects o ON o.id = m.object_pk WHERE m.list_id IN ({marks(len(list_ids))}) "
        "AND o.is_active = 1 ORDER BY o.object_id",
        list_ids,
    )
    seen: dict[str, bool] = {}
    for list_id, object_id, progs in rows:
        if progs not in seen:
            seen[progs] = not programs.isdisjoint(json.loads(progs))
        if seen[progs]:
            out[list_id].append(object_id)
    return out


def list_json(
    conn: sqlite3.Connection, principal: Principal, rows: list[sqlite3.Row]
) -> list[dict[str, Any]]:
    """The ``/sync/lists`` rows of ``rows``, each with ``object_ids`` the user can see."""
    members = _visible_members(conn, principal.programs, [r["id"] for r in rows])
    return [
        {"id": r["id"], "slug": r["slug"], "name": r["name"], "description": r["description"],
         "visibility": r["visibility"], "is_system": bool(r["is_system"]),
         "created_by": r["created_by"], "created_at": r["created_at"],
         "updated_at": r["updated_at"], "member_count": r["member_count"],
         "object_ids": members.get(r["id"], [])}
        for r in rows
    ]  # fmt: skip


def _may_change(writer: Writer, row: sqlite3.Row) -> None:
    writer.require_inspect()
    if writer.principal.is_admin or (row["created_by"] and row["created_by"] == writer.user_id):
        return
    raise api_error(403, "forbidden", f"Only the creator of list {row['slug']!r} (or an admin) "
                    "may rename, re-scope or delete it")  # fmt: skip


def _slug_free(conn: sqlite3.Connection, slug: str) -> None:
    if conn.execute("SELECT 1 FROM lists WHERE slug = ?", (slug,)).fetchone() is not None:
        raise api_error(409, "slug_taken", f"A list with slug {slug!r} already exists; "
                        "choose another slug")  # fmt: skip


def _members(conn: sqlite3.Connection, list_id: int) -> list[int]:
    return [
        r[0]
        for r in conn.execute("SELECT object_pk FROM list_members WHERE list_id = ?", (list_id,))
    ]


def create_list(conn: sqlite3.Connection, writer: Writer, body: dict[str, Any], now: str) -> str:
    """Create a list owned by the writer; return its slug (409 ``slug_taken``)."""
    writer.require_inspect()
    new = _check(body, creating=True)
    new.setdefault("name", new["slug"])
    new.setdefault("description", None)
    new.setdefault("visibility", "private")
    _slug_free(conn, new["slug"])
    list_id = conn.execute(
        "INSERT INTO lists (slug, name, description, visibility, is_system, created_by, "
        "created_at, updated_at) VALUES (?, ?, ?, ?, 0, ?, ?, ?) RETURNING id",
        (new["slug"], new["name"], new["description"], new["visibility"], writer.user_id, now,
         now),
    ).fetchone()[0]  # fmt: skip
    record(conn, now, writer.user_id, "list.create", "list", str(list_id), None, {}, new)
    return str(new["slug"])


def update_list(
    conn: sqlite3.Connection, writer: Writer, row: sqlite3.Row, body: dict[str, Any], now: str
) -> str:
    """Rename, describe or re-scope a list; return its (new) slug."""
    _may_change(writer, row)
    wanted = _check(body, creating=False)
    changes = {k: v for k, v in wanted.items() if v != row[k]}
    if not changes:
        return str(row["slug"])
    if "slug" in changes:
        _slug_free(conn, changes["slug"])
    cols = ", ".join(f"{k} = ?" for k in changes)
    conn.execute(
        f"UPDATE lists SET {cols}, updated_at = ? WHERE id = ?", [*changes.values(), now, row["id"]]
    )
    if {"slug", "visibility"} & set(changes):  # the members' rows name the list by slug
        refresh_objects(conn, _members(conn, row["id"]), now, bump_version=False, touch=True)
    record(conn, now, writer.user_id, "list.update", "list", str(row["id"]), None,
           {k: row[k] for k in changes}, changes)  # fmt: skip
    return str(changes.get("slug", row["slug"]))


def delete_list(conn: sqlite3.Connection, writer: Writer, row: sqlite3.Row, now: str) -> None:
    """Delete a list and its memberships."""
    _may_change(writer, row)
    pks = _members(conn, row["id"])
    conn.execute("DELETE FROM list_members WHERE list_id = ?", (row["id"],))
    conn.execute("DELETE FROM lists WHERE id = ?", (row["id"],))
    refresh_objects(conn, pks, now, bump_version=False, touch=True)
    record(conn, now, writer.user_id, "list.delete", "list", str(row["id"]), None,
           {k: row[k] for k in _FIELDS} | {"member_count": len(pks)}, {})  # fmt: skip


def _object_ids(body: dict[str, Any]) -> list[str]:
    ids = body.get("object_ids")
    if set(body) - {"object_ids"}:
        raise _bad('the body is {"object_ids": [...]} and nothing else')
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise _bad("object_ids must be a list of object id strings")
    if len(ids) > MAX_MEMBERS:
        raise _bad(f"at most {MAX_MEMBERS} object_ids per request (got {len(ids)})")
    return list(dict.fromkeys(ids))


def change_members(
    conn: sqlite3.Connection,
    writer: Writer,
    row: sqlite3.Row,
    body: dict[str, Any],
    add: bool,
    now: str,
) -> tuple[int, list[str]]:
    """Add (or remove) the objects of ``body["object_ids"]``; return ``(changed, not_found)``."""
    writer.require_inspect()
    if row["visibility"] != "public_edit":
        _may_change(writer, row)
    ids = _object_ids(body)
    found: dict[str, int] = {}
    for i in range(0, len(ids), _CHUNK):
        chunk = ids[i : i + _CHUNK]
        for pk, oid, progs in conn.execute(
            f"SELECT id, object_id, programs FROM objects WHERE object_id IN ({marks(len(chunk))})"
            " AND is_active = 1",
            chunk,
        ):
            if writer.principal.can_see(json.loads(progs)):
                found[oid] = pk
    sql = (
        "INSERT INTO list_members (list_id, object_pk) VALUES (?, ?) ON CONFLICT DO NOTHING"
        if add
        else "DELETE FROM list_members WHERE list_id = ? AND object_pk = ?"
    )
    changed = [oid for oid, pk in found.items() if conn.execute(sql, (row["id"], pk)).rowcount]
    if changed:
        conn.execute("UPDATE lists SET updated_at = ? WHERE id = ?", (now, row["id"]))
        refresh_objects(conn, [found[o] for o in changed], now, bump_version=False, touch=True)
        record(conn, now, writer.user_id, "list.add" if add else "list.remove", "list",
               str(row["id"]), changed[0] if len(changed) == 1 else None, {},
               {"slug": row["slug"], "object_ids": changed})  # fmt: skip
    return len(changed), [i for i in ids if i not in found]


def private_memberships(
    conn: sqlite3.Connection, user_id: str, pks: list[int]
) -> dict[int, list[str]]:
    """``{object pk: [slugs]}`` of the user's own private lists among objects ``pks``."""
    out: dict[int, list[str]] = defaultdict(list)
    if not pks:
        return out
    owns = conn.execute(
        "SELECT 1 FROM lists WHERE created_by = ? AND visibility = 'private' LIMIT 1", (user_id,)
    ).fetchone()
    if owns is None:
        return out
    for i in range(0, len(pks), _CHUNK):
        chunk = pks[i : i + _CHUNK]
        for pk, slug in conn.execute(
            "SELECT m.object_pk, l.slug FROM lists l JOIN list_members m ON m.list_id = l.id "
            f"WHERE l.created_by = ? AND l.visibility = 'private' "
            f"AND m.object_pk IN ({marks(len(chunk))})",
            [user_id, *chunk],
        ):
            out[pk].append(slug)
    return out
