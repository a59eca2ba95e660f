"""Inspections written through the API: an object's redshift and quality, a spectrum's DQ flags.

Each write is a compare-and-set: one ``UPDATE ... WHERE version = ?`` inside the caller's write
transaction, so of two writers holding the same version exactly one succeeds and the other gets
the current values (a 409 ``version_conflict``). The object's or spectrum's sync JSON is then
rendered again (its ``updated_at`` moves, so every client's next incremental sync carries the
write) and one audit row records who changed what.

Examples
--------
>>> check_inspection({"redshift_quality": 4, "expected_version": 3})
({'redshift_quality': 4}, 3)
>>> check_dq({"dq_flags": 16, "expected_version": 1})
(16, 1)
"""

from __future__ import annotations

import json
import math
import sqlite3
from typing import Any

from campfire.server.auth.access import Principal
from campfire.server.catalog.audit import record
from campfire.server.catalog.rows import refresh_objects, refresh_spectra
from campfire.server.http.writes import api_error

__all__ = [
    "MAX_VERSION",
    "Z_RANGE",
    "check_dq",
    "check_inspection",
    "inspect_object",
    "link_inspector",
    "set_dq_flags",
    "visible_object",
    "visible_spectrum",
]

#: the allowed ``redshift_inspected`` range
Z_RANGE = (-0.1, 30.0)
#: the largest ``expected_version`` (SQLite and PostgreSQL integers are 64-bit)
MAX_VERSION = 2**62
_INSPECTION_FIELDS = ("redshift_inspected", "redshift_quality")


def _bad(message: str) -> Exception:
    return api_error(400, "invalid_request", message)


def _int(body: dict[str, Any], name: str, lo: int, hi: int | None = None) -> int:
    value = body.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad(f"{name} must be an integer (got {value!r})")
    if value < lo or (hi is not None and value > hi):
        top = "" if hi is None else f" and <= {hi}"
        raise _bad(f"{name} must be >= {lo}{top} (got {value})")
    return value


def check_inspection(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """``(changes, expected_version)`` of an inspection body, or 400 naming the bad field."""
    unknown = sorted(set(body) - {*_INSPECTION_FIELDS, "expected_version"})
    if unknown:
        raise _bad(f"unknown field(s) {', '.join(unknown)}; allowed: redshift_inspected, "
                   "redshift_quality, expected_version")  # fmt: skip
    if "expected_version" not in body:
        raise _bad("expected_version is required (the object's version you inspected)")
    version = _int(body, "expected_version", 1, MAX_VERSION)
    changes: dict[str, Any] = {}
    if "redshift_inspected" in body:
        z = body["redshift_inspected"]
        if z is not None:
            if isinstance(z, bool) or not isinstance(z, int | float) or not math.isfinite(z):
                raise _bad(f"redshift_inspected must be a finite number or null (got {z!r})")
            if not Z_RANGE[0] <= z <= Z_RANGE[1]:
                raise _bad(f"redshift_inspected must be between {Z_RANGE[0]} and {Z_RANGE[1]} "
                           f"(got {z})")  # fmt: skip
            z = float(z)
        changes["redshift_inspected"] = z
    if "redshift_quality" in body:
        changes["redshift_quality"] = _int(body, "redshift_quality", 0, 4)
    if not changes:
        raise _bad("give redshift_inspected, redshift_quality or both")
    return changes, version


def check_dq(body: dict[str, Any]) -> tuple[int, int]:
    """``(dq_flags, expected_version)`` of a DQ body, or 400 naming the bad field."""
    unknown = sorted(set(body) - {"dq_flags", "expected_version"})
    if unknown:
        raise _bad(f"unknown field(s) {', '.join(unknown)}; allowed: dq_flags, expected_version")
    for name in ("dq_flags", "expected_version"):
        if name not in body:
            raise _bad(f"{name} is required")
    return _int(body, "dq_flags", 0, 2**31 - 1), _int(body, "expected_version", 1, MAX_VERSION)


def visible_object(conn: sqlite3.Connection, principal: Principal, object_id: str) -> sqlite3.Row:
    """The active object the user can see (any of its programs accessible), or 404."""
    row: sqlite3.Row | None = conn.execute(
        "SELECT * FROM objects WHERE object_id = ? AND is_active = 1", (object_id,)
    ).fetchone()
    if row is None or not principal.can_see(json.loads(row["programs"])):
        raise api_error(404, "not_found", f"No object {object_id!r} (or you cannot see it)")
    return row


def visible_spectrum(
    conn: sqlite3.Connection, principal: Principal, spectrum_id: str
) -> sqlite3.Row:
    """The spectrum the user can see (its program accessible, parent object active), or 404."""
    row: sqlite3.Row | None = conn.execute(
        "SELECT s.* FROM spectra s LEFT JOIN objects o ON o.id = s.object_pk "
        "WHERE s.spectrum_id = ? AND (o.id IS NULL OR o.is_active = 1)",
        (spectrum_id,),
    ).fetchone()
    if row is None or not principal.can_see(row["program_slug"]):
        raise api_error(404, "not_found", f"No spectrum {spectrum_id!r} (or you cannot see it)")
    return row


def _user(user_id: str | None, name: str | None) -> Any:
    if user_id is None and name is None:
        return None
    return {"id": user_id, "name": name}


def inspect_object(
    conn: sqlite3.Connection,
    row: sqlite3.Row,
    changes: dict[str, Any],
    expected: int,
    who: tuple[str, str],
    now: str,
) -> None:
    """Apply an inspection to ``row`` if its version is still ``expected``, else 409.

    Parameters
    ----------
    conn
        A connection inside the write transaction.
    row
        The object (from :func:`visible_object`).
    changes
        ``redshift_inspected`` and/or ``redshift_quality`` (from :func:`check_inspection`).
    expected
        The version the writer saw.
    who
        ``(user uuid, display name)`` of the writer.
    now
        The write's timestamp.
    """
    new = {k: changes.get(k, row[k]) for k in _INSPECTION_FIELDS}
    cur = conn.execute(
        "UPDATE objects SET redshift_inspected = ?, redshift_quality = ?, last_inspected_at = ?, "
        "last_inspected_by = ?, last_inspected_by_name = ?, version = version + 1 "
        "WHERE id = ? AND version = ?",
        (new["redshift_inspected"], new["redshift_quality"], now, who[0], who[1], row["id"],
         expected),
    )  # fmt: skip
    if cur.rowcount != 1:
        current = conn.execute("SELECT * FROM objects WHERE id = ?", (row["id"],)).fetchone()
        raise api_error(
            409,
            "version_conflict",
            f"Object {row['object_id']} is at version {current['version']}, not {expected}: "
            "someone inspected it since you loaded it",
            current_version=current["version"],
            current_redshift_inspected=current["redshift_inspected"],
            current_redshift_quality=current["redshift_quality"],
            last_inspected_at=current["last_inspected_at"],
            conflicting_user=_user(current["last_inspected_by"], current["last_inspected_by_name"]),
        )
    refresh_objects(conn, [row["id"]], now, bump_version=False, touch=True)
    old = {k: row[k] for k in _INSPECTION_FIELDS}
    record(conn, now, who[0], "inspect", "object", row["object_id"], row["object_id"],
           {**old, "version": row["version"]}, {**new, "version": row["version"] + 1})  # fmt: skip


def set_dq_flags(
    conn: sqlite3.Connection,
    row: sqlite3.Row,
    flags: int,
    expected: int,
    user_id: str,
    now: str,
) -> None:
    """Set a spectrum's DQ flags if its version is still ``expected``, else 409."""
    cur = conn.execute(
        "UPDATE spectra SET dq_flags = ?, version = version + 1 WHERE id = ? AND version = ?",
        (flags, row["id"], expected),
    )
    parent = conn.execute("SELECT object_id FROM objects WHERE id = ?", (row["object_pk"],))
    object_id = (parent.fetchone() or [None])[0]
    if cur.rowcount != 1:
        current = conn.execute(
            "SELECT version, dq_flags, updated_at FROM spectra WHERE id = ?", (row["id"],)
        ).fetchone()
        last = conn.execute(
            "SELECT a.user_id, coalesce(u.full_name, u.email) FROM audit_log a "
            "LEFT JOIN users u ON u.id = a.user_id WHERE a.entity = 'spectrum' "
            "AND a.entity_id = ? AND a.action = 'dq' ORDER BY a.id DESC LIMIT 1",
            (row["spectrum_id"],),
        ).fetchone()
        raise api_error(
            409,
            "version_conflict",
            f"Spectrum {row['spectrum_id']} is at version {current['version']}, not {expected}: "
            "its DQ flags changed since you loaded them",
            current_version=current["version"],
            current_dq_flags=current["dq_flags"],
            updated_at=current["updated_at"],
            conflicting_user=None if last is None else _user(last[0], last[1]),
        )
    refresh_spectra(conn, [row["id"]], now, bump_version=False)
    if row["object_pk"] is not None:  # the object's row lists its spectra's DQ flags
        refresh_objects(conn, [row["object_pk"]], now, bump_version=False)
    record(conn, now, user_id, "dq", "spectrum", row["spectrum_id"], object_id,
           {"dq_flags": row["dq_flags"], "version": row["version"]},
           {"dq_flags": flags, "version": row["version"] + 1})  # fmt: skip


def link_inspector(conn: sqlite3.Connection, user_id: str, email: str, name: str, now: str) -> int:
    """Credit a new user with the inspections products files gave to their email.

    Returns
    -------
    int
        How many objects now name the user as ``last_inspected_by``.
    """
    pks = [
        r[0]
        for r in conn.execute(
            "UPDATE objects SET last_inspected_by = ?, last_inspected_by_name = ? "
            "WHERE last_inspected_by IS NULL AND lower(last_inspected_by_name) = lower(?) "
            "RETURNING id",
            (user_id, name, email),
        ).fetchall()
    ]
    refresh_objects(conn, pks, now, bump_version=False)
    return len(pks)
