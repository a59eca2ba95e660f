"""Synced rows on their way into the catalog: columns, conversion and the upsert statement.

Each feed (``objects``, ``spectra``, ``photometry``, ``lists``) has its table, key column and
synced columns in :data:`TABLES`. :func:`prepare_rows` turns the archive's rows into the SQL
parameter tuples :meth:`~campfire.catalog.store.Store.upsert` binds (thread-safe, no database:
a sync's fetch threads run it), and :func:`upsert_sql` is the ``INSERT ... ON CONFLICT``
statement of ``n`` rows that only touches rows whose values changed.

Examples
--------
>>> TABLES["photometry"][:2]
('object_photometry', 'id')
>>> upsert_sql("lists").startswith("INSERT INTO object_lists")
True
"""

from __future__ import annotations

import functools
import itertools
import json
import math
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson

__all__ = [
    "LIST_COLUMNS",
    "OBJECT_COLUMNS",
    "PHOTOMETRY_COLUMNS",
    "SPECTRUM_COLUMNS",
    "SQL_FUNCTIONS",
    "TABLES",
    "PreparedRows",
    "chunks",
    "execute_rows",
    "move_reused_ids",
    "prepare_rows",
    "slugs",
    "upsert_sql",
]

# synced columns per table (what the server sends and we store); key column first
OBJECT_COLUMNS = (
    "object_id", "id", "field", "ra", "dec", "n_targets", "n_spectra", "programs", "gratings",
    "observations", "member_target_ids", "max_snr", "max_exposure_time", "redshift",
    "redshift_auto", "redshift_inspected", "redshift_quality", "last_inspected_at",
    "last_inspected_by", "last_data_change_at", "staleness_reason", "version", "is_active",
    "has_photometry", "photo_z", "photo_z_err_lo", "photo_z_err_hi", "created_at", "updated_at",
    "last_inspected_by_name",
)  # fmt: skip
SPECTRUM_COLUMNS = (
    "spectrum_id", "id", "target_id", "object_id", "grating", "fits_path", "file_hash",
    "file_size", "signal_to_noise", "exposure_time", "reduction_version", "redshift_auto",
    "dq_flags", "program_slug", "observation", "field", "created_at", "updated_at", "version",
)  # fmt: skip
PHOTOMETRY_COLUMNS = (
    "id", "object_id", "field", "catalog_name", "catalog_id", "match_distance_arcsec",
    "photometry", "photo_z", "photo_z_err_lo", "photo_z_err_hi", "has_pz", "created_at",
    "updated_at",
)  # fmt: skip
LIST_COLUMNS = (
    "slug", "id", "name", "description", "visibility", "is_system", "member_count",
    "created_at", "updated_at",
)  # fmt: skip
TABLES = {  # feed -> (table, key column, columns)
    "objects": ("objects", "object_id", OBJECT_COLUMNS),
    "spectra": ("spectra", "spectrum_id", SPECTRUM_COLUMNS),
    "photometry": ("object_photometry", "id", PHOTOMETRY_COLUMNS),
    "lists": ("object_lists", "slug", LIST_COLUMNS),
}


@functools.lru_cache(maxsize=64)
def upsert_sql(feed: str, nrows: int = 1) -> str:
    """``INSERT ... ON CONFLICT(key) DO UPDATE`` of ``nrows`` rows that only touches rows whose
    values changed.

    ``id`` and ``created_at`` are never overwritten (section 8.2); a spectrum's ``file_size``
    keeps its stored value when the server sends none.
    """
    table, key, columns = TABLES[feed]
    keep = {"file_size": "COALESCE(excluded.file_size, spectra.file_size)"}
    cols = [*columns, "_synced_at"] if table != "object_lists" else list(columns)
    frozen = {key, "id", "created_at"}
    updates = [f"{c} = {keep.get(c, f'excluded.{c}')}" for c in cols if c not in frozen]
    changed = " OR ".join(f"{table}.{c} IS NOT excluded.{c}" for c in columns if c not in frozen)
    row = f"({', '.join('?' * len(cols))})"
    return (
        f"INSERT INTO {table} ({', '.join(cols)}) VALUES {', '.join([row] * nrows)} "
        f"ON CONFLICT({key}) DO UPDATE SET {', '.join(updates)} WHERE {changed}"
    )


def execute_rows(conn: sqlite3.Connection, feed: str, values: list[tuple[Any, ...]]) -> None:
    """Run the feed's upsert over ``values``, many rows per statement.

    Python's sqlite3 gives up and retakes the GIL around every statement it steps; one
    statement per row makes the inserts crawl while a fetch thread parses JSON, so rows
    go in batches of up to 256 (within SQLite's limit on bound parameters).
    """
    if not values:
        return
    ncols = len(values[0])
    limit = conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    per = max(1, min(1024, limit // ncols))
    whole = len(values) - len(values) % per
    flat = itertools.chain.from_iterable
    if whole:
        conn.executemany(
            upsert_sql(feed, per),
            (tuple(flat(values[i : i + per])) for i in range(0, whole, per)),
        )
    if whole < len(values):
        rest = values[whole:]
        conn.execute(upsert_sql(feed, len(rest)), tuple(flat(rest)))


def move_reused_ids(
    conn: sqlite3.Connection,
    table: str,
    key: str,
    columns: tuple[str, ...],
    values: list[tuple[Any, ...]],
) -> None:
    """Give rows whose server ``id`` now belongs to another key a negative local id."""
    ki, ii = columns.index(key), columns.index("id")
    incoming = {v[ii]: v[ki] for v in values if v[ii] is not None}
    for chunk in chunks(list(incoming), 500):
        marks = ",".join("?" * len(chunk))
        for rid, rkey in conn.execute(
            f"SELECT id, {key} FROM {table} WHERE id IN ({marks})", chunk
        ).fetchall():
            if incoming[rid] != rkey:
                conn.execute(
                    f"UPDATE {table} SET id = (SELECT MIN(0, MIN(id)) - 1 FROM {table}) "
                    f"WHERE {key} = ?",
                    (rkey,),
                )


def chunks(items: list[Any], n: int) -> Iterator[list[Any]]:
    """``items`` in lists of at most ``n`` (SQLite limits bound parameters)."""
    for i in range(0, len(items), n):
        yield items[i : i + n]


def slugs(value: Any) -> list[str]:
    """Tag slugs of an object row's ``lists`` (dicts with ``slug``, or names)."""
    if not value:
        return []
    return [v["slug"] if isinstance(v, dict) else str(v) for v in value]


def _joined(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, list | tuple):
        return ";".join(str(v) for v in value)
    return str(value)


def _flag(value: Any, default: int = 0) -> int:
    return default if value is None else int(bool(value))


def _object_row(r: dict[str, Any]) -> tuple[Any, ...]:
    g = r.get
    active, phot = g("is_active"), g("has_photometry")
    return (
        r["object_id"], g("id"), g("field"), g("ra"), g("dec"), g("n_targets") or 0,
        g("n_spectra") or 0, _joined(g("programs")), _joined(g("gratings")),
        _joined(g("observations")), _joined(g("member_target_ids")), g("max_snr"),
        g("max_exposure_time"), g("redshift"), g("redshift_auto"), g("redshift_inspected"),
        g("redshift_quality") or 0, g("last_inspected_at"), g("last_inspected_by"),
        g("last_data_change_at"), g("staleness_reason"), g("version"),
        1 if active is None else int(bool(active)), 0 if phot is None else int(bool(phot)),
        g("photo_z"), g("photo_z_err_lo"), g("photo_z_err_hi"), g("created_at"),
        g("updated_at"), g("last_inspected_by_name"),
    )  # fmt: skip


def _spectrum_row(r: dict[str, Any]) -> tuple[Any, ...]:
    g = r.get
    oid = g("object_id")
    return (
        r["spectrum_id"], g("id"), g("target_id"),
        g("parent_object_id") if oid is None else oid, g("grating"), g("fits_path"),
        g("file_hash"), g("file_size"), g("signal_to_noise"), g("exposure_time"),
        g("reduction_version"), g("redshift_auto"), g("dq_flags") or 0, g("program_slug"),
        g("observation"), g("field"), g("created_at"), g("updated_at"), g("version"),
    )  # fmt: skip


def _photometry_row(r: dict[str, Any]) -> tuple[Any, ...]:
    row = dict(r)
    phot = row.get("photometry")
    if phot is not None and not isinstance(phot, str):
        row["photometry"] = _dumps(phot)
    row["has_pz"] = _flag(row.get("has_pz"))
    return tuple(row.get(c) for c in PHOTOMETRY_COLUMNS)


def _dumps(value: Any) -> str:
    """Compact JSON text by orjson (fast; a NaN becomes ``null``, a missing value), else by the
    standard library for what orjson refuses (non-string keys, huge integers).
    """
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value, separators=(",", ":"))


def _list_row(r: dict[str, Any]) -> tuple[Any, ...]:
    row = dict(r)
    row["is_system"] = _flag(row.get("is_system"))
    row["visibility"] = row.get("visibility") or "private"
    row["member_count"] = row.get("member_count") or 0
    return tuple(row.get(c) for c in LIST_COLUMNS)


_CONVERTERS: dict[str, Callable[[dict[str, Any]], tuple[Any, ...]]] = {
    "objects": _object_row,
    "spectra": _spectrum_row,
    "photometry": _photometry_row,
    "lists": _list_row,
}


@dataclass(frozen=True)
class PreparedRows:
    """Synced rows as SQL parameter tuples, their keys and their newest ``updated_at``."""

    values: list[tuple[Any, ...]]
    keys: list[Any]
    newest: str


def prepare_rows(feed: str, rows: list[dict[str, Any]], stamp: str) -> PreparedRows:
    """Convert a feed's rows to what :meth:`~campfire.catalog.store.Store.upsert` binds
    (thread-safe, no database).

    Examples
    --------
    >>> p = prepare_rows("objects", [{"object_id": "J1", "updated_at": "2026-01-01"}], "now")
    >>> p.keys, p.newest, p.values[0][-1]
    (['J1'], '2026-01-01', 'now')
    """
    convert = _CONVERTERS[feed]
    if feed == "lists":
        return PreparedRows(list(map(convert, rows)), [r["slug"] for r in rows], "")
    key = TABLES[feed][1]
    values = [(*convert(r), stamp) for r in rows]
    newest = max((str(r.get("updated_at") or "") for r in rows), default="")
    return PreparedRows(values, [r[key] for r in rows], newest)


def _num(fn: Callable[..., float]) -> Callable[..., float | None]:
    def wrapped(*args: Any) -> float | None:
        try:
            return None if any(a is None for a in args) else fn(*args)
        except (ValueError, OverflowError):
            return None

    return wrapped


SQL_FUNCTIONS = [
    ("COS", 1, _num(math.cos)),
    ("SQRT", 1, _num(math.sqrt)),
    ("RADIANS", 1, _num(math.radians)),
    ("POWER", 2, _num(math.pow)),
]
