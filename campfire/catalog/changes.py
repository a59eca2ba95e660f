"""Which objects each catalog version changed, so the query tables can be patched, not rebuilt.

An incremental sync changes a few rows of a large catalog. While it writes, :func:`track` keeps
temporary triggers on the store's connection (nothing is added to the file's schema, and other
writers are not slowed) that note the ``object_id`` of every object, spectrum, photometry row,
list membership and comment inserted, updated or deleted. When the sync bumps
``catalog_version`` to N, :func:`record` stores those ids in ``_catalog_changes`` under N, with
one ``NULL`` row marking version N as recorded. :func:`changed_between` then answers "which
objects changed from version A to B", or None when any version in between was not recorded (a
full sync, another writer, too many changes): the caller reloads everything then.

Examples
--------
>>> import sqlite3
>>> con = sqlite3.connect(":memory:")
>>> _ = con.execute("CREATE TABLE _catalog_changes (version INTEGER NOT NULL, object_id TEXT)")
>>> _ = con.execute("CREATE TABLE objects (object_id TEXT)")
>>> with track(con, ("objects",)):
...     _ = con.execute("INSERT INTO objects VALUES ('J1')")
...     record(con, 8)
True
>>> sorted(changed_between(con, 7, 8)), changed_between(con, 6, 8)
(['J1'], None)
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Collection, Iterator, Sequence

__all__ = [
    "KEEP_VERSIONS",
    "MAX_OBJECTS",
    "TRACKED",
    "changed_between",
    "record",
    "record_objects",
    "track",
]

#: the store tables whose rows name an object (``object_id``) and change with a sync
TRACKED = ("objects", "spectra", "object_photometry", "object_list_memberships", "comments")
#: more changed objects than this in one version are not recorded (a full reload is cheaper)
MAX_OBJECTS = 100_000
#: versions kept in ``_catalog_changes`` (older ones are pruned when a new one is recorded)
KEEP_VERSIONS = 50


@contextlib.contextmanager
def track(con: sqlite3.Connection, tables: Sequence[str] = TRACKED) -> Iterator[None]:
    """Note the ``object_id`` of each row of ``tables`` written on ``con`` inside the block.

    Temporary triggers fill the temporary table ``_changed``; :func:`record` reads it. Both
    are dropped when the block ends.
    """
    con.execute("CREATE TEMP TABLE IF NOT EXISTS _changed (object_id TEXT)")
    con.execute("DELETE FROM temp._changed")
    made = []
    for table in tables:
        for event, rows in (("INSERT", ("NEW",)), ("UPDATE", ("OLD", "NEW")), ("DELETE", ("OLD",))):
            name = f"_track_{table}_{event.lower()}"
            inserts = " ".join(f"INSERT INTO _changed VALUES ({r}.object_id);" for r in rows)
            con.execute(
                f"CREATE TEMP TRIGGER IF NOT EXISTS {name} AFTER {event} ON main.{table} "
                f"BEGIN {inserts} END"
            )
            made.append(name)
    try:
        yield
    finally:
        for name in made:
            con.execute(f"DROP TRIGGER IF EXISTS temp.{name}")


def record(con: sqlite3.Connection, version: int) -> bool:
    """Store the objects noted by :func:`track` as those ``version`` changed; False (nothing
    stored, so ``version`` reads as unrecorded) when there are too many or one has no id.
    """
    count, unnamed = con.execute(
        "SELECT count(DISTINCT object_id), count(*) - count(object_id) FROM temp._changed"
    ).fetchone()
    con.execute("DELETE FROM _catalog_changes WHERE version <= ?", (version - KEEP_VERSIONS,))
    if unnamed or count > MAX_OBJECTS:
        return False
    con.execute(
        "INSERT INTO _catalog_changes (version, object_id) "
        "SELECT DISTINCT ?, object_id FROM temp._changed",
        (version,),
    )
    con.execute("INSERT INTO _catalog_changes (version, object_id) VALUES (?, NULL)", (version,))
    return True


def record_objects(con: sqlite3.Connection, version: int, object_ids: Collection[str]) -> None:
    """Store ``object_ids`` as the objects ``version`` changed, for a writer that knows them
    (a saved inspection's ``touched`` objects), so other processes patch instead of rebuild.

    Examples
    --------
    >>> record_objects(store.conn, store.bump("catalog_version"), {"J1"})  # doctest: +SKIP
    """
    con.executemany(
        "INSERT INTO _catalog_changes (version, object_id) VALUES (?, ?)",
        [(version, str(o)) for o in sorted(set(object_ids))] + [(version, None)],
    )


def changed_between(con: sqlite3.Connection, before: int, after: int) -> set[str] | None:
    """The objects changed by versions ``before + 1`` to ``after``, or None if any of those
    versions was not recorded (or the store has no ``_catalog_changes``).
    """
    if after < before:
        return None
    if after == before:
        return set()
    try:
        marks = con.execute(
            "SELECT count(*) FROM _catalog_changes WHERE version > ? AND version <= ? "
            "AND object_id IS NULL",
            (before, after),
        ).fetchone()[0]
        if marks != after - before:
            return None
        rows = con.execute(
            "SELECT DISTINCT object_id FROM _catalog_changes WHERE version > ? AND version <= ? "
            "AND object_id IS NOT NULL",
            (before, after),
        ).fetchall()
    except sqlite3.OperationalError:  # a store from before migration 6
        return None
    return {str(r[0]) for r in rows}
