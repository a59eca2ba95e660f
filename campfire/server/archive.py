"""An archive directory: ``archive.db`` (SQLite, WAL) plus its file store (default ``store/``;
or an S3-compatible bucket, ``store="s3://bucket/prefix"``, remembered in the database so later
opens without ``store=`` find it).

The catalog may live in PostgreSQL instead (``Archive(root, database="postgresql://...")``):
the directory then keeps the URL in ``database.url`` (``0600``), so later opens of the same
directory without ``database=`` (``campfire admin``, ``deploy``, ``serve``) reach the same
database, and holds no ``archive.db``.

The database holds the signing secret, password hashes and the private catalog, so only the
server's own user may read it: the directory is made ``0700`` and the database (with its
``-wal`` and ``-shm`` files) ``0600``, whatever the umask. An existing archive that is more
open than that is tightened when it is opened, with a warning in the server log.

Examples
--------
>>> import tempfile
>>> archive = Archive(tempfile.mkdtemp())
>>> archive.store.root.name, archive.db.path.name
('store', 'archive.db')
>>> len(archive.secret)
32
>>> oct(archive.root.stat().st_mode & 0o777), oct(archive.db.path.stat().st_mode & 0o777)
('0o700', '0o600')
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from campfire.server.storage.database import Database, utc_now
from campfire.server.storage.filestore import FileStore
from campfire.server.storage.storeurl import open_store

__all__ = ["Archive", "archive_database", "has_catalog", "is_archive", "secure_archive_dir"]

log = logging.getLogger("campfire.server")
DIR_MODE, DB_MODE = 0o700, 0o600
#: the file in an archive directory naming its database when that is not ``archive.db``
DATABASE_FILE = "database.url"


def archive_database(root: Path, database: str | os.PathLike[str] | None = None) -> str | Path:
    """The database of archive directory ``root``: ``database`` when given (remembered in
    ``root/database.url`` unless it is the default file), else the one ``database.url``
    names, else ``root/archive.db``.

    Examples
    --------
    >>> import tempfile
    >>> archive_database(Path(tempfile.mkdtemp())).name
    'archive.db'
    """
    default = root / "archive.db"
    pointer = root / DATABASE_FILE
    if database is None:
        if pointer.is_file():
            return pointer.read_text().strip()
        return default
    value: str | Path = database if isinstance(database, str) else Path(database)
    if value in (default, f"sqlite:///{default}", str(default)):
        pointer.unlink(missing_ok=True)
        return default
    root.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    fd = os.open(pointer, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, DB_MODE)
    with os.fdopen(fd, "w") as f:
        f.write(f"{value}\n")
    return value


def secure_archive_dir(root: Path, *, with_db: bool = True) -> list[str]:
    """Create ``root`` and ``archive.db`` private to this user, or tighten them; return what
    was tightened (each ``"<path> 0o755 -> 0o700"``), also logged at WARNING.

    Examples
    --------
    >>> import tempfile
    >>> secure_archive_dir(Path(tempfile.mkdtemp()) / "new")
    []
    """
    root.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    db = root / "archive.db"
    existed = db.exists() or (root / DATABASE_FILE).exists()
    if not existed and with_db:  # SQLite gives its -wal and -shm files the database file's mode
        os.close(os.open(db, os.O_CREAT | os.O_WRONLY, DB_MODE))
    changed = []
    wanted = [(root, DIR_MODE), (root / DATABASE_FILE, DB_MODE)] + [
        (Path(f"{db}{suffix}"), DB_MODE) for suffix in ("", "-wal", "-shm")
    ]
    for path, mode in wanted:
        try:
            have = stat.S_IMODE(path.stat().st_mode)
        except FileNotFoundError:
            continue
        if have & 0o077:
            path.chmod(mode)
            changed.append(f"{path} {oct(have)} -> {oct(mode)}")
    if changed and existed:  # a new archive's folder (made by a caller) is set silently
        log.warning(
            "The archive was readable by other local users (it holds the signing secret and "
            "password hashes); tightened: %s",
            "; ".join(changed),
        )
    return changed


def is_archive(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` already holds an archive (an ``archive.db``, or a ``database.url``
    naming its database elsewhere).
    """
    return (Path(path) / "archive.db").is_file() or (Path(path) / DATABASE_FILE).is_file()


def has_catalog(path: str | os.PathLike[str], database: str | None = None) -> bool:
    """Whether the archive at ``path`` (with its catalog in ``database``, when named) holds
    anything deployed: without ``database``, :func:`is_archive`; with it, whether that
    database has a program.
    """
    if database is None:
        return is_archive(path)
    db = Database(database)
    try:
        return db.conn().execute("SELECT 1 FROM programs LIMIT 1").fetchone() is not None
    finally:
        db.close()


def _rerender(db: Database) -> None:
    """Render every row's sync JSON again after a migration that changed its shape (the rows
    that change move ``updated_at``, so incremental clients fetch the new shape).
    """
    from campfire.server.catalog.rows import refresh_objects, refresh_spectra

    with db.transaction() as conn:
        now = utc_now()
        pks = [r[0] for r in conn.execute("SELECT id FROM objects WHERE sync_json IS NOT NULL")]
        refresh_objects(conn, pks, now, bump_version=False)
        spk = [r[0] for r in conn.execute("SELECT id FROM spectra WHERE sync_json IS NOT NULL")]
        refresh_spectra(conn, spk, now, bump_version=False)


class Archive:
    """The database and file store of one archive directory (created when missing).

    Parameters
    ----------
    root
        The archive directory.
    store
        The file store: a URL (``file:///dir``, ``s3://bucket/prefix``) or an open
        :class:`~campfire.server.storage.filestore.FileStore`. Default: the store this archive
        was last opened with, else ``<root>/store``.
    secret
        Use this server secret instead of the archive's own (e.g. from a deployment's env).
    database
        The catalog database: ``sqlite:///path``, a path, or ``postgresql://user@host:port/db``
        (see :func:`archive_database`; default: the directory's own).
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        secret: str | bytes | None = None,
        database: str | os.PathLike[str] | None = None,
        store: str | FileStore | None = None,
    ) -> None:
        self._secret = secret.encode() if isinstance(secret, str) else secret
        self.root = Path(root).expanduser().resolve()
        where = archive_database(self.root, database)
        secure_archive_dir(self.root, with_db=where == self.root / "archive.db")
        self.db = Database(where)
        self.store = self._open_store(store)
        if "0003_inspections" in self.db.applied:
            _rerender(self.db)

    def _open_store(self, store: str | FileStore | None) -> FileStore:
        default = self.root / "store"
        if store is None:
            return open_store(self.db.meta("store_url"), default=default)
        opened = open_store(store, default=default) if isinstance(store, str) else store
        url = "" if opened.url == default.as_uri() else opened.url  # "": the default
        if (self.db.meta("store_url") or "") != url:
            self.db.set_meta("store_url", url)
        return opened

    @property
    def secret(self) -> bytes:
        """The server secret (random per archive, kept in the database)."""
        if self._secret is not None:
            return self._secret
        value = self.db.meta("secret")
        assert value is not None
        return bytes.fromhex(value)

    @property
    def uploads_dir(self) -> Path:
        """Where remote deploys stage their uploads."""
        return self.root / "uploads"

    def close(self) -> None:
        """Close the database connections."""
        self.db.close()

    def __repr__(self) -> str:
        return f"Archive({str(self.root)!r})"
