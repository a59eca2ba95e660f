"""Store tables read in C by ADBC (campfire.catalog.arrowread): the query snapshot built from
child processes' reads, and objects.csv/spectra.csv written by DuckDB, are the same as those
made from Python's sqlite3 and csv module (the references); a child that fails or reads
another version is replaced by a read here.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pyarrow as pa
import pytest
from test_sync_followups import api_for

import campfire.catalog.arrowread as arrowread
import campfire.catalog.export as export
from campfire.catalog.engine import Catalog
from campfire.catalog.snapshot import SQL_TABLES, STORE_TYPES
from campfire.catalog.store import Store
from campfire.sync.engine import sync_catalog

#: values the two CSV writers could disagree on: quoting, an empty string, '#', non-ASCII,
#: doubles whose text differs by formatter (exponents, -0.0, integral), a trailing '/'
TRICKY_OBJECTS = [
    ("field", 'a,"b"\r\n#c'), ("staleness_reason", ""), ("last_inspected_by", "José #1"),
    ("max_snr", 1e-05), ("max_exposure_time", 20.0), ("photo_z", -0.0), ("photo_z_err_lo", 1e16),
    ("photo_z_err_hi", 0.1 + 0.2), ("redshift_inspected", 123456789.125),
]  # fmt: skip
TRICKY_SPECTRA = [
    {"fits_path": "spectra/x/", "local_path": None},  # file name ''
    {"observation": "", "local_path": ""},
    {"observation": None, "fits_path": "deep/a b,c.fits", "local_path": None},
    {"fits_path": None, "local_path": None},
    {"local_path": "mine/kept.fits", "signal_to_noise": 3e-07, "exposure_time": 1e22},
]


#: photometry records with what Python prints in its own way: ints, bools, strings, nulls,
#: exponents, a band that is not an object, a new band first seen later with its own wav, a
#: band name with '/' and '~', a record without bands
TRICKY_PHOTOMETRY = [
    {"bands": {"f444w": {"flux": 12, "flux_err": True, "wav": 44400.0},
               "f090w": {"flux": "a,b", "flux_err": None, "wav": 9000},
               "odd/~x": {"flux": 1e-05, "flux_err": 1e16}}},
    {"bands": {"f444w": {"flux": 20.0, "flux_err": -3}, "f090w": 5.5,
               "late": {"flux": "", "flux_err": 0.30000000000000004, "wav": 100.0}}},
    {"bands": {"late": {"flux": 1.5, "wav": 1e9}, "nowav": {"flux": 2.0, "wav": None}}},
    {"catalog": "none"},
]  # fmt: skip


@pytest.fixture
def store_path(server, helpers, tmp_path):
    """A synced catalog with the tricky values above written into some of its rows."""
    db = tmp_path / "meta" / "campfire.db"
    with Store(db) as store:
        sync_catalog(api_for(server, helpers, "alice"), store, export=False)
        con = store.conn
        with store.transaction():
            ids = [r[0] for r in con.execute("SELECT id FROM objects ORDER BY id LIMIT 9")]
            for oid, (col, value) in zip(ids, TRICKY_OBJECTS, strict=True):
                con.execute(f"UPDATE objects SET {col} = ? WHERE id = ?", (value, oid))
            sids = [r[0] for r in con.execute("SELECT id FROM spectra ORDER BY id LIMIT 5")]
            for sid, changes in zip(sids, TRICKY_SPECTRA, strict=True):
                sets = ", ".join(f"{c} = ?" for c in changes)
                con.execute(f"UPDATE spectra SET {sets} WHERE id = ?", (*changes.values(), sid))
            pids = [r[0] for r in con.execute("SELECT id FROM object_photometry ORDER BY id")]
            for pid, record in zip(pids, TRICKY_PHOTOMETRY, strict=False):
                con.execute("UPDATE object_photometry SET photometry = ? WHERE id = ?",
                            (json.dumps(record), pid))  # fmt: skip
            store.bump("catalog_version")
    return db


def query_tables(db: Path) -> dict[str, pa.Table]:
    """Every query table of a fresh full build, rows in a fixed order."""
    cat = Catalog(db)
    try:
        cat.refresh(force=True)
        duck = cat._duckdb()
        out = {}
        for t in SQL_TABLES:
            cols = [r[0] for r in duck.execute(f"DESCRIBE {t}").fetchall()]
            order = ", ".join(f'"{c}"' for c in cols if c in ("id", "object_id", "list_slug"))
            out[t] = duck.sql(f"SELECT * FROM {t} ORDER BY {order}").to_arrow_table()
        return out
    finally:
        cat.close()


def test_a_build_from_child_reads_equals_one_read_here(store_path, monkeypatch):
    monkeypatch.setattr(arrowread, "available", lambda: False)
    reference = query_tables(store_path)
    monkeypatch.undo()
    started = []
    real = arrowread.TableStream

    def counted(*args, **kw):
        started.append(args[1])
        return real(*args, **kw)

    monkeypatch.setattr(arrowread, "CHILD_ROWS", 1)  # the tiny catalog's tables are children
    monkeypatch.setattr(arrowread, "TableStream", counted)
    built = query_tables(store_path)
    assert sorted(started) == sorted(arrowread.CHILD_TABLES)
    assert set(built) == set(reference)
    for name, table in reference.items():
        assert built[name].num_rows == table.num_rows
        assert built[name].equals(table), name
    assert reference["objects"].num_rows > 0 and reference["spectra"].num_rows > 0


@pytest.mark.parametrize(
    "child",
    [
        "import sys; sys.stdout.buffer.write(b'not arrow'); sys.exit(3)",
        # a valid stream cut short: its first batch, then the child dies
        "import sys, json; from pathlib import Path; import pyarrow as pa; "
        "from campfire.catalog.arrowread import read_table; "
        "r, c = read_table(Path(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3])); "
        "w = pa.ipc.new_stream(pa.output_stream(sys.stdout.buffer), r.schema.with_metadata(c)); "
        "w.write_batch(next(iter(r)).slice(0, 1)); sys.stdout.flush(); sys.exit(1)",
        # another version of the store than the build's
        "import sys; import pyarrow as pa; "
        "s = pa.schema([('id', pa.int64())]).with_metadata({'catalog_version': '999'}); "
        "w = pa.ipc.new_stream(pa.output_stream(sys.stdout.buffer), s); w.close()",
    ],
    ids=["garbage", "cut-short", "other-version"],
)
def test_a_failed_child_read_is_replaced_by_a_read_here(store_path, monkeypatch, caplog, child):
    monkeypatch.setattr(arrowread, "available", lambda: False)
    reference = query_tables(store_path)
    monkeypatch.undo()
    monkeypatch.setattr(arrowread, "CHILD_ROWS", 1)
    monkeypatch.setattr(arrowread, "_CHILD", child)
    with caplog.at_level("INFO", logger="campfire.catalog.engine"):
        built = query_tables(store_path)
    for name, table in reference.items():
        assert built[name].equals(table), name
    assert any("read here" in m or "reading it here" in m for m in caplog.messages)


@pytest.mark.parametrize("name", ["objects", "spectra", "photometry"])
def test_duckdb_writes_the_csv_module_s_bytes(store_path, tmp_path, name):
    by_csv, by_duckdb = tmp_path / "csv", tmp_path / "duckdb"
    by_csv.mkdir(), by_duckdb.mkdir()
    export._export_from(name, store_path, by_csv)  # Python's sqlite3 and csv
    export._export_from(name, store_path, by_duckdb, by_duckdb=True)  # ADBC and DuckDB
    reference = (by_csv / f"{name}.csv").read_bytes()
    assert (by_duckdb / f"{name}.csv").read_bytes() == reference
    table = "object_photometry" if name == "photometry" else name
    with sqlite3.connect(store_path) as con:
        active = " WHERE coalesce(is_active, 1) <> 0" if name == "objects" else ""
        (rows,) = con.execute(f"SELECT count(*) FROM {table}{active}").fetchone()
    text = reference.decode()
    quoted = 1 if name == "objects" else 0  # the CRLF inside a quoted field
    assert text.count("\r\n") == 1 + rows + quoted
    if name == "objects":
        assert '"a,""b""\r\n#c"' in text and "José #1" in text and ",1e-05," in text
        assert ",20.0," in text and ",1e+16," in text  # (SQLite stores -0.0 as 0.0)
    elif name == "spectra":
        assert "deep/a b,c.fits" in text and ",3e-07," in text and ",1e+22," in text
    else:  # bands without a wav last, by name; Python's spelling of each value
        header = text.split("\r\n", 1)[0].split(",")
        bands = [h[2:] for h in header if h.startswith("f_")]
        assert "late" in bands and "f444w" in bands
        assert bands[-2:] == ["nowav", "odd/~x"]
        assert ",12,True," in text and ',"a,b",,' in text and ",1e-05,1e+16" in text
        assert ",20.0,-3," in text and ",,0.30000000000000004" in text
    assert not list(by_duckdb.glob("*.tmp"))


def test_a_cell_duckdb_cannot_spell_leaves_the_file_to_the_csv_module(store_path, tmp_path):
    """A list in a photometry cell: the helper's SQL refuses, and this process writes the file."""
    with sqlite3.connect(store_path) as con:
        con.execute("UPDATE object_photometry SET photometry = ? WHERE id = "
                    "(SELECT max(id) FROM object_photometry)",
                    (json.dumps({"bands": {"f444w": {"flux": [1, 2]}}}),))  # fmt: skip
    with pytest.raises(Exception, match="a list or an object"):
        export._export_from("photometry", store_path, tmp_path, by_duckdb=True)
    with Store(store_path) as store:
        export.export_catalogs(store, tmp_path)
        export._export_photometry(store.conn, tmp_path / "reference.csv")
    written = (tmp_path / "photometry.csv").read_bytes()
    assert written == (tmp_path / "reference.csv").read_bytes() and b'"[1, 2]"' in written


def test_read_table_types_columns_that_start_with_nulls(store_path):
    """ADBC infers a column's type from its first batch: the typed first row fixes it."""
    with sqlite3.connect(store_path) as con:
        con.execute("UPDATE objects SET photo_z = NULL, redshift_inspected = NULL")
        con.execute("UPDATE objects SET photo_z = 2.5 WHERE id = (SELECT max(id) FROM objects)")
    reader, counters = arrowread.read_table(store_path, "objects", STORE_TYPES["objects"])
    table = reader.read_all()
    assert table.schema.field("photo_z").type == pa.float64()
    assert table.schema.field("redshift_inspected").type == pa.float64()
    assert table.column("photo_z").drop_null().to_pylist() == [2.5]
    assert counters["catalog_version"].isdigit()
    with sqlite3.connect(store_path) as con:
        assert table.num_rows == con.execute("SELECT count(*) FROM objects").fetchone()[0]


def test_only_large_tables_are_left_to_duckdb_helpers(store_path, monkeypatch):
    """A helper importing DuckDB and ADBC starts several times slower than one with ``csv``:
    only files of tables of ``CHILD_ROWS`` rows or more are written that way."""
    with sqlite3.connect(store_path) as con:
        assert export._by_duckdb(con) == set()  # the tiny demo catalog
        (spectra,) = con.execute("SELECT count(*) FROM spectra").fetchone()
        (objects,) = con.execute("SELECT count(*) FROM objects").fetchone()
        monkeypatch.setattr(arrowread, "CHILD_ROWS", spectra)
        assert export._by_duckdb(con) == (
            {"spectra"} if objects < spectra else {"spectra", "objects"}
        )
        monkeypatch.setattr(arrowread, "available", lambda: False)  # no ADBC: never
        assert export._by_duckdb(con) == set()
