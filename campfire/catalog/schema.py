"""The local catalog's schema: its tables, numbered migrations and what "usable" means.

The tables and columns are exactly those of contract section 8 (``_meta``, ``objects``,
``spectra``, ``object_photometry``, ``object_lists``, ``object_list_memberships``,
``sync_log``). ``_meta.schema_version`` stays ``'4'`` (the upstream layout we are a superset
of); our own changes are numbered migrations recorded in ``_migrations(id, name, applied_at)``
and applied by :func:`migrate`, which is idempotent, so an upstream-made catalog is adopted in
place. Migrations 4 and 5 add what inspecting needs: the ``outbox`` of writes not yet confirmed
by the archive, a ``comments`` table, ``spectra.version`` and ``objects.last_inspected_by_name``.
Timestamps are ISO-8601 UTC text (:func:`utc_now`). :data:`ACTIVE_OBJECT` is the one definition
of an object the archive still lists.

Examples
--------
>>> SCHEMA_VERSION, [name for _, name, _ in MIGRATIONS][:2]
('4', ['upstream_v4_layout', 'change_counters'])
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from campfire.errors import SchemaError

__all__ = [
    "ACTIVE_OBJECT",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "damage",
    "damaged_message",
    "is_damage",
    "migrate",
    "unusable",
    "utc_now",
]

#: SQL condition true for an object the archive still lists (NULL, as upstream writes it, is
#: active). Every count, lookup and export of "the objects" uses it.
ACTIVE_OBJECT = "coalesce(is_active, 1) <> 0"

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

# the writes accepted locally and not yet confirmed by the archive (docs/inspecting.md): one
# row per write, in order, with the idempotency key it is always sent with; plus the columns
# the inspections extension adds to synced rows (a filled catalog's version is bumped, so a
# query snapshot kept without them is not loaded again)
_OUTBOX = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT UNIQUE NOT NULL, kind TEXT NOT NULL,
    target TEXT NOT NULL, payload TEXT NOT NULL, previous TEXT,
    state TEXT NOT NULL DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL, sent_at TEXT, error TEXT, theirs TEXT);
CREATE INDEX IF NOT EXISTS idx_outbox_target ON outbox(target);
ALTER TABLE spectra ADD COLUMN version INTEGER;
ALTER TABLE objects ADD COLUMN last_inspected_by_name TEXT;
UPDATE _meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'catalog_version'
    AND EXISTS (SELECT 1 FROM objects);
"""
# object comments: synced from /sync/comments (``id`` is the archive's) and written locally
# (``id`` NULL and ``outbox_key`` set until the archive has it)
_COMMENTS = """
CREATE TABLE IF NOT EXISTS comments (
    id INTEGER UNIQUE, object_id TEXT NOT NULL, user_id TEXT, user_name TEXT,
    body TEXT NOT NULL, created_at TEXT, updated_at TEXT, outbox_key TEXT UNIQUE,
    _synced_at TEXT);
CREATE INDEX IF NOT EXISTS idx_comments_object_id ON comments(object_id);
"""
# which objects each catalog version changed (campfire.catalog.changes): the query tables
# patch those rows instead of reloading every table; a NULL row marks a version as recorded
_CHANGES = """
CREATE TABLE IF NOT EXISTS _catalog_changes (version INTEGER NOT NULL, object_id TEXT);
CREATE INDEX IF NOT EXISTS idx_catalog_changes ON _catalog_changes(version);
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
    (4, "inspection_outbox", _OUTBOX),
    (5, "object_comments", _COMMENTS),
    (6, "catalog_changes", _CHANGES),
]


_ADD_COLUMN = re.compile(r"\s*ALTER TABLE (\w+) ADD COLUMN (\w+)", re.IGNORECASE)


def utc_now() -> str:
    """The current UTC time as ISO-8601 with ``+00:00`` (the archive's timestamp style).

    Examples
    --------
    >>> utc_now().endswith("+00:00")
    True
    """
    return datetime.now(UTC).isoformat()


def migrate(
    conn: sqlite3.Connection,
    path: Path,
    transaction: Callable[[], AbstractContextManager[Any]],
) -> list[str]:
    """Apply the numbered migrations not yet recorded; return their names (idempotent).

    Raises
    ------
    SchemaError
        The file holds a catalog of another schema version.

    Examples
    --------
    >>> migrate(store.conn, store.path, store.transaction)  # doctest: +SKIP
    []
    """
    c = conn
    has_meta = c.execute(
        "SELECT 1 FROM sqlite_master WHERE type='table' AND name='_meta'"
    ).fetchone()
    if has_meta:
        row = c.execute("SELECT value FROM _meta WHERE key='schema_version'").fetchone()
        if row is not None and str(row[0]) != SCHEMA_VERSION:
            raise SchemaError(
                f"The catalog at {path} has schema version {row[0]}, but this campfire "
                f"uses version {SCHEMA_VERSION} (a sync rebuilds it: cf.sync() or campfire sync)."
            )
    has_log = c.execute(
        "SELECT 1 FROM sqlite_master WHERE type='table' AND name='_migrations'"
    ).fetchone()
    if has_log:  # the usual case: check without taking the write lock (a sync may hold it)
        done = {r[0] for r in c.execute("SELECT id FROM _migrations")}
        if done >= {number for number, _, _ in MIGRATIONS}:
            return []
    applied: list[str] = []
    with transaction():
        c.execute(
            "CREATE TABLE IF NOT EXISTS _migrations (id INTEGER PRIMARY KEY, "
            "name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        done = {r[0] for r in c.execute("SELECT id FROM _migrations")}
        for number, name, sql in MIGRATIONS:
            if number in done:
                continue
            for statement in filter(str.strip, sql.split(";")):
                added = _ADD_COLUMN.match(statement)
                if added and added.group(2) in {
                    r[1] for r in c.execute(f"PRAGMA table_info({added.group(1)})")
                }:
                    continue  # adopting a catalog that has it already
                c.execute(statement)
            c.execute("INSERT INTO _migrations VALUES (?, ?, ?)", (number, name, utc_now()))
            applied.append(name)
    return applied


def unusable(db: Path) -> str | None:
    """Why the catalog at ``db`` cannot serve queries, or None if it can (read-only check).

    Examples
    --------
    >>> unusable(Path("/nowhere/campfire.db"))  # doctest: +ELLIPSIS
    'is unreadable (...)'
    """
    try:
        con = sqlite3.connect(f"file:{db.as_posix()}?mode=ro", uri=True)
        try:
            row = con.execute("SELECT value FROM _meta WHERE key='schema_version'").fetchone()
            if row is None or str(row[0]) != SCHEMA_VERSION:
                version = None if row is None else row[0]
                return f"has schema {version}, not {SCHEMA_VERSION} (the next sync rebuilds it)"
            synced = con.execute(
                "SELECT 1 FROM _meta WHERE key='last_sync_at' UNION ALL "
                "SELECT 1 FROM (SELECT 1 FROM objects LIMIT 1)"
            ).fetchone()
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        return f"is unreadable ({exc})"
    if synced is None:
        return "has never completed a sync"
    return None


def is_damage(exc: sqlite3.DatabaseError) -> bool:
    """Whether an SQLite error means the file itself is damaged (not locked, busy or missing).

    Examples
    --------
    >>> is_damage(sqlite3.DatabaseError("file is not a database"))
    True
    >>> is_damage(sqlite3.OperationalError("database is locked"))
    False
    """
    text = str(exc).lower()
    return not any(
        word in text for word in ("locked", "busy", "unable to open", "readonly", "no such")
    )


def damaged_message(db: Path, exc: BaseException | str) -> str:
    """The one line a damaged catalog gets: what is wrong and the command that mends it."""
    return (
        f"The local catalog {db} is damaged ({exc}). Run: campfire sync --full (it moves the "
        "damaged file aside and rebuilds the catalog; downloaded files are kept and re-hashed, "
        "not downloaded again)."
    )


def damage(db: Path, *, thorough: bool = False) -> str | None:
    """What is damaged in the catalog file at ``db`` (read-only), or None if it reads well.

    The quick test reads the schema and ``_meta``; ``thorough`` adds SQLite's
    ``PRAGMA quick_check`` over every page (what ``campfire sync --full`` runs first).

    Examples
    --------
    >>> damage(Path("/nowhere/campfire.db")) is None
    True
    """
    if not db.exists():
        return None
    try:
        con = sqlite3.connect(f"file:{db.as_posix()}?mode=ro", uri=True)
        try:
            con.execute("SELECT count(*) FROM sqlite_master").fetchone()
            con.execute("SELECT * FROM _meta").fetchall()
            if thorough:
                result = [r[0] for r in con.execute("PRAGMA quick_check").fetchall()]
                if result != ["ok"]:
                    return "; ".join(result[:3])
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        return str(exc) if is_damage(exc) else None
    return None
