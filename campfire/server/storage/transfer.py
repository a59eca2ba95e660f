"""Copy an archive's catalog from one database to another (SQLite to PostgreSQL).

:func:`copy_database` moves every row of every table into a freshly migrated target, with
PostgreSQL's ``COPY`` when the target is PostgreSQL, then moves each identity sequence past the
largest id copied. It is how an embedded archive moves to PostgreSQL (docs/server.md) and how
the test session fills its PostgreSQL template from the tiny demo archive without building it
twice.

Examples
--------
>>> copy_database(Database("archive/archive.db"), Database("postgresql://..."))  # doctest: +SKIP
{'objects': 1234, ...}
"""

from __future__ import annotations

from typing import Any

from campfire.server.storage.database import Database

__all__ = ["copy_database"]


def _tables(db: Database) -> list[str]:
    conn = db.conn()
    if db.path is not None:
        rows = conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY name"
        )
    else:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' "
            "AND table_type = 'BASE TABLE' ORDER BY table_name"
        )
    return [str(r[0]) for r in rows]


def _columns(db: Database, table: str) -> list[str]:
    cur = db.conn().execute(f"SELECT * FROM {table} LIMIT 0")
    return [str(d[0]) for d in cur.description]


def copy_database(src: Database, dst: Database) -> dict[str, int]:
    """Replace every row of ``dst`` with ``src``'s; return the rows copied per table.

    Both must be migrated to the same migrations (``Database`` migrates when it opens), so
    they have the same tables; ``dst``'s own rows (its seed) are deleted first. Runs in one
    transaction on ``dst``.

    Raises
    ------
    ValueError
        When the two databases were not migrated alike.
    """
    done_src = {r[0] for r in src.conn().execute("SELECT name FROM _migrations")}
    done_dst = {r[0] for r in dst.conn().execute("SELECT name FROM _migrations")}
    if done_src != done_dst:
        raise ValueError(f"migrations differ: {sorted(done_src ^ done_dst)}")
    counts: dict[str, int] = {}
    dst_tables = set(_tables(dst))
    with dst.transaction() as out:
        for table in _tables(src):
            if table == "_migrations" or table not in dst_tables:
                continue
            cols = [c for c in _columns(dst, table) if c in _columns(src, table) or c == "rowid"]
            select = ", ".join(cols)
            rows = src.conn().execute(f"SELECT {select} FROM {table}").fetchall()
            out.execute(f"DELETE FROM {table}")
            counts[table] = len(rows)
            _insert(dst, out, table, cols, rows)
        if dst.path is None:
            _advance_sequences(out, dst_tables)
    return counts


def _insert(dst: Database, out: Any, table: str, cols: list[str], rows: list[Any]) -> None:
    if not rows:
        return
    if dst.path is None:  # PostgreSQL: COPY, an order of magnitude faster than INSERTs
        cur = out.raw.cursor()
        with cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(tuple(row))
        return
    marks = ",".join("?" * len(cols))
    out.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks})", rows)


def _advance_sequences(out: Any, tables: set[str]) -> None:
    identities = out.execute(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = 'public' AND is_identity = 'YES'"
    ).fetchall()
    for table, col in identities:
        if table not in tables:
            continue
        out.execute(
            f"SELECT setval(pg_get_serial_sequence(?, ?), "
            f"coalesce((SELECT max({col}) FROM {table}), 0) + 1, false)",
            (table, col),
        )
