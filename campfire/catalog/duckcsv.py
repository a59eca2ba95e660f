"""The catalog's CSV files written by DuckDB from a read of the store by ADBC (in C), byte for
byte what :mod:`campfire.catalog.export` writes with Python's :mod:`csv` module.

Only in a helper process (ADBC must not open a file this process has open with
:mod:`sqlite3`: see :mod:`campfire.catalog.arrowread`). What makes the bytes the same: DuckDB
prints a double as Python's ``repr`` does (shortest round trip, ``1e-05``, ``1e+16``,
``20.0``); an empty string is written as an empty cell (``NULLIF``: DuckDB would quote it);
a ``#`` is not quoted (``COMMENT ''``); lines end in CRLF. A photometry cell holding what
Python would print as a list or an object is not reproduced: the SQL raises, the helper fails,
and the calling process writes that file with :mod:`csv` instead.

Examples
--------
>>> write_csv("spectra", Path("meta/campfire.db"), Path("meta/spectra.csv"))  # doctest: +SKIP
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from campfire.catalog.arrowread import read_table
from campfire.catalog.csvformat import (
    OBJECT_CSV_COLUMNS,
    PHOTOMETRY_CSV_COLUMNS,
    SPECTRUM_CSV_COLUMNS,
    band_order,
)
from campfire.catalog.schema import ACTIVE_OBJECT
from campfire.catalog.snapshot import STORE_TYPES

if TYPE_CHECKING:
    import duckdb

__all__ = ["write_csv"]

#: for objects.csv and spectra.csv: the store table, which rows, their order, the columns
_PLAIN = {
    "objects": ("objects", ACTIVE_OBJECT, "object_id", OBJECT_CSV_COLUMNS),
    "spectra": ("spectra", "", "spectrum_id", SPECTRUM_CSV_COLUMNS),
}
#: cells that are not the column as stored
_CELLS = {
    "has_photometry": "CASE WHEN coalesce(has_photometry, 0) <> 0 THEN 'True' ELSE 'False' END",
    # not downloaded yet: where it will go, <observation>/<file name> (export._expected_path)
    "local_path": (
        "NULLIF(CASE WHEN coalesce(local_path, '') <> '' OR coalesce(fits_path, '') = '' "
        "THEN local_path WHEN coalesce(observation, '') <> '' "
        "THEN observation || '/' || string_split(fits_path, '/')[-1] "
        "ELSE string_split(fits_path, '/')[-1] END, '')"
    ),
}
#: a photometry value (JSON, ``{x}``; ``{t}`` its text) as the text Python's csv module writes
#: for what orjson reads from it: numbers with a point or an exponent are parsed and printed
#: as ``repr`` prints them, integers keep their digits
_JSON_CELL = (
    "CASE WHEN {x} IS NULL OR {t} = 'null' THEN NULL "
    "WHEN {t} = 'true' THEN 'True' WHEN {t} = 'false' THEN 'False' "
    "WHEN starts_with({t}, '\"') THEN NULLIF({x} ->> '$', '') "
    "WHEN starts_with({t}, '[') OR starts_with({t}, '{{') "
    "THEN error('photometry: a list or an object in a cell') "
    "WHEN regexp_matches({t}, '[.eE]') THEN CAST(CAST({t} AS DOUBLE) AS VARCHAR) "
    "WHEN {t} = '-0' THEN '0' ELSE {t} END"
)


def _name(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


def _text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _plain(column: str, kind: str) -> str:
    cell = _CELLS.get(column) or (
        f"NULLIF({_name(column)}, '')" if kind == "string" else _name(column)
    )
    return f"{cell} AS {_name(column)}"


def write_csv(name: str, db: Path, path: Path) -> None:
    """Write ``objects.csv``, ``spectra.csv`` or ``photometry.csv`` (``name``) from the store
    ``db`` to ``path``, atomically (``.tmp``, fsync, rename).
    """
    import duckdb

    duck = duckdb.connect(
        config={"autoinstall_known_extensions": False, "autoload_known_extensions": False}
    )
    tmp = path.with_suffix(".tmp")
    try:
        select = _photometry(duck, db) if name == "photometry" else _objects_or_spectra(
            duck, db, name)  # fmt: skip
        duck.execute(
            f"COPY ({select}) TO {_text(str(tmp))} "
            "(FORMAT csv, HEADER, NEW_LINE '\\r\\n', COMMENT '')"
        )
    finally:
        duck.close()
    with open(tmp, "rb+") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _objects_or_spectra(duck: duckdb.DuckDBPyConnection, db: Path, name: str) -> str:
    table, where, order, columns = _PLAIN[name]
    types = {**STORE_TYPES[table], "local_path": "string"}
    rows, _ = read_table(db, table, {c: types[c] for c in columns}, where)
    duck.register("_rows", rows)
    cells = ", ".join(_plain(c, types[c]) for c in columns)
    return f"SELECT {cells} FROM _rows ORDER BY {_name(order)}"


def _photometry(duck: duckdb.DuckDBPyConnection, db: Path) -> str:
    """The wide table: fixed columns, then ``f_<band>, e_<band>`` in order of each band's
    first-seen ``wav`` (records by object and catalog, bands in their JSON order), then name.
    """
    types = STORE_TYPES["object_photometry"]
    read = {c: types[c] for c in (*PHOTOMETRY_CSV_COLUMNS, "photometry")}
    rows, _ = read_table(db, "object_photometry", read)
    duck.register("_read", rows)
    duck.execute(  # the file's order, SQLite's: NULLs first
        "CREATE TEMP TABLE _rows AS SELECT *, row_number() OVER "
        "(ORDER BY object_id NULLS FIRST, catalog_name NULLS FIRST) AS _rn FROM _read"
    )
    duck.unregister("_read")
    # each band's first-seen record is the first record of its set of band names: Python
    # reads those few records as the csv export does
    firsts = duck.execute(
        "SELECT arg_min(photometry, _rn) FROM _rows "
        "GROUP BY json_keys(photometry, '$.bands') ORDER BY min(_rn)"
    ).fetchall()
    order = band_order(text for (text,) in firsts)
    cells = [_plain(c, types[c]) for c in PHOTOMETRY_CSV_COLUMNS]
    paths = []
    for i, band in enumerate(order):
        key = band.replace("~", "~0").replace("/", "~1")
        paths += [f"/bands/{key}/flux", f"/bands/{key}/flux_err"]
        for j, prefix in ((2 * i + 1, "f_"), (2 * i + 2, "e_")):
            cell = _JSON_CELL.format(x=f"_v[{j}]", t=f"CAST(_v[{j}] AS VARCHAR)")
            cells.append(f"{cell} AS {_name(prefix + band)}")
    values = (
        f"json_extract(photometry, [{', '.join(_text(p) for p in paths)}])" if paths else "NULL"
    )
    return f"SELECT {', '.join(cells)} FROM (SELECT *, {values} AS _v FROM _rows) ORDER BY _rn"
