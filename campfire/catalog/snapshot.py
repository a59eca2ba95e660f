"""The catalog's DuckDB tables: their schema, how they are derived from the store, and the
snapshot files that let a new process open them without re-reading SQLite.

:class:`campfire.catalog.engine.Catalog` decides *when* to build, open or patch; this module
says *what* is built and *how*: :data:`STORE_TYPES` types the store's untyped SQLite columns for
Arrow, :func:`read_store_table` copies one table (or some objects' rows), :data:`DERIVE_META`
builds the query tables (``objects``, ``spectra`` …) from those raw copies, and
:data:`APPLY_FILES` updates the downloaded-file columns in place.

A snapshot is a DuckDB database file, ``meta/snapshot/catalog-c<catalog_version>-f<files_version>
.duckdb`` (:func:`snapshot_path`), holding the query tables at those store counters. A new
process attaches it read-only: opening reads nothing until a query does, so the process is
ready in a fraction of a second, and several processes share the file. A process that must
change its tables (a sync's changed rows, a saved inspection) first copies the snapshot to a
file of its own (:func:`private_path`) and patches that.

Examples
--------
>>> from campfire.catalog.snapshot import SQL_TABLES, STORE_TYPES
>>> SQL_TABLES[:2], STORE_TYPES["object_list_memberships"]
(('objects', 'spectra'), {'object_id': 'string', 'list_slug': 'string'})
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import sqlite3
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from campfire.catalog.schema import ACTIVE_OBJECT

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "APPLY_FILES",
    "AS_STORED",
    "DERIVE_META",
    "META_TABLES",
    "SQL_TABLES",
    "STORE_TYPES",
    "private_path",
    "published",
    "read_store_table",
    "remove_stale",
    "snapshot_path",
    "spill_path",
    "stream_store_table",
]

log = logging.getLogger("campfire.catalog.engine")  # the catalog's logger, as before the split

# store table -> the columns we copy and the Arrow type each must have (SQLite is untyped)
_T, _R, _I = "string", "float64", "int64"
STORE_TYPES: dict[str, dict[str, str]] = {
    "objects": {
        "id": _I, "object_id": _T, "field": _T, "ra": _R, "dec": _R, "n_targets": _I,
        "n_spectra": _I, "programs": _T, "gratings": _T, "observations": _T,
        "member_target_ids": _T, "max_snr": _R, "max_exposure_time": _R, "redshift": _R,
        "redshift_auto": _R, "redshift_inspected": _R, "redshift_quality": _I,
        "last_inspected_at": _T, "last_inspected_by": _T, "last_data_change_at": _T,
        "staleness_reason": _T, "version": _I, "is_active": _I, "has_photometry": _I,
        "photo_z": _R, "photo_z_err_lo": _R, "photo_z_err_hi": _R, "created_at": _T,
        "updated_at": _T, "last_inspected_by_name": _T,
    },
    "spectra": {
        "id": _I, "spectrum_id": _T, "target_id": _T, "object_id": _T, "grating": _T,
        "fits_path": _T, "file_hash": _T, "file_size": _I, "signal_to_noise": _R,
        "exposure_time": _R, "reduction_version": _T, "redshift_auto": _R, "dq_flags": _I,
        "program_slug": _T, "observation": _T, "field": _T, "created_at": _T, "updated_at": _T,
        "version": _I,
    },
    "object_photometry": {
        "id": _I, "object_id": _T, "field": _T, "catalog_name": _T, "catalog_id": _T,
        "match_distance_arcsec": _R, "photometry": _T, "photo_z": _R, "photo_z_err_lo": _R,
        "photo_z_err_hi": _R, "has_pz": _I, "created_at": _T, "updated_at": _T,
    },
    "object_lists": {
        "id": _I, "slug": _T, "name": _T, "description": _T, "visibility": _T, "is_system": _I,
        "member_count": _I, "created_at": _T, "updated_at": _T,
    },
    "object_list_memberships": {"object_id": _T, "list_slug": _T},
    "comments": {
        "id": _I, "object_id": _T, "user_id": _T, "user_name": _T, "body": _T,
        "created_at": _T, "updated_at": _T,
    },
    "local_files": {
        "spectrum_id": _T, "local_path": _T, "local_file_hash": _T, "local_file_mtime": _R,
        "local_file_size": _I, "synced_at": _T, "file_hash": _T, "file_size": _I,
    },
}  # fmt: skip
META_TABLES = (
    "objects", "spectra", "object_photometry", "object_lists", "object_list_memberships",
    "comments",
)  # fmt: skip

#: store tables copied straight into the query table of the same name (no ``raw_*`` copy: the
#: photometry's JSON is the largest table by bytes, and copying it twice cost 1.6 s at 109k)
AS_STORED = ("object_photometry", "object_lists", "comments")
_LIST = "CASE WHEN coalesce({c}, '') = '' THEN []::VARCHAR[] ELSE string_split({c}, ';') END"
DERIVE_META = [  # from the raw_* copies of the store's tables (rows sorted by dec: cone
    # searches then skip most of each column through DuckDB's zone maps)
    f"""CREATE OR REPLACE TABLE objects AS
    WITH t AS (SELECT object_id, list_sort(list(DISTINCT list_slug)) AS tags
               FROM raw_object_list_memberships GROUP BY object_id),
         s AS (SELECT object_id, list_sort(list(DISTINCT observation)) AS obs
               FROM raw_spectra WHERE observation IS NOT NULL GROUP BY object_id)
    SELECT o.id, o.object_id, o.field, o.ra, o.dec, coalesce(o.n_targets, 0) AS n_targets,
        coalesce(o.n_spectra, 0) AS n_spectra, {_LIST.format(c="o.programs")} AS programs,
        {_LIST.format(c="o.gratings")} AS gratings,
        CASE WHEN coalesce(o.observations, '') = '' THEN coalesce(s.obs, []::VARCHAR[])
             ELSE string_split(o.observations, ';') END AS observations,
        {_LIST.format(c="o.member_target_ids")} AS member_target_ids,
        coalesce(t.tags, []::VARCHAR[]) AS tags, o.max_snr, o.max_exposure_time,
        CASE WHEN o.redshift_quality = 1 THEN NULL
             ELSE coalesce(o.redshift_inspected, o.redshift_auto, o.redshift) END AS redshift,
        o.redshift_auto, o.redshift_inspected, coalesce(o.redshift_quality, 0) AS redshift_quality,
        o.last_inspected_at, o.last_inspected_by, o.last_inspected_by_name,
        o.last_data_change_at, o.staleness_reason,
        o.version, {ACTIVE_OBJECT.replace("is_active", "o.is_active")} AS is_active,
        coalesce(o.has_photometry, 0) <> 0 AS has_photometry, o.photo_z, o.photo_z_err_lo,
        o.photo_z_err_hi, o.created_at, o.updated_at,
        lower(o.object_id || chr(10) || replace(coalesce(o.member_target_ids, ''), ';', chr(10)))
            AS search_text
    FROM raw_objects o LEFT JOIN t USING (object_id) LEFT JOIN s USING (object_id)
    ORDER BY o.dec""",
    """CREATE OR REPLACE TABLE spectra AS
    SELECT s.id, s.spectrum_id, s.target_id, s.object_id, s.grating, s.fits_path, s.file_hash,
        s.file_size, s.signal_to_noise, s.exposure_time, s.reduction_version, s.redshift_auto,
        coalesce(s.dq_flags, 0) AS dq_flags, s.program_slug, s.observation, s.field,
        NULL::VARCHAR AS local_path, NULL::VARCHAR AS local_file_hash,
        NULL::DOUBLE AS local_file_mtime, NULL::BIGINT AS local_file_size,
        NULL::VARCHAR AS synced_at, s.created_at, s.updated_at, s.version, o.ra, o.dec,
        o.redshift,
        coalesce(o.redshift_quality, 0) AS redshift_quality,
        coalesce(o.has_photometry, false) AS has_photometry,
        coalesce(o.tags, []::VARCHAR[]) AS tags, o.last_inspected_at, o.last_data_change_at,
        coalesce(o.is_active, true) AS parent_active,
        lower(s.spectrum_id || chr(10) || coalesce(s.target_id, '')) AS search_text
    FROM raw_spectra s LEFT JOIN objects o ON o.object_id = s.object_id
    ORDER BY o.dec""",
    "CREATE OR REPLACE TABLE object_list_memberships AS SELECT * FROM raw_object_list_memberships",
    *(f"DROP TABLE IF EXISTS raw_{t}" for t in STORE_TYPES if t not in (*AS_STORED, "local_files")),
]
_SERVER_COLS = ("file_hash", "file_size")
_LOCAL_COLS = ("local_path", "local_file_hash", "local_file_mtime", "local_file_size", "synced_at")
APPLY_FILES = [  # downloaded-file columns, updated in place (only rows that change)
    f"UPDATE spectra SET {', '.join(f'{c} = NULL' for c in _LOCAL_COLS)} "
    "WHERE local_path IS NOT NULL",
    # (a download may also fill the spectrum's file_hash and file_size: see Store.record_download)
    f"UPDATE spectra SET {', '.join(f'{c} = f.{c}' for c in (*_LOCAL_COLS, *_SERVER_COLS))} "
    "FROM local_files f WHERE spectra.spectrum_id = f.spectrum_id",
]
SQL_TABLES = META_TABLES


#: rows per batch read from the store: at 10,000 a build of the large demo catalog peaks 160 MB
#: lower than at 50,000 (the rows sit in Python as tuples until converted), no slower
CHUNK = 10_000


def read_store_table(
    con: sqlite3.Connection,
    table: str,
    chunk: int = CHUNK,
    where: str = "",
    args: Sequence[Any] = (),
) -> pa.Table:
    """One store table as Arrow, typed by :data:`STORE_TYPES`, read in chunks of plain tuples.

    ``local_files`` is the downloaded rows of ``spectra`` (those with a ``local_path``);
    ``where`` (an SQL condition with ``?`` for ``args``) reads only some rows.

    Examples
    --------
    >>> read_store_table(catalog.sqlite, "object_lists").num_rows  # doctest: +SKIP
    2
    """
    import pyarrow as pa

    reader = stream_store_table(con, table, chunk, where, args)
    return pa.Table.from_batches(list(reader), schema=reader.schema)


def stream_store_table(
    con: sqlite3.Connection,
    table: str,
    chunk: int = CHUNK,
    where: str = "",
    args: Sequence[Any] = (),
) -> pa.RecordBatchReader:
    """:func:`read_store_table` as a stream of ``chunk``-row batches, read as they are
    consumed: a build holds one batch of a large table in Python at a time, not all of it.

    Examples
    --------
    >>> duck.register("_incoming", stream_store_table(con, "spectra"))  # doctest: +SKIP
    """
    import pyarrow as pa

    types = STORE_TYPES[table]
    source, only = ("spectra", "local_path IS NOT NULL") if table == "local_files" else (table, "")
    conditions = [c for c in (only, where) if c]
    clause = f"WHERE {' AND '.join(f'({c})' for c in conditions)}" if conditions else ""
    present = {r[1] for r in con.execute(f"PRAGMA table_info({source})")}
    cols = [c for c in types if c in present]
    schema = pa.schema([(name, getattr(pa, typ)()) for name, typ in types.items()])

    def batches() -> Iterator[pa.RecordBatch]:
        if not cols:
            return
        cursor = con.cursor()
        cursor.row_factory = None  # tuples: much cheaper than sqlite3.Row
        sel = ", ".join(f'"{c}"' for c in cols)
        cursor.execute(f"SELECT {sel} FROM {source} {clause}", tuple(args))
        while rows := cursor.fetchmany(chunk):
            by_col = dict(zip(cols, zip(*rows, strict=True), strict=True))
            arrays = [pa.array(by_col.get(f.name, [None] * len(rows)), type=f.type) for f in schema]
            yield pa.RecordBatch.from_arrays(arrays, schema=schema)

    return pa.RecordBatchReader.from_batches(schema, batches())


def snapshot_path(folder: Path, catalog_version: str, files_version: str) -> Path:
    """The published snapshot of the store at these counters:
    ``<folder>/catalog-c<catalog_version>-f<files_version>.duckdb``.

    Examples
    --------
    >>> snapshot_path(Path("meta/snapshot"), "12", "3").name
    'catalog-c12-f3.duckdb'
    """
    return folder / f"catalog-c{catalog_version}-f{files_version}.duckdb"


def published(folder: Path) -> list[tuple[int, int, Path]]:
    """The published snapshot files in ``folder`` as ``(catalog_version, files_version,
    path)``, newest first (none when the folder is missing).

    Examples
    --------
    >>> published(Path("/nowhere"))
    []
    """
    out = []
    for path in folder.glob("catalog-c*-f*.duckdb"):
        match = _NAME.fullmatch(path.name)
        if match:
            out.append((int(match.group(1)), int(match.group(2)), path))
    return sorted(out, reverse=True)


_NAME = re.compile(r"catalog-c(\d+)-f(\d+)\.duckdb")


def private_path(folder: Path) -> Path:
    """A new name for a process's own writable copy of a snapshot (``.work-<pid>-<hex>``).

    Examples
    --------
    >>> private_path(Path("meta/snapshot")).name.startswith(".work-")
    True
    """
    return folder / f".work-{os.getpid()}-{uuid.uuid4().hex[:12]}.duckdb"


def spill_path(folder: Path) -> Path:
    """A new name for the folder a process's capped build spills to (``.tmp-<pid>-<hex>``).

    Examples
    --------
    >>> spill_path(Path("meta/snapshot")).name.startswith(".tmp-")
    True
    """
    return folder / f".tmp-{os.getpid()}-{uuid.uuid4().hex[:12]}"


def remove_stale(folder: Path, keep: Path) -> None:
    """Delete published snapshots other than ``keep``, and private copies of processes that
    are gone. A process that has one of them open keeps reading it (POSIX unlink).
    """
    for _, _, path in published(folder):
        if path != keep:
            _unlink(path)
    for path in folder.glob(".work-*.duckdb"):
        pid = path.name.split("-")[1]
        if pid.isdigit() and not _alive(int(pid)):
            _unlink(path)
    for path in folder.glob(".tmp-*"):  # spill folders of builds that did not finish
        pid = path.name.split("-")[1]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _unlink(path: Path) -> None:
    for p in (path, path.with_name(path.name + ".wal")):
        try:
            p.unlink(missing_ok=True)
        except OSError as exc:
            log.info("could not remove %s (%s)", p, exc)
