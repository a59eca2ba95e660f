"""Whole store tables as Arrow, filled in C by ADBC's SQLite driver (``adbc-driver-sqlite``).

Reading a large table through Python's :mod:`sqlite3` makes a Python object of every cell
before Arrow copies it again (340,560 spectra: ~4 s); ADBC's driver fills the Arrow arrays in C
(~1.3 s). Its wheel carries its own copy of SQLite, and two copies of SQLite in one process
must never open the same file: each takes POSIX locks, and one closing its descriptor drops the
locks the other holds (SQLite's "How To Corrupt", section 2.2.1). So ADBC only ever reads in a
process that does not open the store with :mod:`sqlite3`: a child that streams one table to
its parent as Arrow IPC (:class:`TableStream`, for a query-snapshot build), or a CSV export
helper (:func:`read_table`).

A read is one read transaction; the stream's metadata carries the store's counters
(``catalog_version``, ``files_version``) as the child read them, so a parent holding its own
read transaction checks that both saw the same version. SQLite columns are untyped: every
value is ``CAST`` to its column's type, and a typed first row (dropped) fixes the types ADBC
infers from the first batch even where a column starts with NULLs.

Examples
--------
>>> db = Path("meta/campfire.db")
>>> with TableStream(db, "spectra", STORE_TYPES["spectra"]) as s:  # doctest: +SKIP
...     reader = s.reader(expect=("12", "3"))
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "CHILD_ROWS",
    "TableStream",
    "available",
    "child_streams",
    "large_tables",
    "read_table",
    "typed_select",
]

#: rows ADBC puts in one batch (its default, 1,024, makes many small batches)
BATCH_ROWS = 65_536
#: a table is read by a child process from this many rows on (below, starting one costs more
#: than it saves)
CHILD_ROWS = 50_000
#: the store tables worth a child when large
CHILD_TABLES = ("objects", "spectra", "object_photometry")

_SQL = {"int64": "INTEGER", "float64": "REAL", "string": "TEXT"}
_FIRST = {"int64": "0", "float64": "0.0", "string": "''"}


def available() -> bool:
    """True if ADBC's SQLite driver can be imported here."""
    try:
        import adbc_driver_sqlite.dbapi  # noqa: F401
    except ImportError:
        return False
    return True


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def typed_select(table: str, columns: dict[str, str], present: set[str], where: str = "") -> str:
    """SQLite ``SELECT`` of ``columns`` (name -> ``int64``/``float64``/``string``) from
    ``table``, each value cast to its type, a column the table lacks as NULL, after one typed
    row that the reader drops.

    Examples
    --------
    >>> typed_select("t", {"id": "int64", "z": "float64"}, {"id"}).split(" UNION ALL ")
    ['SELECT 0 AS "id", 0.0 AS "z"', 'SELECT CAST("id" AS INTEGER), CAST(NULL AS REAL) FROM "t"']
    """
    first = ", ".join(f"{_FIRST[t]} AS {_quote(c)}" for c, t in columns.items())
    cells = ", ".join(
        f"CAST({_quote(c) if c in present else 'NULL'} AS {_SQL[t]})" for c, t in columns.items()
    )
    clause = f" WHERE {where}" if where else ""
    return f"SELECT {first} UNION ALL SELECT {cells} FROM {_quote(table)}{clause}"


def read_table(
    db: Path, table: str, columns: dict[str, str], where: str = ""
) -> tuple[pa.RecordBatchReader, dict[str, str]]:
    """``columns`` of ``table`` in the SQLite file ``db`` as a stream of Arrow batches, and
    the store's counters as read in the same transaction.

    Only in a process that has not opened ``db`` with :mod:`sqlite3` (see the module's note).
    The connection closes when the stream is exhausted.
    """
    import adbc_driver_sqlite.dbapi as adbc
    import pyarrow as pa

    conn = adbc.connect(db.resolve().as_uri() + "?mode=ro")  # autocommit off: one transaction
    try:
        cur = conn.cursor()
        cur.execute(f"SELECT name FROM pragma_table_info('{table}')")
        present = {str(r[0]) for r in cur.fetchall()}
        cur.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name = '_meta'")
        counters: dict[str, str] = {}
        if cur.fetchall():
            cur.execute(
                "SELECT key, value FROM _meta WHERE key IN ('catalog_version', 'files_version')"
            )
            counters = {str(k): str(v) for k, v in cur.fetchall()}
        cur.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": str(BATCH_ROWS)})
        cur.execute(typed_select(table, columns, present, where))
        source = cur.fetch_record_batch()
    except BaseException:
        conn.close()
        raise
    schema = pa.schema([(c, getattr(pa, t)()) for c, t in columns.items()])

    def batches() -> Any:
        try:  # (the cursor lives as long as its results are read)
            assert cur is not None
            first = True
            for batch in source:
                if first:
                    batch, first = batch.slice(1), False
                arrays = [batch.column(i).cast(f.type) for i, f in enumerate(schema)]
                yield pa.RecordBatch.from_arrays(arrays, schema=schema)
        finally:
            conn.close()

    return pa.RecordBatchReader.from_batches(schema, batches()), counters


_CHILD = (
    "import sys, json; from pathlib import Path; "
    "from campfire.catalog.arrowread import _serve; "
    "_serve(Path(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3]), sys.argv[4])"
)


def _serve(db: Path, table: str, columns: dict[str, str], where: str) -> None:
    """The child's side of :class:`TableStream`: the table as Arrow IPC on stdout."""
    import pyarrow as pa

    reader, counters = read_table(db, table, columns, where)
    schema = reader.schema.with_metadata(counters)
    with pa.ipc.new_stream(pa.output_stream(sys.stdout.buffer), schema) as out:
        for batch in reader:
            out.write_batch(batch)


class TableStream:
    """One store table read by a child process (ADBC), as Arrow batches for this one.

    The child starts at construction and reads while this process does other work; its
    output waits in the pipe until :meth:`reader` is consumed. Use as a context manager (or
    call :meth:`close`): a stream not read to the end is stopped.

    Parameters
    ----------
    db
        The store's SQLite file.
    table
        The table to read.
    columns
        Column name -> ``int64``, ``float64`` or ``string``, in output order.
    where
        An SQL condition on the table's rows (optional).
    """

    def __init__(self, db: Path, table: str, columns: dict[str, str], where: str = "") -> None:
        self.table = table
        self._proc: subprocess.Popen[bytes] | None = None
        self.error: str | None = None
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-c", _CHILD, str(db.resolve()), table, json.dumps(columns),
                 where],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                cwd=db.resolve().parent,  # imports resolve from our sys.path, not the folder
                env=_child_env(),
            )  # fmt: skip
        except OSError as exc:
            self.error = f"no child process ({exc})"

    def reader(self, expect: tuple[str, str] | None = None) -> pa.RecordBatchReader | None:
        """The table's batches, or None (see :attr:`error`) if the child could not start or
        read, or read other counters than ``expect`` (``(catalog_version, files_version)``).
        """
        import pyarrow as pa

        if self._proc is None or self._proc.stdout is None:
            return None
        try:
            reader = pa.ipc.open_stream(self._proc.stdout)
        except (pa.ArrowException, OSError) as exc:
            self.error = self._failure(exc)
            return None
        meta = {k.decode(): v.decode() for k, v in (reader.schema.metadata or {}).items()}
        if (
            expect is not None
            and (meta.get("catalog_version"), meta.get("files_version")) != expect
        ):
            self.error = f"read another version of the store ({meta})"
            return None
        proc = self._proc

        def checked() -> Any:
            yield from reader
            # a stream cut short reads like a shorter table: only the exit status tells
            if proc.wait() != 0:
                raise RuntimeError(f"reading {self.table} failed: {self._failure(None)}")

        return pa.RecordBatchReader.from_batches(reader.schema, checked())

    def _failure(self, exc: BaseException | None) -> str:
        assert self._proc is not None
        self._proc.wait()
        err = (self._proc.stderr.read() if self._proc.stderr else b"").decode(errors="replace")
        lines = err.strip().splitlines()
        return lines[-1] if lines else str(exc or f"exit status {self._proc.returncode}")

    def close(self) -> None:
        """Stop the child if it still runs, and reap it."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.kill()
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
        proc.wait()

    def __enter__(self) -> TableStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def large_tables(con: sqlite3.Connection) -> set[str]:
    """Those of :data:`CHILD_TABLES` with at least :data:`CHILD_ROWS` rows (counted on
    ``con``), when ADBC is installed; none otherwise.
    """
    if not available():
        return set()
    out = set()
    for table in CHILD_TABLES:
        try:
            (rows,) = con.execute(f"SELECT count(*) FROM {table}").fetchone()
        except sqlite3.Error:
            continue
        if rows >= CHILD_ROWS:
            out.add(table)
    return out


def child_streams(db: Path, con: sqlite3.Connection) -> dict[str, TableStream]:
    """A started :class:`TableStream` for each of :func:`large_tables` (``con`` is the
    caller's connection to ``db``).
    """
    from campfire.catalog.snapshot import STORE_TYPES

    return {t: TableStream(db, t, STORE_TYPES[t]) for t in sorted(large_tables(con))}


def _child_env() -> dict[str, str]:
    import os

    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
