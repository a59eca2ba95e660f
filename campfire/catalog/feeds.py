"""The ``inspections`` extension's sync feeds in the store: comments, and the lists' members.

``/sync/comments`` is a feed like ``/sync/objects`` (cursor ``_meta.cursor_comments``, deleted
ids on an incremental first page, a purge after a full pass); ``/sync/lists`` carries each
visible list's ``object_ids``, from which the memberships are rebuilt whole, so a tag another
user added or removed reaches this catalog even when the object itself did not change, and a
list that is gone (deleted, or made private by its owner) goes. Comments written here and not
yet confirmed (``id`` NULL) are never purged, nor lists created here and still queued.

Examples
--------
>>> with store.transaction() as con:  # doctest: +SKIP
...     upsert_comments(con, page_rows, stamp)
...     replace_members(con, lists_rows, keep={"my-new-tag"})
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Iterable, Mapping
from typing import Any

__all__ = ["comment_ids", "delete_comments", "replace_members", "upsert_comments"]

_COMMENT_COLUMNS = ("id", "object_id", "user_id", "user_name", "body", "created_at", "updated_at")
_UPSERT = (
    f"INSERT INTO comments ({', '.join(_COMMENT_COLUMNS)}, _synced_at) "
    f"VALUES ({', '.join('?' * (len(_COMMENT_COLUMNS) + 1))}) ON CONFLICT(id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _COMMENT_COLUMNS[1:])
    + ", _synced_at = excluded._synced_at WHERE "
    + " OR ".join(f"comments.{c} IS NOT excluded.{c}" for c in _COMMENT_COLUMNS[1:])
)


def upsert_comments(con: sqlite3.Connection, rows: Iterable[Mapping[str, Any]], stamp: str) -> int:
    """Insert or update synced comments; how many rows changed.

    Examples
    --------
    >>> upsert_comments(store.conn, [{"id": 1, "object_id": "J1", "body": "hi"}], "now")
    ... # doctest: +SKIP
    1
    """
    before = con.total_changes
    con.executemany(
        _UPSERT, [(*(r.get(c) for c in _COMMENT_COLUMNS), stamp) for r in rows if r.get("id")]
    )
    return con.total_changes - before


def delete_comments(con: sqlite3.Connection, ids: Iterable[Any]) -> int:
    """Delete synced comments by id; how many there were."""
    before = con.total_changes
    con.executemany("DELETE FROM comments WHERE id = ?", [(int(i),) for i in ids])
    return con.total_changes - before


def comment_ids(con: sqlite3.Connection) -> set[int]:
    """The ids of every synced comment (for the full-sync purge)."""
    return {int(r[0]) for r in con.execute("SELECT id FROM comments WHERE id IS NOT NULL")}


def replace_members(
    con: sqlite3.Connection, lists: Iterable[Mapping[str, Any]], keep: Collection[str] = ()
) -> int:
    """Make the memberships exactly the ``object_ids`` of the synced ``lists``; how many
    membership and list rows changed.

    Lists not in ``lists`` are deleted with their members, except the slugs in ``keep``
    (created here and not yet confirmed by the archive). A list row without ``object_ids``
    (an archive without the extension) leaves that list's members as they are.
    """
    before = con.total_changes
    seen: set[str] = set()
    for lst in lists:
        slug = str(lst["slug"])
        seen.add(slug)
        ids = lst.get("object_ids")
        if not isinstance(ids, list):
            continue
        want = {str(i) for i in ids}
        have = {
            r[0]
            for r in con.execute(
                "SELECT object_id FROM object_list_memberships WHERE list_slug = ?", (slug,)
            )
        }
        con.executemany(
            "DELETE FROM object_list_memberships WHERE object_id = ? AND list_slug = ?",
            [(i, slug) for i in have - want],
        )
        con.executemany(
            "INSERT INTO object_list_memberships (object_id, list_slug) VALUES (?, ?)",
            [(i, slug) for i in want - have],
        )
    gone = [
        r[0]
        for r in con.execute("SELECT slug FROM object_lists")
        if r[0] not in seen and r[0] not in keep
    ]
    stray = [
        r[0]
        for r in con.execute("SELECT DISTINCT list_slug FROM object_list_memberships")
        if r[0] not in seen and r[0] not in keep
    ]
    for slug in set(gone) | set(stray):
        con.execute("DELETE FROM object_list_memberships WHERE list_slug = ?", (slug,))
        con.execute("DELETE FROM object_lists WHERE slug = ?", (slug,))
    return con.total_changes - before
