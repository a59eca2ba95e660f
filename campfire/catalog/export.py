"""The catalog's CSV exports: ``meta/objects.csv``, ``spectra.csv`` and ``photometry.csv``.

Written after a sync that changed the catalog (contract section 10), each atomically
(``<name>.tmp``, fsync, rename). Outside a transaction ``spectra.csv`` and ``photometry.csv``
are written by child Python processes (their own cores and GILs), and ``objects.csv`` too
when it is large (helpers then read a large table in C and write it with DuckDB:
:mod:`campfire.catalog.duckcsv`) or when the caller has work of its own to do meanwhile
(``meanwhile``: the query snapshot's build, after a sync); otherwise this process writes
``objects.csv`` meanwhile. A helper that cannot start or fails is replaced by writing here.

Examples
--------
>>> export_catalogs(store)  # doctest: +SKIP
[PosixPath('.../meta/objects.csv'), PosixPath('.../meta/spectra.csv'), ...]
"""

from __future__ import annotations

import csv
import logging
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from campfire.catalog.arrowread import large_tables
from campfire.catalog.csvformat import (
    OBJECT_CSV_COLUMNS,
    PHOTOMETRY_CSV_COLUMNS,
    SPECTRUM_CSV_COLUMNS,
    band_order,
    bands,
)
from campfire.catalog.schema import ACTIVE_OBJECT

if TYPE_CHECKING:
    from campfire.catalog.store import Store

__all__ = [
    "OBJECT_CSV_COLUMNS",
    "PHOTOMETRY_CSV_COLUMNS",
    "SPECTRUM_CSV_COLUMNS",
    "export_catalogs",
]

log = logging.getLogger("campfire.sync.engine")  # the sync's logger, as before the split


def _write_csv(path: Path, header: Iterable[str], rows: Iterable[Iterable[Any]]) -> None:
    """Write a CSV atomically (``<name>.tmp``, fsync, rename); None becomes an empty cell."""
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(list(header))
        writer.writerows(rows)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def export_catalogs(
    store: Store, meta_dir: Path | None = None, meanwhile: Callable[[], None] | None = None
) -> list[Path]:
    """Write ``objects.csv``, ``spectra.csv`` and ``photometry.csv`` (section 10), atomically.

    List columns are ``;``-joined, ``has_photometry`` is ``True``/``False`` and a spectrum
    never downloaded gets its expected ``local_path``, ``<observation>/<file name>``.
    ``meanwhile`` is called while child processes write the files (after them, inside a
    transaction); the files are complete when this returns, whatever ``meanwhile`` did.

    Examples
    --------
    >>> from astropy.table import Table
    >>> objects = Table.read(store.path.parent / "objects.csv")  # doctest: +SKIP
    """
    meta = Path(meta_dir or store.path.parent)
    if store.conn.in_transaction:  # uncommitted rows are visible on this connection only
        for name in _EXPORTERS:
            _EXPORTERS[name](store.conn, meta / f"{name}.csv")
        if meanwhile is not None:
            meanwhile()
    else:  # in child processes (own cores and GILs)
        fast = _by_duckdb(store.conn)
        # objects.csv too if this process has other work or DuckDB writes it faster there
        three = meanwhile is not None or "objects" in fast
        names = ("photometry", "spectra", "objects") if three else ("photometry", "spectra")
        helpers = {n: _start_export(n, store.path, meta, n in fast) for n in names}
        try:
            if meanwhile is not None:
                meanwhile()
            if not three:
                _export_objects(store.conn, meta / "objects.csv")
        finally:
            for name, helper in helpers.items():
                _finish_export(name, helper, store.path, meta)
    return [meta / "objects.csv", meta / "spectra.csv", meta / "photometry.csv"]


def _export_objects(conn: sqlite3.Connection, path: Path) -> None:
    cur = conn.cursor()
    cur.row_factory = None  # plain tuples straight into the csv writer
    cols = ", ".join(
        "CASE WHEN has_photometry THEN 'True' ELSE 'False' END" if c == "has_photometry" else c
        for c in OBJECT_CSV_COLUMNS
    )
    rows = cur.execute(f"SELECT {cols} FROM objects WHERE {ACTIVE_OBJECT} ORDER BY object_id")
    _write_csv(path, OBJECT_CSV_COLUMNS, rows)


def _export_spectra(conn: sqlite3.Connection, path: Path) -> None:
    cur = conn.cursor()
    cur.row_factory = None
    scols = ", ".join(SPECTRUM_CSV_COLUMNS)
    obs, fits = SPECTRUM_CSV_COLUMNS.index("observation"), SPECTRUM_CSV_COLUMNS.index("fits_path")
    rows = (
        r if r[-1] or not r[fits] else (*r[:-1], _expected_path(r[obs], r[fits]))
        for r in cur.execute(f"SELECT {scols} FROM spectra ORDER BY spectrum_id")
    )
    _write_csv(path, SPECTRUM_CSV_COLUMNS, rows)


def _expected_path(observation: str | None, fits_path: str) -> str:
    """Where a spectrum not downloaded yet will go: ``<observation>/<file name>``."""
    name = fits_path.rsplit("/", 1)[-1]
    return f"{observation}/{name}" if observation else name


_EXPORT_HELPER = (
    "import sys; from pathlib import Path; from campfire.catalog.export import _export_from; "
    "_export_from(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4] == 'duckdb')"
)
_TABLES = {"objects": "objects", "spectra": "spectra", "photometry": "object_photometry"}


def _by_duckdb(conn: sqlite3.Connection) -> set[str]:
    """The files a helper writes faster with DuckDB: those of large tables (a small catalog's
    helpers start in a tenth of the time with ``csv``).
    """
    large = large_tables(conn)
    return {name for name, table in _TABLES.items() if table in large}


def _start_export(
    name: str, db: Path, meta: Path, by_duckdb: bool = False
) -> subprocess.Popen[bytes] | None:
    """Start writing ``<name>.csv`` in a child Python (None if it cannot be started)."""
    how = "duckdb" if by_duckdb else "csv"
    args = [_EXPORT_HELPER, name, str(db.resolve()), str(meta.resolve()), how]
    try:
        return subprocess.Popen(
            [sys.executable, "-c", *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            cwd=meta,  # imports resolve as here (our sys.path), never from the working folder
            env={**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)},
        )
    except OSError as exc:
        log.info("export: no helper process (%s); writing %s.csv here", exc, name)
        return None


def _finish_export(name: str, helper: subprocess.Popen[bytes] | None, db: Path, meta: Path) -> None:
    """Wait for the helper; if it failed (or never started), write the file in this process."""
    if helper is not None:
        _, err = helper.communicate()
        if helper.returncode == 0:
            return
        tail = err.decode(errors="replace").strip().splitlines()[-1:] or ["no message"]
        log.info("export: helper failed (%s); writing %s.csv here", tail[0], name)
    _export_from(name, db, meta)


def _export_from(name: str, db: Path, meta: Path, by_duckdb: bool = False) -> None:
    """Write ``<meta>/<name>.csv`` from the committed catalog at ``db`` (read-only).

    ``by_duckdb`` (a helper process only, never the process that holds the store open: see
    :mod:`campfire.catalog.arrowread`) writes it with DuckDB (:mod:`campfire.catalog.duckcsv`).
    """
    if by_duckdb:
        from campfire.catalog.duckcsv import write_csv

        write_csv(name, db, meta / f"{name}.csv")
        return
    conn = sqlite3.connect(db.resolve().as_uri() + "?mode=ro", uri=True)
    try:
        _EXPORTERS[name](conn, meta / f"{name}.csv")
    finally:
        conn.close()


def _export_photometry(conn: sqlite3.Connection, path: Path) -> None:
    """Wide photometry: fixed columns, then ``f_<band>, e_<band>`` ordered by (wav, name).

    Two passes over the records: the first finds every band and its first-seen ``wav``, the
    second writes the rows as it reads them, so no more than one record is held at a time.
    orjson parses the stored JSON (faster than SQLite's ``json_extract`` per band and cell).
    """
    cur = conn.cursor()
    cur.row_factory = None
    order_by = "ORDER BY object_id, catalog_name"  # the file's order: the first-seen wav
    order = band_order(
        r[0] for r in cur.execute(f"SELECT photometry FROM object_photometry {order_by}")
    )
    header = [*PHOTOMETRY_CSV_COLUMNS]
    for b in order:
        header += [f"f_{b}", f"e_{b}"]
    n, empty = len(PHOTOMETRY_CSV_COLUMNS), dict[str, Any]()
    fixed = ", ".join(PHOTOMETRY_CSV_COLUMNS)

    def rows() -> Iterator[tuple[Any, ...]]:
        query = (
            f"SELECT {fixed}, photometry FROM object_photometry ORDER BY object_id, catalog_name"
        )
        for row in cur.execute(query):
            cells_of = bands(row[n])
            cells = [c if isinstance(c := cells_of.get(b), dict) else empty for b in order]
            yield row[:n] + tuple(v for c in cells for v in (c.get("flux"), c.get("flux_err")))

    _write_csv(path, header, rows())


_EXPORTERS: dict[str, Callable[[sqlite3.Connection, Path], None]] = {
    "photometry": _export_photometry,
    "objects": _export_objects,
    "spectra": _export_spectra,
}
