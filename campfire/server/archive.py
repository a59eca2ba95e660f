"""An archive directory: ``archive.db`` (SQLite, WAL) plus ``store/`` (the file store).

Examples
--------
>>> import tempfile
>>> archive = Archive(tempfile.mkdtemp())
>>> archive.store.root.name, archive.db.path.name
('store', 'archive.db')
>>> len(archive.secret)
32
"""

from __future__ import annotations

import os
from pathlib import Path

from campfire.server.storage.database import Database, utc_now
from campfire.server.storage.filestore import LocalFileStore

__all__ = ["Archive", "is_archive"]


def is_archive(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` already holds an archive (an ``archive.db``)."""
    return (Path(path) / "archive.db").is_file()


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
    secret
        Use this server secret instead of the archive's own (e.g. from a deployment's env).
    """

    def __init__(self, root: str | os.PathLike[str], *, secret: str | bytes | None = None) -> None:
        self._secret = secret.encode() if isinstance(secret, str) else secret
        self.root = Path(root).expanduser().resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.db = Database(self.root / "archive.db")
        self.store = LocalFileStore(self.root / "store")
        if "0003_inspections" in self.db.applied:
            _rerender(self.db)

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
