"""Local queries over the synced catalog, served by DuckDB.

SQLite (``<data_dir>/meta/campfire.db``) is the system of record; DuckDB is the query engine.
DuckDB's SQLite scanner is an extension that would have to be downloaded, so instead the store's
tables are copied (with pyarrow) into DuckDB tables kept in a **snapshot file**
(``meta/snapshot/catalog-c<catalog_version>-f<files_version>.duckdb``, see
:mod:`campfire.catalog.snapshot` and :mod:`campfire.catalog.tables`). Each query first reads
the store's two ``_meta`` counters (one small SQLite read) and brings the tables up to them,
so a query never sees a catalog older than the last sync or download: a new process attaches
the current snapshot (ready at once), and after an incremental sync only the objects it changed
are patched (:mod:`campfire.catalog.changes`); everything is rebuilt only when the changes
are not known (a full sync).

In DuckDB the tables keep the store's names with richer types (``docs/python-client.md``):
``objects`` (list columns as ``VARCHAR[]``, ``tags``, ``redshift`` = inspected over auto and
null for quality 1), ``spectra`` (plus the parent object's ``ra``, ``dec``, ``redshift``,
``redshift_quality``, ``tags`` and the local file columns), ``object_photometry``,
``object_lists`` and ``object_list_memberships``.

The work is shared by five modules, one responsibility each; this one holds :class:`Catalog`
(connections, when to reload, running queries) and re-exports the public names of the others,
so ``from campfire.catalog.engine import Filters, make_filters, compile_local, build_table`` keeps
working:

* :mod:`campfire.catalog.filters`: validating query arguments into a :class:`Filters` set;
* :mod:`campfire.catalog.sql`: compiling a filter set into DuckDB SQL (:func:`compile_local`);
* :mod:`campfire.catalog.columns`: the result columns and :func:`build_table`;
* :mod:`campfire.catalog.snapshot`: the DuckDB tables' schema and their snapshot files;
* :mod:`campfire.catalog.tables`: which database holds them (a shared snapshot or a copy).

Examples
--------
>>> from campfire.catalog.engine import Catalog, Filters
>>> cat = Catalog("~/campfire/meta/campfire.db")  # doctest: +SKIP
>>> cat.query("objects", Filters(fields=("uds",), limit=5))  # doctest: +SKIP
>>> cat.sql("SELECT field, count(*) AS n FROM objects GROUP BY field")  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from campfire.catalog import changes
from campfire.catalog.arrowread import child_streams
from campfire.catalog.columns import OBJECT_COLUMNS, SPECTRUM_COLUMNS, build_table
from campfire.catalog.filters import Filters, make_filters
from campfire.catalog.patch import patch_objects
from campfire.catalog.snapshot import (
    APPLY_FILES,
    AS_STORED,
    DERIVE_META,
    SQL_TABLES,
    STORE_TYPES,
    published,
    snapshot_path,
    stream_store_table,
)
from campfire.catalog.sql import compile_local, inline_sql
from campfire.catalog.tables import TableFile
from campfire.errors import NotFoundError, SchemaError, ValidationError

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa
    from astropy.table import Table

__all__ = [
    "OBJECT_COLUMNS",
    "SPECTRUM_COLUMNS",
    "Catalog",
    "Filters",
    "build_table",
    "compile_local",
    "make_filters",
]

log = logging.getLogger(__name__)

#: objects patched per :func:`patch_objects` call when a refresh applies a sync's changes
PATCH_CHUNK = 5_000
#: a patched process publishes its tables when the newest snapshot is this many versions old
PUBLISH_BEHIND = 5


def _split(text: str | None) -> list[str]:
    """A list column streamed as ';'-joined text, back as a list (most hold one item)."""
    return (text.split(";") if ";" in text else [text]) if text else []


@contextlib.contextmanager
def _transaction(duck: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """One DuckDB transaction around a patch: committed once, rolled back on any error."""
    duck.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        duck.execute("ROLLBACK")
        raise
    duck.execute("COMMIT")


class Catalog:
    """The synced catalog as DuckDB tables, kept current with the SQLite store.

    Parameters
    ----------
    db_path
        The SQLite store, ``<data_dir>/meta/campfire.db``.
    snapshot_dir
        Where snapshot files are kept (default ``meta/snapshot`` beside the store); if it
        cannot be written, the tables live in memory only.

    Examples
    --------
    >>> cat = Catalog(settings.db_path)  # doctest: +SKIP
    >>> for row in cat.iter_rows("objects", Filters(tags=("lrd",))):  # doctest: +SKIP
    ...     print(row["object_id"])
    """

    def __init__(self, db_path: str | os.PathLike[str], snapshot_dir: Path | None = None) -> None:
        self.db_path = Path(db_path).expanduser()
        if not self.db_path.is_file():
            raise NotFoundError(f"no local catalog at {self.db_path}; run cf.sync() first")
        self.snapshot_dir = snapshot_dir or self.db_path.parent / "snapshot"
        self._lock = threading.RLock()
        self._sqlite: sqlite3.Connection | None = None
        self._duck: duckdb.DuckDBPyConnection | None = None
        self._loaded: dict[str, str] = {}  # part -> key it was loaded at
        self._vocab: dict[str, list[str]] | None = None
        self._files: TableFile | None = None

    @property
    def sqlite(self) -> sqlite3.Connection:
        """A read-only connection to the store (shared; use under the catalog's lock)."""
        if self._sqlite is None:
            uri = f"file:{self.db_path.as_posix()}?mode=ro"
            con = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None)
            con.row_factory = sqlite3.Row
            self._sqlite = con
        return self._sqlite

    def versions(self) -> tuple[str, str]:
        """The store's ``(catalog_version, files_version)``; a file fingerprint without them."""
        with self._lock:
            try:
                rows = dict(
                    self.sqlite.execute(
                        "SELECT key, value FROM _meta "
                        "WHERE key IN ('catalog_version', 'files_version')"
                    ).fetchall()
                )
            except sqlite3.DatabaseError as exc:
                raise SchemaError(f"{self.db_path} is not a campfire catalog ({exc})") from exc
        if "catalog_version" in rows:
            return str(rows["catalog_version"]), str(rows.get("files_version", "0"))
        stamp = []
        for suffix in ("", "-wal"):
            with contextlib.suppress(OSError):
                st = os.stat(f"{self.db_path}{suffix}")
                stamp.append(f"{st.st_mtime_ns}.{st.st_size}")
        return "fp" + "-".join(stamp), "fp"

    def _copy(self, table: str, name: str, child: pa.RecordBatchReader | None = None) -> None:
        """Copy a store table into DuckDB table ``name``: from ``child`` (a child process's
        read of the same version) if given, read here if it is not or if it fails.
        """
        if child is not None:
            try:
                self._create(name, child)
                return
            except Exception as exc:  # DuckDB wraps the stream's own error in its types
                log.info("catalog build: the child's read of %s failed (%s); reading it here",
                         table, exc)  # fmt: skip
        self._create(name, stream_store_table(self.sqlite, table))

    def _create(self, name: str, rows: pa.RecordBatchReader) -> None:
        duck = self._duckdb()
        temp = "TEMP " if name.startswith("raw_") else ""  # raw copies never reach the file
        duck.register("_incoming", rows)
        try:
            duck.execute(f"CREATE OR REPLACE {temp}TABLE {name} AS SELECT * FROM _incoming")
        finally:
            duck.unregister("_incoming")

    def _duckdb(self) -> duckdb.DuckDBPyConnection:
        import duckdb

        if self._duck is None:  # never fetch an extension at run time
            config: dict[str, str | bool | int | float | list[str]] = {
                "autoinstall_known_extensions": False,
                "autoload_known_extensions": False,
            }
            self._duck = duckdb.connect(":memory:", config=config)
            self._duck.execute("SET enable_progress_bar = false")  # the library never prints
            self._files = TableFile(self._duck, self.snapshot_dir)
        return self._duck

    @property
    def _tables(self) -> TableFile:
        self._duckdb()
        assert self._files is not None
        return self._files

    def refresh(self, force: bool = False) -> bool:
        """Bring the query tables up to the store; True if anything changed.

        In order of cost: nothing (already current); attach the published snapshot of the
        store's version (another process made it); patch the objects the versions since
        changed (:mod:`campfire.catalog.changes`, applied with
        :func:`~campfire.catalog.patch.patch_objects`); only when those are not recorded (a
        full sync, an unknown writer), or with ``force``, build every table from the store.

        Examples
        --------
        >>> cat.refresh()  # doctest: +SKIP
        False
        """
        with self._lock:
            cv, fv = self.versions()
            if not force and self._loaded == {"meta": f"c{cv}", "files": f"c{cv}-f{fv}"}:
                return False
            con = self.sqlite
            con.execute("BEGIN")  # one consistent read of the counters and the tables
            try:
                cv, fv = self.versions()
                if force or not self._catch_up(con, cv, fv):
                    self._build(cv, fv)
            finally:
                con.execute("COMMIT")
            self._loaded = {"meta": f"c{cv}", "files": f"c{cv}-f{fv}"}
            self._vocab = None
            return True

    def _catch_up(self, con: sqlite3.Connection, cv: str, fv: str) -> bool:
        """Reach ``(cv, fv)`` without a build: open its snapshot, or patch what changed since
        the loaded (or newest published) version. False when neither can.
        """
        if cv.startswith("fp"):
            return False
        tables = self._tables
        if tables.open(snapshot_path(self.snapshot_dir, cv, fv)):
            return True
        loaded = self._loaded.get("meta", "")
        start = (int(loaded[1:]), self._loaded["files"].rpartition("-f")[2]) if (
            loaded[1:].isdigit() and tables.filled) else None  # fmt: skip
        if start is None:  # a new process: the newest snapshot, if its changes are recorded
            for c, f, path in published(self.snapshot_dir):
                if c <= int(cv) and tables.open(path):
                    start = (c, str(f))
                    break
        if start is None:
            return False
        ids = changes.changed_between(con, start[0], int(cv))
        if ids is None:
            return False
        try:
            tables.writable()
            keys = sorted(ids)
            with _transaction(self._duckdb()):  # one commit (one WAL sync), all or nothing
                for i in range(0, len(keys) if int(cv) > start[0] else 0, PATCH_CHUNK):
                    patch_objects(self._duckdb(), con, keys[i : i + PATCH_CHUNK], lists=i == 0)
                if int(cv) > start[0] and not keys:  # a version that changed only lists
                    patch_objects(self._duckdb(), con, [], lists=True)
                if start[1] != fv:
                    self._copy("local_files", "local_files")
                    for statement in APPLY_FILES:
                        self._duckdb().execute(statement)
        except Exception as exc:  # any failure: build instead
            log.info("catalog patch failed (%s); rebuilding", exc)
            return False
        newest = published(self.snapshot_dir)  # downloads and long runs of syncs: publish
        if start[1] != fv or not newest or newest[0][0] <= int(cv) - PUBLISH_BEHIND:
            tables.publish(snapshot_path(self.snapshot_dir, cv, fv))
        return True

    def _build(self, cv: str, fv: str) -> None:
        """Every query table from the store, into a private file published as the snapshot
        of ``(cv, fv)`` (in memory for a store without version counters).
        """
        tables, duck = self._tables, self._duckdb()
        if cv.startswith("fp"):
            tables.memory()
        else:
            tables.fresh()
        with contextlib.ExitStack() as stack:
            # the large tables are read by child processes (in C, all at once) while this one
            # copies them in, one after the other
            streams = {} if cv.startswith("fp") else child_streams(self.db_path, self.sqlite)
            for stream in streams.values():
                stack.enter_context(stream)
            stack.enter_context(tables.building())  # memory capped (spilling beside the file)
            for table in STORE_TYPES:
                if table != "local_files":
                    reading = streams.get(table)
                    child = reading.reader(expect=(cv, fv)) if reading else None
                    if reading and child is None:
                        log.info("catalog build: %s read here (%s)", table, reading.error)
                    self._copy(table, table if table in AS_STORED else f"raw_{table}", child)
            for statement in DERIVE_META:
                duck.execute(statement)
            self._copy("local_files", "local_files")
            for statement in APPLY_FILES:
                duck.execute(statement)
            tables.filled = True
            if not cv.startswith("fp"):
                tables.publish(snapshot_path(self.snapshot_dir, cv, fv))

    def apply_in_place(
        self,
        before: int,
        after: int,
        patch: Callable[[duckdb.DuckDBPyConnection, sqlite3.Connection], None],
    ) -> bool:
        """A write of this process took the store from ``catalog_version`` ``before`` to
        ``after``: update the loaded tables with ``patch(duckdb, sqlite)`` instead of reloading
        them all (:mod:`campfire.catalog.patch`). Only when they are loaded at ``before`` and
        the store is at ``after``; otherwise, or if ``patch`` fails, the next query reloads as
        usual. True if patched.

        Examples
        --------
        >>> cat.apply_in_place(7, 8, partial(patch_objects, ids={"J1"}))  # doctest: +SKIP
        True
        """
        with self._lock:
            loaded = self._loaded.get("meta")
            if loaded != f"c{before}":
                return False
            files = self._loaded.get("files", "").partition("-")[2]
            con = self.sqlite
            con.execute("BEGIN")
            try:
                if self.versions()[0] != str(after):
                    return False
                try:
                    self._tables.writable()
                    with _transaction(self._duckdb()):
                        patch(self._duckdb(), con)
                except Exception as exc:
                    log.info("in-place catalog update failed (%s); reloading instead", exc)
                    self._loaded.clear()
                    return False
            finally:
                con.execute("COMMIT")
            self._loaded = {"meta": f"c{after}", "files": f"c{after}-{files}"}
            self._vocab = None
            return True

    def connection(self) -> duckdb.DuckDBPyConnection:
        """The DuckDB connection, refreshed to the store's current version."""
        with self._lock:
            self.refresh()
            return self._duckdb()

    def close(self) -> None:
        """Close both connections (they reopen on next use)."""
        with self._lock:
            for con in (self._duck, self._sqlite):
                if con is not None:
                    con.close()
            if self._files is not None:
                self._files.close()
            self._duck = self._sqlite = None
            self._files = None
            self._loaded.clear()

    def vocabulary(self) -> dict[str, list[str]]:
        """Known ``fields``, ``gratings``, ``observations``, ``programs`` and ``tags``."""
        queries = {
            "fields": "SELECT field FROM objects UNION SELECT field FROM spectra",
            "gratings": "SELECT unnest(gratings) FROM objects UNION SELECT grating FROM spectra",
            "observations": "SELECT unnest(observations) FROM objects "
            "UNION SELECT observation FROM spectra",
            "programs": "SELECT unnest(programs) FROM objects "
            "UNION SELECT program_slug FROM spectra",
            "tags": "SELECT slug FROM object_lists "
            "UNION SELECT list_slug FROM object_list_memberships",
        }
        with self._lock:
            duck = self.connection()
            if self._vocab is None:
                self._vocab = {
                    k: sorted(str(r[0]) for r in duck.execute(q).fetchall() if r[0] is not None)
                    for k, q in queries.items()
                }
            return self._vocab

    def query(self, kind: str, flt: Filters) -> Table:
        """Rows of ``objects`` or ``spectra`` matching ``flt``, as an astropy Table."""
        sql, params = compile_local(kind, flt)
        with self._lock:
            data = self.connection().sql(sql, params=params).fetchnumpy()
        columns = SPECTRUM_COLUMNS if kind == "spectra" else OBJECT_COLUMNS
        return build_table(data, columns, distance=flt.cone is not None)

    def arrow_table(self, kind: str, flt: Filters, columns: list[str]) -> pa.Table:
        """The rows matching ``flt``, only ``columns``, as an Arrow table in the query's order.

        Examples
        --------
        >>> cat.arrow_table("objects", Filters(), ["object_id"]).num_rows  # doctest: +SKIP
        2450
        """
        sql, params = compile_local(kind, flt)
        select = ", ".join(f'"{c}"' for c in columns)
        with self._lock:
            relation = self.connection().sql(f"SELECT {select} FROM ({sql})", params=params)
            to_arrow = getattr(relation, "to_arrow_table", None) or relation.fetch_arrow_table
            table: pa.Table = to_arrow()
        return table

    def first_page(
        self, kind: str, flt: Filters, columns: list[str], limit: int
    ) -> tuple[list[dict[str, Any]], int]:
        """The first ``limit`` rows matching ``flt`` (only ``columns``, in the query's order) as
        dicts of Python values, and how many rows match in all: a new object browser's first
        page without importing pyarrow or numpy (about half a second in a fresh process).

        The rows equal the first rows of ``arrow_table(kind, flt, columns).to_pylist()``.

        Examples
        --------
        >>> rows, total = cat.first_page("objects", Filters(), ["object_id"], 15)  # doctest: +SKIP
        >>> len(rows), total  # doctest: +SKIP
        (15, 2450)
        """
        sql, params = compile_local(kind, flt)
        select = ", ".join(f'"{c}"' for c in columns)
        with self._lock:
            duck = self.connection()
            found = duck.execute(f"SELECT {select} FROM ({sql}) LIMIT {int(limit)}", params)
            rows = found.fetchall()  # fetchall: a shared connection keeps no unfinished result
            ((total,),) = duck.execute(f"SELECT count(*) FROM ({sql})", params).fetchall()
        return [dict(zip(columns, row, strict=True)) for row in rows], int(total)

    @staticmethod
    def readable_sql(kind: str, flt: Filters) -> str:
        """The SQL a query of ``flt`` runs, parameters written in (to read, or pass to ``sql``).

        Examples
        --------
        >>> Catalog.readable_sql("objects", Filters(fields=("uds",)))  # doctest: +SKIP
        "SELECT ... WHERE is_active AND field IN ('uds') ..."
        """
        sql, params = compile_local(kind, flt)
        return inline_sql(sql, params)

    def iter_rows(self, kind: str, flt: Filters, batch: int = 20_000) -> Iterator[dict[str, Any]]:
        """Stream the matching rows as dicts, reading ``batch`` rows at a time from DuckDB."""
        sql, params = compile_local(kind, flt, joined=True)
        columns = SPECTRUM_COLUMNS if kind == "spectra" else OBJECT_COLUMNS
        lists = [c for c, (k, _) in columns.items() if k == "list"]
        with self._lock:
            cursor = self.connection().cursor()
            cursor.execute("USE cat")  # a cursor starts in its own default database
        try:
            relation = cursor.sql(sql, params=params)
            reader = (
                relation.to_arrow_reader(batch)
                if hasattr(relation, "to_arrow_reader")
                else relation.fetch_record_batch(batch)  # DuckDB < 1.4
            )
            for record_batch in reader:
                cols = record_batch.to_pydict()
                names = list(cols)
                # list columns are split lazily (map), so each row's lists are made as the row
                # is and freed as the caller moves on: a whole batch of them alive at once
                # keeps the cyclic GC busy. Columns of one batch have equal lengths (no strict).
                values = [map(_split, v) if k in lists else v for k, v in cols.items()]
                for row in zip(*values, strict=False):
                    yield dict(zip(names, row, strict=False))
        finally:
            cursor.close()

    def sql(self, query: str, params: Any = None) -> Table:
        """Run one read-only SQL ``SELECT`` over the catalog tables; an astropy Table.

        Examples
        --------
        >>> cat.sql("SELECT grating, count(*) AS n FROM spectra GROUP BY 1")  # doctest: +SKIP
        """
        import duckdb
        from astropy.table import Table

        tables = ", ".join(SQL_TABLES)
        try:
            statements = duckdb.extract_statements(query)
        except duckdb.Error as exc:
            raise ValidationError(f"SQL syntax error: {exc}") from exc
        if len(statements) != 1:
            raise ValidationError(f"pass exactly one SQL statement (got {len(statements)})")
        if statements[0].type != duckdb.StatementType.SELECT:
            kind = statements[0].type.name
            raise ValidationError(f"only SELECT reads the catalog (got {kind}); tables: {tables}")
        with self._lock:
            try:
                data = self.connection().sql(query, params=params).fetchnumpy()
            except duckdb.Error as exc:
                raise ValidationError(f"SQL error: {exc} (tables: {tables})") from exc
        return Table(data)
