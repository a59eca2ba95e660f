"""Inspection writes in the local catalog: their local effect, and the archive's answers to them.

Every write (an inspection, DQ flags, a comment, a new tag, tagging and untagging) changes the
local catalog at once, in the same transaction that queues it in the outbox
(:mod:`campfire.catalog.outbox`), so queries, ``campfire sql`` and the explorer see it before the
archive does. Later, in the transaction that removes it from the outbox, the archive's answer
replaces the local guess (the new ``version``, the comment's id), or, for a write the archive
refused, the values it replaced come back (:func:`restore`), or, for a conflict, the archive's
current values (:func:`apply_theirs`).

Every function here runs inside the caller's transaction (``Store.transaction()``), changes
only the rows of the records named, and returns the object ids whose query rows changed (for
the in-place update of the DuckDB tables, :mod:`campfire.catalog.patch`).

Examples
--------
>>> with store.transaction() as con:  # doctest: +SKIP
...     previous = capture(con, "inspect", "J1")
...     touched = apply_local(con, "inspect", "J1", {"redshift_quality": 4}, me, key)
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping
from typing import Any

from campfire.catalog.schema import utc_now

__all__ = [
    "INSPECTION_FIELDS",
    "USER_KEY",
    "Me",
    "apply_answer",
    "apply_local",
    "apply_theirs",
    "capture",
    "changed_members",
    "object_of_spectrum",
    "restore",
]

#: the object columns an inspection sets (and a conflict or refusal restores)
INSPECTION_FIELDS = (
    "redshift_inspected", "redshift_quality", "redshift", "last_inspected_at",
    "last_inspected_by", "last_inspected_by_name", "version",
)  # fmt: skip
_BEST = (
    "redshift = CASE WHEN redshift_quality = 1 THEN NULL "
    "ELSE coalesce(redshift_inspected, redshift_auto) END"
)

Me = Mapping[str, Any]  # the user: {"id": uuid | None, "name": str | None}
#: the ``_meta`` key of the user record (the last ``whoami``: :mod:`campfire.sync.user`)
USER_KEY = "user"


def object_of_spectrum(con: sqlite3.Connection, spectrum_id: str) -> tuple[str | None, int] | None:
    """``(object_id, version)`` of a spectrum in the catalog, or None if unknown."""
    row = con.execute(
        "SELECT object_id, coalesce(version, 1) FROM spectra WHERE spectrum_id = ?",
        (spectrum_id,),
    ).fetchone()
    return None if row is None else (row[0], int(row[1]))


def capture(
    con: sqlite3.Connection, kind: str, target: str, body: Mapping[str, Any] | None = None
) -> dict[str, Any] | None:
    """The local values a write of ``kind`` on ``target`` (with ``body``) is about to replace."""
    if kind == "inspect":
        row = con.execute(
            f"SELECT {', '.join(INSPECTION_FIELDS)} FROM objects WHERE object_id = ?", (target,)
        ).fetchone()
        return None if row is None else dict(zip(INSPECTION_FIELDS, tuple(row), strict=True))
    if kind == "dq":
        row = con.execute(
            "SELECT dq_flags, version FROM spectra WHERE spectrum_id = ?", (target,)
        ).fetchone()
        return None if row is None else {"dq_flags": row[0], "version": row[1]}
    if kind == "create_tag":
        row = con.execute("SELECT 1 FROM object_lists WHERE slug = ?", (target,)).fetchone()
        return {"existed": row is not None}
    if kind in ("tag", "untag"):
        return {"changed": changed_members(con, kind, target, (body or {}).get("object_ids", []))}
    return None


def _members(con: sqlite3.Connection, slug: str, object_ids: Iterable[str]) -> set[str]:
    ids = list(object_ids)
    found: set[str] = set()
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        found.update(
            r[0]
            for r in con.execute(
                "SELECT object_id FROM object_list_memberships WHERE list_slug = ? AND "
                f"object_id IN ({','.join('?' * len(chunk))})",
                (slug, *chunk),
            )
        )
    return found


def _count_members(con: sqlite3.Connection, slug: str) -> None:
    con.execute(
        "UPDATE object_lists SET member_count = (SELECT count(*) FROM object_list_memberships "
        "WHERE list_slug = ?) WHERE slug = ?",
        (slug, slug),
    )


def _spectrum_owner(con: sqlite3.Connection, spectrum_id: str) -> set[str]:
    found = object_of_spectrum(con, spectrum_id)
    return {found[0]} if found and found[0] else set()


def apply_local(
    con: sqlite3.Connection,
    kind: str,
    target: str,
    body: Mapping[str, Any],
    me: Me,
    key: str,
) -> set[str]:
    """Apply a write's effect to the local catalog now; the object ids whose rows changed.

    Applying the same write again changes nothing more (after a sync it is applied again on
    top of the rows the archive sent, while it is still pending).
    """
    now = utc_now()
    if kind == "inspect":
        sets = [f"{k} = ?" for k in ("redshift_inspected", "redshift_quality") if k in body]
        args = [body[k] for k in ("redshift_inspected", "redshift_quality") if k in body]
        con.execute(
            f"UPDATE objects SET {', '.join(sets)}, last_inspected_at = ?, "
            "last_inspected_by = ?, last_inspected_by_name = ?, _synced_at = ? "
            "WHERE object_id = ?",
            (*args, now, me.get("id"), me.get("name"), now, target),
        )
        con.execute(f"UPDATE objects SET {_BEST} WHERE object_id = ?", (target,))
        return {target}
    if kind == "dq":
        con.execute(
            "UPDATE spectra SET dq_flags = ?, _synced_at = ? WHERE spectrum_id = ?",
            (int(body["dq_flags"]), now, target),
        )
        return _spectrum_owner(con, target)
    if kind == "comment":
        con.execute(
            "INSERT INTO comments (object_id, user_id, user_name, body, created_at, updated_at, "
            "outbox_key) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(outbox_key) DO NOTHING",
            (target, me.get("id"), me.get("name"), body["body"], now, now, key),
        )
        return {target}
    if kind == "create_tag":
        con.execute(
            "INSERT INTO object_lists (id, slug, name, description, visibility, is_system, "
            "member_count, created_at, updated_at) VALUES ((SELECT min(0, coalesce(min(id), 0)) "
            "- 1 FROM object_lists), ?, ?, ?, ?, 0, 0, ?, ?) ON CONFLICT(slug) DO NOTHING",
            (target, body.get("name") or target, body.get("description"),
             body.get("visibility") or "private", now, now),
        )  # fmt: skip
        return set()
    ids = [str(i) for i in body["object_ids"]]
    if kind == "tag":
        con.executemany(
            "INSERT OR IGNORE INTO object_list_memberships (object_id, list_slug) VALUES (?, ?)",
            [(i, target) for i in ids],
        )
    elif kind == "untag":
        con.executemany(
            "DELETE FROM object_list_memberships WHERE object_id = ? AND list_slug = ?",
            [(i, target) for i in ids],
        )
    else:
        raise ValueError(f"unknown write kind {kind!r}")
    _count_members(con, target)
    return set(ids)


def changed_members(
    con: sqlite3.Connection, kind: str, slug: str, object_ids: Iterable[str]
) -> list[str]:
    """The objects a ``tag``/``untag`` of ``object_ids`` would actually change (before it)."""
    ids = list(dict.fromkeys(object_ids))
    have = _members(con, slug, ids)
    return [i for i in ids if (i in have) == (kind == "untag")]


def restore(
    con: sqlite3.Connection,
    kind: str,
    target: str,
    body: Mapping[str, Any],
    previous: Mapping[str, Any] | None,
    key: str,
) -> set[str]:
    """Undo a write the archive refused: put back what it replaced; the object ids changed."""
    if kind == "inspect" and previous:
        cols = [c for c in INSPECTION_FIELDS if c in previous]
        con.execute(
            f"UPDATE objects SET {', '.join(f'{c} = ?' for c in cols)} WHERE object_id = ?",
            (*(previous[c] for c in cols), target),
        )
        return {target}
    if kind == "dq" and previous:
        con.execute(
            "UPDATE spectra SET dq_flags = ?, version = ? WHERE spectrum_id = ?",
            (previous.get("dq_flags"), previous.get("version"), target),
        )
        return _spectrum_owner(con, target)
    if kind == "comment":
        con.execute("DELETE FROM comments WHERE outbox_key = ? AND id IS NULL", (key,))
        return {target}
    if kind == "create_tag" and previous is not None and not previous.get("existed"):
        members = [
            r[0]
            for r in con.execute(
                "SELECT object_id FROM object_list_memberships WHERE list_slug = ?", (target,)
            )
        ]
        con.execute("DELETE FROM object_lists WHERE slug = ?", (target,))
        con.execute("DELETE FROM object_list_memberships WHERE list_slug = ?", (target,))
        return set(members)
    if kind in ("tag", "untag"):
        changed = (previous or {}).get("changed")
        ids = [str(i) for i in (body.get("object_ids") or [] if changed is None else changed)]
        undo = "untag" if kind == "tag" else "tag"
        return apply_local(con, undo, target, {"object_ids": ids}, {}, key)
    return set()


def apply_theirs(
    con: sqlite3.Connection, kind: str, target: str, theirs: Mapping[str, Any]
) -> set[str]:
    """Set a record to the archive's current values from a 409 answer; the object ids changed."""
    user = theirs.get("conflicting_user") or {}
    if kind == "inspect":
        con.execute(
            "UPDATE objects SET redshift_inspected = ?, redshift_quality = ?, version = ?, "
            "last_inspected_at = ?, last_inspected_by = ?, last_inspected_by_name = ? "
            "WHERE object_id = ?",
            (
                theirs.get("current_redshift_inspected"),
                int(theirs.get("current_redshift_quality") or 0),
                theirs.get("current_version"),
                theirs.get("last_inspected_at"),
                user.get("id"),
                user.get("name"),
                target,
            ),
        )
        con.execute(f"UPDATE objects SET {_BEST} WHERE object_id = ?", (target,))
        return {target}
    if kind == "dq":
        con.execute(
            "UPDATE spectra SET dq_flags = ?, version = ? WHERE spectrum_id = ?",
            (int(theirs.get("current_dq_flags") or 0), theirs.get("current_version"), target),
        )
        return _spectrum_owner(con, target)
    return set()


def apply_answer(
    con: sqlite3.Connection, kind: str, target: str, answer: Any, key: str
) -> tuple[set[str], int | None]:
    """Apply the archive's 2xx answer to a write: ``(object ids changed, the new version)``.

    The answer's values replace the local guess (the archive set the time, the user and the
    version); the sync cursors are not moved, so the next sync still sees everyone's changes.
    """
    body = answer if isinstance(answer, dict) else {}
    now = utc_now()
    if kind == "inspect" and isinstance(body.get("object"), dict):
        row = body["object"]
        cols = [c for c in INSPECTION_FIELDS if c in row] + ["updated_at"] * ("updated_at" in row)
        con.execute(
            f"UPDATE objects SET {', '.join(f'{c} = ?' for c in cols)}, _synced_at = ? "
            "WHERE object_id = ?",
            (*(row[c] for c in cols), now, target),
        )
        version = row.get("version")
        return {target}, None if version is None else int(version)
    if kind == "dq" and isinstance(body.get("spectrum"), dict):
        row = body["spectrum"]
        con.execute(
            "UPDATE spectra SET dq_flags = ?, version = ?, _synced_at = ? WHERE spectrum_id = ?",
            (int(row.get("dq_flags") or 0), row.get("version"), now, target),
        )
        version = row.get("version")
        return _spectrum_owner(con, target), None if version is None else int(version)
    if kind == "comment" and isinstance(body.get("comment"), dict):
        c = body["comment"]
        if con.execute("SELECT 1 FROM comments WHERE id = ?", (c.get("id"),)).fetchone():
            con.execute("DELETE FROM comments WHERE outbox_key = ? AND id IS NULL", (key,))
        else:
            con.execute(
                "UPDATE comments SET id = ?, user_id = ?, user_name = ?, body = ?, "
                "created_at = ?, updated_at = ?, _synced_at = ? WHERE outbox_key = ?",
                (c.get("id"), c.get("user_id"), c.get("user_name"), c.get("body"),
                 c.get("created_at"), c.get("updated_at"), now, key),
            )  # fmt: skip
        return {target}, None
    if isinstance(body.get("list"), dict):
        lst = body["list"]
        con.execute(
            "UPDATE object_lists SET id = coalesce(?, id), name = coalesce(?, name), "
            "description = ?, visibility = coalesce(?, visibility), "
            "member_count = coalesce(?, member_count), created_at = coalesce(?, created_at), "
            "updated_at = coalesce(?, updated_at) WHERE slug = ?",
            (lst.get("id"), lst.get("name"), lst.get("description"), lst.get("visibility"),
             lst.get("member_count"), lst.get("created_at"), lst.get("updated_at"), target),
        )  # fmt: skip
        missing = [str(i) for i in body.get("not_found") or []]
        if kind == "tag" and missing:
            return apply_local(con, "untag", target, {"object_ids": missing}, {}, key), None
    return set(), None
