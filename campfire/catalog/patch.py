"""Bring a few objects' rows of the DuckDB query tables up to date, without a reload.

A local write (an inspection saved from the explorer) changes one object; reloading every
table from SQLite for it takes seconds on a large catalog. :func:`patch_objects` re-derives
only the rows of the objects named: it copies their rows of the store's ``objects``,
``spectra``, ``object_list_memberships`` and ``comments`` into small ``raw_*`` tables, runs
the same derivation as a full load (:data:`~campfire.catalog.snapshot.DERIVE_META`) over them,
and swaps the results in; the small ``object_lists`` table is copied whole.
:meth:`Catalog.apply_in_place <campfire.catalog.engine.Catalog.apply_in_place>` runs it only
when the loaded tables are exactly one write behind the store, so the result is what a full
reload would give (rows in a different order).

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

__all__ = ["patch_objects"]

_RAW = ("objects", "spectra", "object_list_memberships")


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
    """Re-derive the query rows of objects ``ids`` (and their spectra, tags and comments)
    from the store ``con``; with ``lists``, copy ``object_lists`` again too.

    Runs inside the caller's read transaction on ``con`` and the caller's lock on ``duck``.
    """
    keys = sorted(set(ids))
    marks = ",".join("?" * len(keys))
    where = f"object_id IN ({marks})"
    registered: list[str] = []
    try:
        for name, table in (
            *((f"raw_{t}", t) for t in _RAW),
            ("_comments", "comments"),
            *((("_lists", "object_lists"),) if lists else ()),
        ):
            whole = name == "_lists"
            rows = read_store_table(
                con, table, where="" if whole else where, args=() if whole else keys
            )
            duck.register(name, rows)
            registered.append(name)
        if keys:
            for table in ("objects", "spectra"):
                duck.execute(_derived(table))
                duck.execute(f"DELETE FROM {table} WHERE {where}", keys)
                duck.execute(f"INSERT INTO {table} SELECT * FROM _patched")
            duck.execute(APPLY_FILES[1] + f" AND spectra.{where}", keys)
            duck.execute(f"DELETE FROM object_list_memberships WHERE {where}", keys)
            duck.execute(
                "INSERT INTO object_list_memberships SELECT * FROM raw_object_list_memberships"
            )
            duck.execute(f"DELETE FROM comments WHERE {where}", keys)
            duck.execute("INSERT INTO comments SELECT * FROM _comments")
        if lists:
            duck.execute("CREATE OR REPLACE TABLE object_lists AS SELECT * FROM _lists")
    finally:
        for name in registered:
            duck.unregister(name)
        duck.execute("DROP TABLE IF EXISTS _patched")
