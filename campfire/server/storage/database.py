"""The archive database: one SQLite file in WAL mode, or PostgreSQL; one connection per thread.

:class:`Database` is the storage seam for catalog rows; everything above it speaks SQL through
:meth:`Database.conn` or :meth:`Database.transaction`, in SQLite's dialect: on PostgreSQL the
connection is a :class:`~campfire.server.storage.postgres.PgConnection`, which translates each
statement (see that module). :func:`utc_now` is the single clock.

Examples
--------
>>> import tempfile, pathlib
>>> db = Database(pathlib.Path(tempfile.mkdtemp()) / "archive.db")
>>> db.conn().execute("SELECT count(*) FROM programs").fetchone()[0]
0
>>> len(utc_now())
32
"""

from __future__ import annotations

import contextlib
import math
import queue
import secrets
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

from campfire.server.storage.errors import DatabaseURLError, NulInTextError
from campfire.server.storage.schema import MIGRATIONS, POSTGRES_EXTRA, SYSTEM_LISTS

__all__ = [
    "Database",
    "DatabaseURLError",
    "NulInTextError",
    "ang_dist_deg",
    "format_ts",
    "marks",
    "parse_database_url",
    "parse_ts",
    "utc_now",
]


def parse_database_url(value: str | Path) -> tuple[str, Path | None]:
    """``(dialect, path)`` of a database location: ``sqlite:///relative/path`` or
    ``sqlite:////absolute/path`` (as SQLAlchemy writes them), a plain path (SQLite),
    or ``postgresql://user@host:port/db`` (``path`` None).

    Raises
    ------
    DatabaseURLError
        For any other scheme.

    Examples
    --------
    >>> parse_database_url("sqlite:////srv/archive/archive.db")
    ('sqlite', PosixPath('/srv/archive/archive.db'))
    >>> parse_database_url("postgresql://campfire@db:5432/campfire")
    ('postgresql', None)
    """
    if isinstance(value, Path):
        return "sqlite", value
    if value.startswith(("postgresql://", "postgres://")):
        return "postgresql", None
    if value.startswith("sqlite:///"):
        return "sqlite", Path(value[len("sqlite:///") :]).expanduser()
    if "://" in value:
        raise DatabaseURLError(
            f"Unsupported database URL {value.split('://')[0]}://...: use sqlite:///path/to/"
            "archive.db or postgresql://user@host:port/dbname"
        )
    return "sqlite", Path(value).expanduser()


_TS = "%Y-%m-%dT%H:%M:%S.%f+00:00"


def marks(n: int) -> str:
    """``n`` comma-separated ``?`` placeholders, for ``IN (...)``.

    Examples
    --------
    >>> marks(3)
    '?,?,?'
    """
    return ",".join("?" * n)


def format_ts(dt: datetime) -> str:
    """Format an aware (or naive UTC) datetime as ``YYYY-MM-DDTHH:MM:SS.ffffff+00:00``."""
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC)
    return dt.strftime(_TS)


def ang_dist_deg(ra1: float, dec1: float, ra2: float, dec2: float) -> float | None:
    """Great-circle distance in degrees (haversine); registered in SQLite as ``ang_dist``."""
    if None in (ra1, dec1, ra2, dec2):
        return None
    r1, d1, r2, d2 = map(math.radians, (ra1, dec1, ra2, dec2))
    h = math.sin((d2 - d1) / 2) ** 2 + math.cos(d1) * math.cos(d2) * math.sin((r2 - r1) / 2) ** 2
    return math.degrees(2 * math.asin(min(1.0, math.sqrt(h))))


def utc_now(offset_seconds: float = 0.0) -> str:
    """The current UTC time (plus an offset) as an archive timestamp string."""
    return format_ts(datetime.now(UTC) + timedelta(seconds=offset_seconds))


def parse_ts(value: str) -> str:
    """Normalise a client timestamp (any ISO-8601 form; naive means UTC) to archive format.

    Raises
    ------
    ValueError
        When ``value`` is not an ISO-8601 timestamp.

    Examples
    --------
    >>> parse_ts("2026-04-17T15:43:22.5Z")
    '2026-04-17T15:43:22.500000+00:00'
    """
    text = value.strip().replace(" ", "T", 1) if "T" not in value else value.strip()
    if text.endswith(("z", "Z")):
        text = text[:-1] + "+00:00"
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return format_ts(dt)


class Database:
    """The archive's database (SQLite or PostgreSQL); creates and migrates the schema on first
    use.

    Parameters
    ----------
    path
        The ``archive.db`` file (created, with its folder, when missing), ``sqlite:///path``,
        or ``postgresql://user@host:port/db`` (the database must exist; it may be empty).

    Raises
    ------
    DatabaseURLError
        For an unsupported URL, or a PostgreSQL server that cannot be reached.
    """

    def __init__(self, path: str | Path) -> None:
        self.dialect, file = parse_database_url(path)
        #: where the database is: the SQLite file's ``sqlite:///`` URL or the PostgreSQL URL
        self.url = str(path) if file is None else f"sqlite:///{file}"
        #: the SQLite file (None on PostgreSQL)
        self.path: Path | None = file
        if file is not None:
            file.parent.mkdir(parents=True, exist_ok=True)
            self.errors: tuple[type[Exception], ...] = (sqlite3.Error,)
        else:
            import psycopg

            self.errors = (psycopg.Error,)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._all: list[tuple[threading.Thread, Any]] = []
        self._later: queue.Queue[tuple[str, tuple[object, ...]] | None] | None = None
        self._writer: threading.Thread | None = None
        #: the migrations this object applied when it opened the file (empty when up to date)
        self.applied = self.migrate()

    def _connect(self) -> sqlite3.Connection:
        if self.path is None:
            return self._connect_pg()
        conn = sqlite3.connect(
            self.path, timeout=30.0, isolation_level=None, check_same_thread=False
        )
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=OFF")
        conn.execute("PRAGMA cache_size=-32000")
        conn.create_function("ang_dist", 4, ang_dist_deg, deterministic=True)
        return conn

    def _connect_pg(self) -> sqlite3.Connection:
        import psycopg

        from campfire.server.storage.postgres import connect

        try:
            conn = connect(self.url)
        except psycopg.OperationalError as exc:
            where = self.url.rsplit("@", 1)[-1]  # never echo a password
            raise DatabaseURLError(
                f"Cannot open the PostgreSQL database at {where}: {str(exc).strip()}. Check "
                "that the server runs, the database exists and the user may log in."
            ) from exc
        # the seam speaks sqlite3's interface; PgConnection answers it (see postgres.py)
        return cast(sqlite3.Connection, conn)

    def conn(self) -> sqlite3.Connection:
        """The calling thread's connection (autocommit; use :meth:`transaction` to write).

        Worker threads come and go (an idle one exits after a while), so opening a connection
        also closes those of threads that have ended: each holds a page cache, and a server
        that kept them would grow with every thread it ever ran.
        """
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
            with self._lock:
                dead = [c for t, c in self._all if not t.is_alive()]
                self._all = [(t, c) for t, c in self._all if t.is_alive()]
                self._all.append((threading.current_thread(), conn))
            for c in dead:
                c.close()
        return conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (``BEGIN IMMEDIATE``); commits on success, rolls back on error."""
        conn = self.conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def migrate(self) -> list[str]:
        """Apply the migrations not yet recorded; return the names applied.

        On PostgreSQL a session advisory lock is held throughout, so of two processes starting
        on one database the second waits and then finds nothing left to apply.
        """
        applied: list[str] = []
        conn = self.conn()
        with self._lock:
            if self.path is not None:
                self._migrate(conn, applied)
                return applied
            from campfire.server.storage.postgres import MIGRATE_LOCK

            conn.execute("SELECT pg_advisory_lock(?)", (MIGRATE_LOCK,))
            try:
                self._migrate(conn, applied)
            finally:
                conn.execute("SELECT pg_advisory_unlock(?)", (MIGRATE_LOCK,))
        return applied

    def _statements(self, name: str, ddl: str) -> list[str]:
        if self.path is not None:
            return ddl.split(";")
        from campfire.server.storage.postgres import translate_ddl

        return translate_ddl(ddl) + POSTGRES_EXTRA.get(name, "").split(";")

    def _migrate(self, conn: sqlite3.Connection, applied: list[str]) -> None:
        conn.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, at TEXT)")
        done = {r[0] for r in conn.execute("SELECT name FROM _migrations")}
        for name, ddl in MIGRATIONS:
            if name in done:
                continue
            conn.execute("BEGIN IMMEDIATE")
            if conn.execute("SELECT 1 FROM _migrations WHERE name = ?", (name,)).fetchone():
                conn.execute("ROLLBACK")  # another process applied it while we waited
                continue
            try:
                for stmt in self._statements(name, ddl):
                    if stmt.strip():
                        conn.execute(stmt)
                if name == "0001_initial":
                    self._seed(conn)
                conn.execute("INSERT INTO _migrations VALUES (?, ?)", (name, utc_now()))
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            applied.append(name)

    @staticmethod
    def _seed(conn: sqlite3.Connection) -> None:
        now = utc_now()
        conn.execute("INSERT INTO meta VALUES ('secret', ?)", (secrets.token_hex(32),))
        conn.execute("INSERT INTO meta VALUES ('schema_version', '1')")
        conn.executemany(
            "INSERT INTO lists (slug, name, visibility, is_system, created_at, updated_at) "
            "VALUES (?, ?, 'public_read', 1, ?, ?)",
            [(slug, name, now, now) for slug, name in SYSTEM_LISTS],
        )

    def meta(self, key: str) -> str | None:
        """A value from the ``meta`` table, or None."""
        row = self.conn().execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        """Set a value in the ``meta`` table."""
        self.conn().execute(
            "INSERT INTO meta VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    #: the ``meta`` key of the catalog generation (see :meth:`bump_generation`)
    GENERATION = "catalog_generation"

    @staticmethod
    def bump_generation(conn: sqlite3.Connection) -> None:
        """Move the catalog generation on, inside the caller's write transaction.

        Every catalog write (ingest and deploy, inspections, comments, lists) calls this in
        the transaction that writes, so an answer kept by any server process is valid while
        :meth:`generation` reads the same number. Per-request bookkeeping (API-key use, rate
        limits) does not: it changes no catalog answer.

        Examples
        --------
        >>> with db.transaction() as conn:  # doctest: +SKIP
        ...     Database.bump_generation(conn)
        """
        conn.execute(
            "INSERT INTO meta (key, value) VALUES (?, '1') ON CONFLICT(key) DO UPDATE "
            "SET value = CAST(CAST(meta.value AS INTEGER) + 1 AS TEXT)",
            (Database.GENERATION,),
        )

    def generation(self) -> int:
        """The catalog generation: a number every catalog write moves (0 before the first).

        Examples
        --------
        >>> db.generation()  # doctest: +SKIP
        12
        """
        value = self.meta(self.GENERATION)
        return int(value) if value else 0

    def later(self, sql: str, args: tuple[object, ...] = ()) -> None:
        """Run a best-effort write on a background thread (fire-and-forget), so a request
        never waits for the write lock (e.g. while a deploy holds it).
        """
        with self._lock:
            if self._later is None:
                self._later = queue.Queue()
                self._writer = threading.Thread(
                    target=self._write_later, args=(self._later,), daemon=True,
                    name="campfire-db-later",
                )  # fmt: skip
                self._writer.start()
        self._later.put((sql, args))

    def _write_later(self, jobs: queue.Queue[tuple[str, tuple[object, ...]] | None]) -> None:
        conn = self._connect()
        try:
            while (job := jobs.get()) is not None:
                with contextlib.suppress(*self.errors):
                    conn.execute(*job)
        finally:
            conn.close()

    def close(self) -> None:
        """Close every connection this object opened (call once no thread uses it)."""
        with self._lock:
            jobs, writer, self._later, self._writer = self._later, self._writer, None, None
        if jobs is not None and writer is not None:
            jobs.put(None)
            writer.join(timeout=5)
        with self._lock:
            conns, self._all = self._all, []
        for _, conn in conns:
            conn.close()
        self._local = threading.local()
