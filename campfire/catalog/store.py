"""The local catalog: ``<data_dir>/meta/campfire.db``, an SQLite file in WAL mode.

The tables and columns are exactly those of contract section 8 (``_meta``, ``objects``,
``spectra``, ``object_photometry``, ``object_lists``, ``object_list_memberships``,
``sync_log``), so tools written for the upstream client can read our catalog and ours can adopt
theirs. What campfire adds, all of it additive:

* ``objects.observations`` is filled (from the server's extra key, else from local spectra).
* ``_meta.schema_version`` stays ``'4'`` (the upstream layout we are a superset of; upstream
  tools rebuild any other value). Our own schema changes are numbered migrations recorded in
  ``_migrations(id, name, applied_at)``; :meth:`Store.migrate` applies the missing ones and is
  idempotent, so an upstream-made catalog is adopted in place.
* ``_meta`` counters ``catalog_version`` (bumped by every sync that changed anything) and
  ``files_version`` (bumped by every download that changed local file state), plus
  ``last_sync_at``. The DuckDB query layer watches the counters to know when to refresh.
* A cross-process lock, ``meta/.lock`` (``fcntl.flock``), held by sync and download.

Examples
--------
>>> import tempfile, pathlib
>>> db = pathlib.Path(tempfile.mkdtemp()) / "meta" / "campfire.db"
>>> with Store(db) as store:
...     store.get_meta("schema_version"), store.catalog_version
('4', 0)
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import itertools
import json
import math
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import orjson

from campfire.errors import LockError, NotFoundError, SchemaError

__all__ = ["SCHEMA_VERSION", "PreparedRows", "Store", "prepare_rows", "utc_now"]

SCHEMA_VERSION = "4"

_BASE_SCHEMA = """
CREATE TABLE IF NOT EXISTS _meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS objects (
    id INTEGER PRIMARY KEY, object_id TEXT UNIQUE NOT NULL, field TEXT, ra REAL, dec REAL,
    n_targets INTEGER DEFAULT 0, n_spectra INTEGER DEFAULT 0, programs TEXT, gratings TEXT,
    observations TEXT, member_target_ids TEXT, max_snr REAL, max_exposure_time REAL,
    redshift REAL, redshift_auto REAL, redshift_inspected REAL,
    redshift_quality INTEGER DEFAULT 0, last_inspected_at TEXT, last_inspected_by TEXT,
    last_data_change_at TEXT, staleness_reason TEXT, version INTEGER,
    is_active INTEGER DEFAULT 1, has_photometry INTEGER DEFAULT 0, photo_z REAL,
    photo_z_err_lo REAL, photo_z_err_hi REAL, created_at TEXT, updated_at TEXT,
    _synced_at TEXT);
CREATE INDEX IF NOT EXISTS idx_objects_object_id ON objects(object_id);
CREATE INDEX IF NOT EXISTS idx_objects_field ON objects(field);
CREATE INDEX IF NOT EXISTS idx_objects_redshift ON objects(redshift);
CREATE INDEX IF NOT EXISTS idx_objects_redshift_quality ON objects(redshift_quality);
CREATE INDEX IF NOT EXISTS idx_objects_is_active ON objects(is_active);
CREATE TABLE IF NOT EXISTS spectra (
    id INTEGER PRIMARY KEY, spectrum_id TEXT UNIQUE NOT NULL, target_id TEXT, object_id TEXT,
    grating TEXT NOT NULL, fits_path TEXT, file_hash TEXT, file_size INTEGER,
    signal_to_noise REAL, exposure_time REAL, reduction_version TEXT, redshift_auto REAL,
    dq_flags INTEGER DEFAULT 0, program_slug TEXT, observation TEXT, field TEXT,
    local_path TEXT, local_file_hash TEXT, local_file_mtime REAL, local_file_size INTEGER,
    synced_at TEXT, created_at TEXT, updated_at TEXT, _synced_at TEXT);
CREATE INDEX IF NOT EXISTS idx_spectra_spectrum_id ON spectra(spectrum_id);
CREATE INDEX IF NOT EXISTS idx_spectra_target_id ON spectra(target_id);
CREATE INDEX IF NOT EXISTS idx_spectra_object_id ON spectra(object_id);
CREATE INDEX IF NOT EXISTS idx_spectra_observation ON spectra(observation);
CREATE INDEX IF NOT EXISTS idx_spectra_grating ON spectra(grating);
CREATE INDEX IF NOT EXISTS idx_spectra_dq_flags ON spectra(dq_flags) WHERE dq_flags != 0;
CREATE TABLE IF NOT EXISTS object_photometry (
    id INTEGER PRIMARY KEY, object_id TEXT, field TEXT, catalog_name TEXT, catalog_id TEXT,
    match_distance_arcsec REAL, photometry TEXT, photo_z REAL, photo_z_err_lo REAL,
    photo_z_err_hi REAL, has_pz INTEGER DEFAULT 0, created_at TEXT, updated_at TEXT,
    _synced_at TEXT);
CREATE INDEX IF NOT EXISTS idx_photometry_object_id ON object_photometry(object_id);
CREATE TABLE IF NOT EXISTS object_lists (
    id INTEGER PRIMARY KEY, slug TEXT UNIQUE NOT NULL, name TEXT NOT NULL, description TEXT,
    visibility TEXT DEFAULT 'private', is_system INTEGER DEFAULT 0,
    member_count INTEGER DEFAULT 0, created_at TEXT, updated_at TEXT);
CREATE TABLE IF NOT EXISTS object_list_memberships (
    object_id TEXT NOT NULL, list_slug TEXT NOT NULL, PRIMARY KEY (object_id, list_slug));
CREATE INDEX IF NOT EXISTS idx_memberships_list_slug ON object_list_memberships(list_slug);
CREATE TABLE IF NOT EXISTS sync_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT, observation TEXT NOT NULL, started_at TEXT NOT NULL,
    completed_at TEXT, files_downloaded INTEGER DEFAULT 0, files_skipped INTEGER DEFAULT 0,
    bytes_downloaded INTEGER DEFAULT 0, status TEXT DEFAULT 'in_progress');
INSERT OR IGNORE INTO _meta(key, value) VALUES ('schema_version', '4');
"""

# numbered migrations: (id, name, SQL). Append only; never edit an applied one.
MIGRATIONS: list[tuple[int, str, str]] = [
    (1, "upstream_v4_layout", _BASE_SCHEMA),
    (
        2,
        "change_counters",
        "INSERT OR IGNORE INTO _meta(key, value) VALUES ('catalog_version', '0'), "
        "('files_version', '0');",
    ),
    (
        3,
        "download_state_index",
        "CREATE INDEX IF NOT EXISTS idx_spectra_local_path ON spectra(local_path) "
        "WHERE local_path IS NOT NULL;",
    ),
]

# synced columns per table (what the server sends and we store); key column first
OBJECT_COLUMNS = (
    "object_id", "id", "field", "ra", "dec", "n_targets", "n_spectra", "programs", "gratings",
    "observations", "member_target_ids", "max_snr", "max_exposure_time", "redshift",
    "redshift_auto", "redshift_inspected", "redshift_quality", "last_inspected_at",
    "last_inspected_by", "last_data_change_at", "staleness_reason", "version", "is_active",
    "has_photometry", "photo_z", "photo_z_err_lo", "photo_z_err_hi", "created_at", "updated_at",
)  # fmt: skip
SPECTRUM_COLUMNS = (
    "spectrum_id", "id", "target_id", "object_id", "grating", "fits_path", "file_hash",
    "file_size", "signal_to_noise", "exposure_time", "reduction_version", "redshift_auto",
    "dq_flags", "program_slug", "observation", "field", "created_at", "updated_at",
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


def utc_now() -> str:
    """The current UTC time as ISO-8601 with ``+00:00`` (the archive's timestamp style).

    Examples
    --------
    >>> utc_now().endswith("+00:00")
    True
    """
    return datetime.now(UTC).isoformat()


@functools.lru_cache(maxsize=64)
def _upsert_sql(feed: str, nrows: int = 1) -> str:
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


class _ProcessLock:
    """``flock`` on a file, re-entrant within one thread, exclusive across threads."""

    _registry: ClassVar[dict[str, _ProcessLock]] = {}
    _guard = threading.Lock()

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rlock = threading.RLock()
        self.depth = 0
        self.fh: Any = None

    @classmethod
    def for_path(cls, path: Path) -> _ProcessLock:
        with cls._guard:
            return cls._registry.setdefault(str(path), cls(path))

    def acquire(self, wait: float, what: str) -> None:
        deadline = time.monotonic() + wait
        if not self.rlock.acquire(timeout=max(wait, 0.0)):
            raise LockError(self._busy_message(None))
        if self.depth == 0:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fh = open(self.path, "a+")  # noqa: SIM115 - held until release()
            while True:
                try:
                    fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        fh.seek(0)
                        holder = fh.read().strip()
                        fh.close()
                        self.rlock.release()
                        raise LockError(self._busy_message(holder)) from None
                    time.sleep(0.05)
            fh.seek(0)
            fh.truncate()
            fh.write(f"pid {os.getpid()}: {what} since {utc_now()[:19]}\n")
            fh.flush()
            self.fh = fh
        self.depth += 1

    def release(self) -> None:
        self.depth -= 1
        if self.depth == 0:
            fcntl.flock(self.fh.fileno(), fcntl.LOCK_UN)
            self.fh.close()
            self.fh = None
        self.rlock.release()

    @staticmethod
    def _busy_message(holder: str | None) -> str:
        who = f" ({holder})" if holder else ""
        return (
            f"Another campfire sync or download is running{who}. "
            "Wait for it to finish, then try again."
        )


class Store:
    """The local SQLite catalog (see the module docstring for the layout).

    Parameters
    ----------
    db_path
        ``<data_dir>/meta/campfire.db``; created (with its folder) when missing.
    create
        When False, a missing database raises :class:`NotFoundError` instead.
    busy_timeout
        Seconds a write waits for another writer before "database is locked".

    Raises
    ------
    SchemaError
        The file holds a catalog of another, incompatible schema version.
    """

    def __init__(
        self, db_path: str | os.PathLike[str], *, create: bool = True, busy_timeout: float = 30.0
    ) -> None:
        self.path = Path(db_path)
        if not self.path.exists():
            if not create:
                raise NotFoundError(f"No local catalog at {self.path}. Run: campfire sync")
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._memberships: dict[str, set[str]] | None = None
        self.conn = sqlite3.connect(self.path, isolation_level=None, timeout=busy_timeout)
        self.conn.row_factory = sqlite3.Row
        self._wal_mode(busy_timeout)
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("PRAGMA foreign_keys=OFF")
        for name, nargs, fn in _SQL_FUNCTIONS:
            self.conn.create_function(name, nargs, fn, deterministic=True)
        try:
            self.migrate()
        except BaseException:
            self.conn.close()
            raise

    def _wal_mode(self, wait: float) -> None:
        """Switch to WAL, retrying while another process opens or closes the file.

        Setting the journal mode does not use SQLite's busy handler: a reader (a query
        snapshot being built, a CSV export) closing the last connection at that moment makes
        it fail at once with "database is locked", so it is retried here for up to ``wait`` s.
        """
        deadline = time.monotonic() + wait
        while True:
            try:
                self.conn.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() >= deadline:
                    self.conn.close()
                    raise
                time.sleep(0.02)

    # -- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

    @property
    def data_dir(self) -> Path:
        """The data directory (the parent of ``meta/``)."""
        return self.path.parent.parent

    @property
    def products_dir(self) -> Path:
        """``<data_dir>/products``, where downloaded FITS files live."""
        return self.data_dir / "products"

    def migrate(self) -> list[str]:
        """Apply the numbered migrations not yet recorded; return their names (idempotent)."""
        c = self.conn
        has_meta = c.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name='_meta'"
        ).fetchone()
        if has_meta:
            row = c.execute("SELECT value FROM _meta WHERE key='schema_version'").fetchone()
            if row is not None and str(row[0]) != SCHEMA_VERSION:
                raise SchemaError(
                    f"The catalog at {self.path} has schema version {row[0]}, but this campfire "
                    f"uses version {SCHEMA_VERSION}. Rebuild it with: campfire sync --full"
                )
        has_log = c.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name='_migrations'"
        ).fetchone()
        if has_log:  # the usual case: check without taking the write lock (a sync may hold it)
            done = {r[0] for r in c.execute("SELECT id FROM _migrations")}
            if done >= {number for number, _, _ in MIGRATIONS}:
                return []
        applied: list[str] = []
        with self.transaction():
            c.execute(
                "CREATE TABLE IF NOT EXISTS _migrations (id INTEGER PRIMARY KEY, "
                "name TEXT NOT NULL, applied_at TEXT NOT NULL)"
            )
            done = {r[0] for r in c.execute("SELECT id FROM _migrations")}
            for number, name, sql in MIGRATIONS:
                if number in done:
                    continue
                for statement in filter(str.strip, sql.split(";")):
                    c.execute(statement)
                c.execute("INSERT INTO _migrations VALUES (?, ?, ?)", (number, name, utc_now()))
                applied.append(name)
        return applied

    @classmethod
    def rebuild(cls, db_path: str | os.PathLike[str]) -> Store:
        """Delete the catalog (and its WAL files) and create an empty one."""
        path = Path(db_path)
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        return cls(path)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on error); nests as a no-op."""
        if self.conn.in_transaction:
            yield self.conn
            return
        self.conn.execute("BEGIN IMMEDIATE")
        self._memberships = None
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    @contextlib.contextmanager
    def lock(self, *, wait: float = 5.0, what: str = "campfire") -> Iterator[None]:
        """Hold ``meta/.lock`` (cross-process); raise :class:`LockError` after ``wait`` s."""
        plock = _ProcessLock.for_path(self.path.parent / ".lock")
        plock.acquire(wait, what)
        try:
            yield
        finally:
            plock.release()

    # -- _meta -------------------------------------------------------------------------------

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        """A ``_meta`` value."""
        row = self.conn.execute("SELECT value FROM _meta WHERE key=?", (key,)).fetchone()
        return default if row is None else row[0]

    def set_meta(self, key: str, value: Any) -> None:
        """Set a ``_meta`` value."""
        self.conn.execute("INSERT OR REPLACE INTO _meta(key, value) VALUES (?, ?)", (key, value))

    def bump(self, counter: str) -> int:
        """Increment ``catalog_version`` or ``files_version``; return the new value."""
        value = int(self.get_meta(counter, "0") or 0) + 1
        self.set_meta(counter, str(value))
        return value

    @property
    def catalog_version(self) -> int:
        """Bumped by every sync that changed the catalog."""
        return int(self.get_meta("catalog_version", "0") or 0)

    @property
    def files_version(self) -> int:
        """Bumped by every download that changed local file state."""
        return int(self.get_meta("files_version", "0") or 0)

    @property
    def last_sync_at(self) -> str | None:
        """When the last successful sync finished (ISO-8601 UTC), or None."""
        return (
            self.get_meta("last_sync_at")
            or self.conn.execute("SELECT MAX(_synced_at) FROM objects").fetchone()[0]
        )

    # -- sync writes -------------------------------------------------------------------------

    def cursor(self, feed: str) -> str | None:
        """The incremental-sync cursor of a feed: the largest ``updated_at`` stored.

        Kept in ``_meta`` (``cursor_<feed>``) by :meth:`upsert`, so reading it needs no scan;
        a catalog without it (one the upstream client wrote) falls back to ``MAX(updated_at)``.
        """
        value = self.get_meta(f"cursor_{feed}")
        if value is None:
            table = TABLES[feed][0]
            value = self.conn.execute(f"SELECT MAX(updated_at) FROM {table}").fetchone()[0]
        return str(value) if value else None

    def count(self, feed: str) -> int:
        """Rows stored for a feed (objects counts active ones only)."""
        table = TABLES[feed][0]
        where = " WHERE is_active = 1" if feed == "objects" else ""
        return int(self.conn.execute(f"SELECT COUNT(*) FROM {table}{where}").fetchone()[0])

    def upsert(
        self,
        feed: str,
        rows: list[dict[str, Any]],
        stamp: str,
        *,
        prepared: PreparedRows | None = None,
    ) -> int:
        """Insert or update synced rows; return how many rows actually changed.

        Rows equal to what is stored are left untouched (and not counted). For objects the
        ``lists`` slugs replace the object's memberships. ``prepared`` is
        ``prepare_rows(feed, rows, stamp)`` computed beforehand (by a sync's fetch thread, so
        the conversion overlaps the previous page's writes).
        """
        if not rows:
            return 0
        table, key, columns = TABLES[feed]
        if prepared is None:
            prepared = prepare_rows(feed, rows, stamp)
        values = prepared.values
        cursor = self.cursor(feed) if feed != "lists" else None  # read before writing
        before = self.conn.total_changes
        try:
            self._execute_rows(feed, values)
        except sqlite3.IntegrityError:
            if key == "id":
                raise
            self._move_reused_ids(table, key, columns, values)
            self._execute_rows(feed, values)
        changed = self.conn.total_changes - before
        if feed == "objects":
            changed += self._replace_memberships(rows)
        if feed != "lists":
            newest = prepared.newest
            if newest and newest > (cursor or ""):
                self.set_meta(f"cursor_{feed}", newest)
        return changed

    def _execute_rows(self, feed: str, values: list[tuple[Any, ...]]) -> None:
        """Run the feed's upsert over ``values``, many rows per statement.

        Python's sqlite3 gives up and retakes the GIL around every statement it steps; one
        statement per row makes the inserts crawl while a fetch thread parses JSON, so rows
        go in batches of up to 256 (within SQLite's limit on bound parameters).
        """
        if not values:
            return
        ncols = len(values[0])
        limit = self.conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        per = max(1, min(1024, limit // ncols))
        whole = len(values) - len(values) % per
        flat = itertools.chain.from_iterable
        if whole:
            self.conn.executemany(
                _upsert_sql(feed, per),
                (tuple(flat(values[i : i + per])) for i in range(0, whole, per)),
            )
        if whole < len(values):
            rest = values[whole:]
            self.conn.execute(_upsert_sql(feed, len(rest)), tuple(flat(rest)))

    @contextlib.contextmanager
    def bulk_load(self, feed: str) -> Iterator[None]:
        """Load an empty table faster: its secondary indexes are dropped, then rebuilt at the
        end (inside the caller's transaction, so a failure restores them too).
        """
        table = TABLES[feed][0]
        empty = self.conn.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone() is None
        indexes = []
        if empty and self.conn.in_transaction:
            indexes = self.conn.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
                "AND sql IS NOT NULL",
                (table,),
            ).fetchall()
            for name, _ in indexes:
                self.conn.execute(f"DROP INDEX {name}")
        yield
        for _, sql in indexes:
            self.conn.execute(sql)

    def _move_reused_ids(
        self, table: str, key: str, columns: tuple[str, ...], values: list[tuple[Any, ...]]
    ) -> None:
        """Give rows whose server ``id`` now belongs to another key a negative local id."""
        ki, ii = columns.index(key), columns.index("id")
        incoming = {v[ii]: v[ki] for v in values if v[ii] is not None}
        for chunk in _chunks(list(incoming), 500):
            marks = ",".join("?" * len(chunk))
            for rid, rkey in self.conn.execute(
                f"SELECT id, {key} FROM {table} WHERE id IN ({marks})", chunk
            ).fetchall():
                if incoming[rid] != rkey:
                    self.conn.execute(
                        f"UPDATE {table} SET id = (SELECT MIN(0, MIN(id)) - 1 FROM {table}) "
                        f"WHERE {key} = ?",
                        (rkey,),
                    )

    def _replace_memberships(self, rows: list[dict[str, Any]]) -> int:
        if not self.conn.in_transaction:
            self._memberships = None  # no transaction: another writer may have changed them
        if self._memberships is None:  # read once per transaction, then kept current
            self._memberships = {}
            for oid, slug in self.conn.execute(
                "SELECT object_id, list_slug FROM object_list_memberships"
            ):
                self._memberships.setdefault(oid, set()).add(slug)
        have = self._memberships
        gone, new = [], []
        for r in rows:
            oid = r["object_id"]
            want = set(_slugs(r.get("lists")))
            old = have.get(oid, set())
            if want != old:
                gone += [(oid, s) for s in old - want]
                new += [(oid, s) for s in want - old]
                have[oid] = want
        self.conn.executemany(
            "DELETE FROM object_list_memberships WHERE object_id=? AND list_slug=?", gone
        )
        self.conn.executemany("INSERT INTO object_list_memberships VALUES (?, ?)", new)
        return len(gone) + len(new)

    def delete(self, feed: str, keys: list[Any]) -> list[str]:
        """Delete rows by key; return local paths of deleted spectra that were downloaded."""
        table, key, _ = TABLES[feed]
        orphans: list[str] = []
        for chunk in _chunks(list(keys), 500):
            marks = ",".join("?" * len(chunk))
            if feed == "spectra":
                orphans += [
                    r[0]
                    for r in self.conn.execute(
                        f"SELECT local_path FROM spectra WHERE spectrum_id IN ({marks}) "
                        "AND local_path IS NOT NULL",
                        chunk,
                    )
                ]
            self.conn.execute(f"DELETE FROM {table} WHERE {key} IN ({marks})", chunk)
            if feed == "objects":
                self.conn.execute(
                    f"DELETE FROM object_list_memberships WHERE object_id IN ({marks})", chunk
                )
                for k in chunk:
                    if self._memberships is not None:
                        self._memberships.pop(k, None)
        return orphans

    def keys_not_in(self, feed: str, seen: set[Any]) -> list[Any]:
        """Stored keys of a feed that are not in ``seen`` (for the full-sync purge)."""
        table, key, _ = TABLES[feed]
        return [r[0] for r in self.conn.execute(f"SELECT {key} FROM {table}") if r[0] not in seen]

    def fill_observations(self) -> None:
        """Fill ``objects.observations`` from local spectra where the server did not send it."""
        self.conn.execute(
            "UPDATE objects SET observations = (SELECT group_concat(observation, ';') FROM "
            "(SELECT DISTINCT s.observation FROM spectra s WHERE s.object_id = objects.object_id "
            "AND s.observation IS NOT NULL ORDER BY s.observation)) "
            "WHERE observations IS NULL OR observations = ''"
        )

    # -- download state ----------------------------------------------------------------------

    def record_download(
        self,
        spectrum_id: str,
        local_path: str,
        file_hash: str,
        size: int,
        mtime: float,
        *,
        server_hash: str | None = None,
    ) -> None:
        """Record a verified local file of a spectrum (``local_*``, ``synced_at``).

        ``server_hash`` (the manifest's ``file_hash``, when it is newer than the catalog's)
        replaces the catalog's server hash, so the file does not look stale.
        """
        self.conn.execute(
            "UPDATE spectra SET local_path=?, local_file_hash=?, local_file_size=?, "
            "local_file_mtime=?, synced_at=?, file_hash=COALESCE(?, file_hash), "
            "file_size=COALESCE(file_size, ?) WHERE spectrum_id=?",
            (local_path, file_hash, size, mtime, utc_now(), server_hash, size, spectrum_id),
        )

    def forget_downloads(self, spectrum_ids: list[str]) -> None:
        """Clear the ``local_*`` columns of spectra whose files are gone or altered."""
        self.conn.executemany(
            "UPDATE spectra SET local_path=NULL, local_file_hash=NULL, local_file_size=NULL, "
            "local_file_mtime=NULL, synced_at=NULL WHERE spectrum_id=?",
            [(s,) for s in spectrum_ids],
        )

    def check_local_files(self) -> list[str]:
        """Forget downloads whose file is missing or changed size on disk; return their ids.

        Only ``stat`` is used (no hashing), so this is cheap for thousands of files.
        """
        gone = []
        for sid, rel, size in self.conn.execute(
            "SELECT spectrum_id, local_path, local_file_size FROM spectra "
            "WHERE local_path IS NOT NULL"
        ).fetchall():
            try:
                st = (self.products_dir / rel).stat()
            except OSError:
                gone.append(sid)
                continue
            if size is not None and st.st_size != size:
                gone.append(sid)
        if gone:
            with self.transaction():
                self.forget_downloads(gone)
                self.bump("files_version")
        return gone

    def stale_files(self) -> list[str]:
        """Local paths whose server ``file_hash`` differs from the downloaded file's hash."""
        return [
            r[0]
            for r in self.conn.execute(
                "SELECT local_path FROM spectra WHERE local_path IS NOT NULL AND file_hash IS NOT "
                "NULL AND local_file_hash IS NOT file_hash ORDER BY local_path"
            )
        ]

    def observation_count(self) -> int:
        """Distinct observations among the local spectra."""
        return int(
            self.conn.execute(
                "SELECT COUNT(DISTINCT observation) FROM spectra WHERE observation IS NOT NULL"
            ).fetchone()[0]
        )


def _chunks(items: list[Any], n: int) -> Iterator[list[Any]]:
    for i in range(0, len(items), n):
        yield items[i : i + n]


def _slugs(value: Any) -> list[str]:
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
        g("updated_at"),
    )  # fmt: skip


def _spectrum_row(r: dict[str, Any]) -> tuple[Any, ...]:
    g = r.get
    oid = g("object_id")
    return (
        r["spectrum_id"], g("id"), g("target_id"),
        g("parent_object_id") if oid is None else oid, g("grating"), g("fits_path"),
        g("file_hash"), g("file_size"), g("signal_to_noise"), g("exposure_time"),
        g("reduction_version"), g("redshift_auto"), g("dq_flags") or 0, g("program_slug"),
        g("observation"), g("field"), g("created_at"), g("updated_at"),
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
    """Convert a feed's rows to what :meth:`Store.upsert` binds (thread-safe, no database).

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


_SQL_FUNCTIONS = [
    ("COS", 1, _num(math.cos)),
    ("SQRT", 1, _num(math.sqrt)),
    ("RADIANS", 1, _num(math.radians)),
    ("POWER", 2, _num(math.pow)),
]
