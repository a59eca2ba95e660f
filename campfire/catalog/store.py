"""The local catalog: ``<data_dir>/meta/campfire.db``, an SQLite file in WAL mode.

:class:`Store` is the catalog's one writer: its connection and transactions, the ``_meta``
values and change counters, sync upserts and deletions, and download state. What it builds on
sits beside it: :mod:`campfire.catalog.schema` (tables and numbered migrations),
:mod:`campfire.catalog.rows` (synced rows converted for the upsert),
:mod:`campfire.catalog.lock` (the cross-process lock ``meta/.lock``, held by sync and
download). Reads for the client live in :mod:`campfire.catalog.reader`, reads for download
planning in :mod:`campfire.catalog.downloads`.

The ``_meta`` counters ``catalog_version`` (bumped by every sync that changed anything) and
``files_version`` (bumped by every download that changed local file state), plus
``last_sync_at``, tell the DuckDB query layer when to refresh.

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
import os
import shutil
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from campfire.catalog import outbox
from campfire.catalog.downloads import observation_count, stale_files
from campfire.catalog.lock import ProcessLock
from campfire.catalog.rows import (
    SQL_FUNCTIONS,
    TABLES,
    PreparedRows,
    chunks,
    execute_rows,
    move_reused_ids,
    prepare_rows,
    slugs,
)
from campfire.catalog.schema import ACTIVE_OBJECT, damaged_message, is_damage, migrate, utc_now
from campfire.errors import CorruptCatalogError, NotFoundError

__all__ = ["Store"]


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
    CorruptCatalogError
        The file is damaged (not a database, truncated, malformed).
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
        try:
            self._wal_mode(busy_timeout)
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute("PRAGMA foreign_keys=OFF")
            for name, nargs, fn in SQL_FUNCTIONS:
                self.conn.create_function(name, nargs, fn, deterministic=True)
            self.migrate()
        except BaseException as exc:
            self.conn.close()
            if isinstance(exc, sqlite3.DatabaseError) and is_damage(exc):
                raise CorruptCatalogError(damaged_message(self.path, exc)) from None
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
        return migrate(self.conn, self.path, self.transaction)

    @staticmethod
    def set_aside(db_path: str | os.PathLike[str]) -> Path:
        """Rename a damaged catalog (and its WAL files) to ``campfire.db.damaged-<UTC time>``,
        kept for a post-mortem; return the new name of the database file. Its unsent writes
        are first kept in a side file, for the next sync to queue again.
        """
        path = Path(db_path)
        outbox.keep_aside(path)
        _drop_snapshots(path)
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        aside = path.with_name(f"{path.name}.damaged-{stamp}")
        for suffix in ("", "-wal", "-shm"):
            src = Path(str(path) + suffix)
            if src.exists():
                src.replace(Path(str(aside) + suffix))
        return aside

    @classmethod
    def rebuild(cls, db_path: str | os.PathLike[str]) -> Store:
        """Delete the catalog (and its WAL files) and create an empty one; its unsent writes are
        kept in a side file first, for the next sync to queue again.
        """
        path = Path(db_path)
        outbox.keep_aside(path)
        _drop_snapshots(path)
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        return cls(path)

    def release_memory(self) -> None:
        """Give back what a sync's writes left in memory: the memberships kept for the
        transaction and SQLite's page cache (both come back when next needed).
        """
        self._memberships = None
        self.conn.execute("PRAGMA shrink_memory")

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
        plock = ProcessLock.for_path(self.path.parent / ".lock")
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

    def has_rows(self, feed: str) -> bool:
        """Whether a feed's table holds any row (without counting them)."""
        table = TABLES[feed][0]
        return self.conn.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone() is not None

    def count(self, feed: str) -> int:
        """Rows stored for a feed (objects counts active ones only)."""
        table = TABLES[feed][0]
        where = f" WHERE {ACTIVE_OBJECT}" if feed == "objects" else ""
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
            execute_rows(self.conn, feed, values)
        except sqlite3.IntegrityError:
            if key == "id":
                raise
            move_reused_ids(self.conn, table, key, columns, values)
            execute_rows(self.conn, feed, values)
        changed = self.conn.total_changes - before
        if feed == "objects":
            changed += self._replace_memberships(rows)
        if feed != "lists":
            newest = prepared.newest
            if newest and newest > (cursor or ""):
                self.set_meta(f"cursor_{feed}", newest)
        return changed

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
            want = set(slugs(r.get("lists")))
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
        for chunk in chunks(list(keys), 500):
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
            "WHERE (observations IS NULL OR observations = '') AND EXISTS (SELECT 1 FROM spectra "
            "s WHERE s.object_id = objects.object_id AND s.observation IS NOT NULL)"
        )  # objects with nothing to fill are not written (nor noted as changed)

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
        return stale_files(self.conn)

    def observation_count(self) -> int:
        """Distinct observations among the local spectra."""
        return observation_count(self.conn)

    # -- the download log (sync_log, as upstream names it) -----------------------------------

    def begin_download_log(self, observation: str) -> int:
        """Open a ``sync_log`` row for a download of ``observation``; return its id."""
        cur = self.conn.execute(
            "INSERT INTO sync_log (observation, started_at) VALUES (?, ?)", (observation, utc_now())
        )
        return int(cur.lastrowid or 0)

    def end_download_log(
        self, log_id: int, *, downloaded: int, skipped: int, nbytes: int, failed: int
    ) -> None:
        """Close a ``sync_log`` row: files downloaded and skipped, bytes, and the status."""
        self.conn.execute(
            "UPDATE sync_log SET completed_at=?, files_downloaded=?, files_skipped=?, "
            "bytes_downloaded=?, status=? WHERE id=?",
            (utc_now(), downloaded, skipped, nbytes, "failed" if failed else "completed", log_id),
        )


def _drop_snapshots(db_path: Path) -> None:
    """Delete the query snapshots of a catalog being replaced: a new catalog counts its versions
    from 0 again, so an old ``catalog-c1-f0.duckdb`` would pass for the new one's version 1.
    """
    shutil.rmtree(db_path.parent / "snapshot", ignore_errors=True)
