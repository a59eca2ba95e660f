"""Bring a few objects' rows of the DuckDB query tables up to date, without a reload.

A local write (an inspection saved from the explorer) changes one object; reloading every
table from SQLite for it takes seconds on a large catalog. :func:`patch_objects` re-derives
only the rows of the objects named: it copies their rows of the store's ``objects``,
``spectra``, ``object_list_memberships`` and ``comments`` into small ``raw_*`` tables, runs
the same derivation as a full load (:data:`~campfire.catalog.snapshot.DERIVE_META`) over them,
and swaps the results in; the small ``object_lists`` table is copied whole.
:meth:`Catalog.apply_in_place <campfire.catalog.engine.Catalog.apply_in_place>` runs it only
when the loaded tables are exactly one write behind the store, and
:meth:`Catalog.refresh <campfire.catalog.engine.Catalog.refresh>` for the objects a sync
changed (recorded by :mod:`campfire.catalog.changes`), in chunks; either way the result is what
a full reload would give (rows in a different order).

Examples
--------
>>> catalog.apply_in_place(before, after, functools.partial(patch_objects, ids={"J1"}))
... # doctest: +SKIP
True
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection
from typing import TYPE_CHECKING

from campfire.catalog.snapshot import APPLY_FILES, DERIVE_META, read_store_table

if TYPE_CHECKING:
    import duckdb

__all__ = ["FEW", "patch_inspections", "patch_objects"]

_RAW = ("objects", "spectra", "object_list_memberships")

#: up to this many objects, inspections, DQ flags and comments are patched row by row
#: (:func:`patch_inspections`); more, or any tag change, re-derive (:func:`patch_objects`)
FEW = 20


_PARENTS = "JOIN objects o"  # how the spectra derivation finds each spectrum's object
#: the downloaded-file columns of the patched spectra (``APPLY_FILES``' second statement)
_FILES_INTO_PATCHED = APPLY_FILES[1].replace("spectra", "_patched")


def _derived(table: str) -> str:
    """The full-load statement that builds ``table`` from the ``raw_*`` tables."""
    head = f"CREATE OR REPLACE TABLE {table} AS"
    for statement in DERIVE_META:
        if statement.lstrip().startswith(head):
            return statement.lstrip().replace(head, "CREATE OR REPLACE TEMP TABLE _patched AS", 1)
    raise LookupError(f"no derivation of {table} in DERIVE_META")


def patch_objects(
    duck: duckdb.DuckDBPyConnection,
    con: sqlite3.Connection,
    ids: Collection[str],
    lists: bool = True,
) -> None:
    """Re-derive the query rows of objects ``ids`` (and their spectra, tags, comments and
    photometry) from the store ``con``; with ``lists``, copy ``object_lists`` again too.

    Runs inside the caller's read transaction on ``con`` and the caller's lock on ``duck``.
    """
    import pyarrow as pa

    keys = sorted(set(ids))
    marks = ",".join("?" * len(keys))
    where = f"object_id IN ({marks})"  # the store's rows (SQLite, by its object_id indexes)
    mine = "object_id IN (SELECT object_id FROM _ids)"  # the query tables' rows (a semi-join)
    registered: list[str] = []
    try:
        duck.register("_ids", pa.table({"object_id": pa.array(keys, pa.string())}))
        registered.append("_ids")
        for name, table in (
            *((f"raw_{t}", t) for t in _RAW),
            ("_comments", "comments"),
            ("_photometry", "object_photometry"),
            *((("_lists", "object_lists"),) if lists else ()),
        ):
            whole = name == "_lists"
            rows = read_store_table(
                con, table, where="" if whole else where, args=() if whole else keys
            )
            duck.register(name, rows)
            registered.append(name)
        if keys:
            # each big table is scanned once (its DELETE): the spectra are derived from the
            # objects just derived (their parents are among them), and take their local-file
            # columns before they are inserted, not by an UPDATE over every spectrum
            duck.execute(_derived("objects").replace(" _patched ", " _patched_objects ", 1))
            duck.execute(_derived("spectra").replace(_PARENTS, "JOIN _patched_objects o", 1))
            duck.execute(_FILES_INTO_PATCHED)
            for table, rows in (("objects", "_patched_objects"), ("spectra", "_patched")):
                duck.execute(f"DELETE FROM {table} WHERE {mine}")
                duck.execute(f"INSERT INTO {table} SELECT * FROM {rows}")
            for table, rows in (
                ("object_list_memberships", "raw_object_list_memberships"),
                ("comments", "_comments"),
                ("object_photometry", "_photometry"),
            ):
                duck.execute(f"DELETE FROM {table} WHERE {mine}")
                duck.execute(f"INSERT INTO {table} SELECT * FROM {rows}")
        if lists:
            duck.execute("CREATE OR REPLACE TABLE object_lists AS SELECT * FROM _lists")
    finally:
        for name in registered:
            duck.unregister(name)
        duck.execute("DROP TABLE IF EXISTS _patched")
        duck.execute("DROP TABLE IF EXISTS _patched_objects")


def patch_inspections(
    duck: duckdb.DuckDBPyConnection,
    con: sqlite3.Connection,
    ids: Collection[str],
    kinds: Collection[str],
) -> None:
    """The quick form of :func:`patch_objects` for a save of a few objects' inspections, DQ
    flags (``kinds`` ``dq``) or comments (``comment``): ``UPDATE`` the changed columns of their
    ``objects`` and ``spectra`` rows, and replace their comments, with the store's values.

    The values are those a full load derives: ``redshift`` is null for quality 1, else the
    inspected redshift, else the automatic one; each spectrum repeats its object's.
    """
    for oid in sorted(set(ids)):
        row = con.execute(
            "SELECT redshift_inspected, coalesce(redshift_quality, 0), redshift_auto, redshift, "
            "last_inspected_at, last_inspected_by, last_inspected_by_name, version "
            "FROM objects WHERE object_id = ?",
            (oid,),
        ).fetchone()
        if row is None:
            continue
        zi, q, za, z, at, by, name, version = tuple(row)
        best = None if q == 1 else next((v for v in (zi, za, z) if v is not None), None)
        duck.execute(
            "UPDATE objects SET redshift_inspected = ?, redshift_quality = ?, redshift = ?, "
            "last_inspected_at = ?, last_inspected_by = ?, last_inspected_by_name = ?, "
            "version = ? WHERE object_id = ?",
            (zi, q, best, at, by, name, version, oid),
        )
        duck.execute(
            "UPDATE spectra SET redshift = ?, redshift_quality = ?, last_inspected_at = ? "
            "WHERE object_id = ?",
            (best, q, at, oid),
        )
        if "dq" in kinds:
            for sid, dq, sv in con.execute(
                "SELECT spectrum_id, coalesce(dq_flags, 0), version FROM spectra "
                "WHERE object_id = ?",
                (oid,),
            ).fetchall():
                duck.execute(
                    "UPDATE spectra SET dq_flags = ?, version = ? WHERE spectrum_id = ?",
                    (dq, sv, sid),
                )
        if "comment" in kinds:
            duck.register("_comments", read_store_table(con, "comments", where="object_id = ?",
                                                        args=(oid,)))  # fmt: skip
            try:
                duck.execute("DELETE FROM comments WHERE object_id = ?", (oid,))
                duck.execute("INSERT INTO comments SELECT * FROM _comments")
            finally:
                duck.unregister("_comments")
