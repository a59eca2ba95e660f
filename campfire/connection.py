"""The plumbing every part of the :class:`~campfire.client.Campfire` client shares.

``Campfire`` is assembled from one class per concern, each in its own module and each a
subclass of :class:`Connection`, which holds the client's state and the decisions they all
need: where the settings and data directory are, the archive's API client (made on first use,
so local work needs no login), the local catalog (reopened when a sync rebuilds it, and ignored,
with one logged reason, when it cannot be used), and the offline rule (``CAMPFIRE_OFFLINE=1``
turns a network attempt into :class:`~campfire.errors.OfflineError`)::

    Connection                      campfire/connection.py   settings, api, catalog, offline
    ├── Records(Connection)         campfire/records.py      get_object, get_spectrum, metadata
    │   ├── Queries(Records)        campfire/queries.py      query_* and iter_*, local or remote
    │   └── Products(Records)       campfire/products.py     open_spectrum, fit data
    └── Cutouts(Connection)         campfire/cutouts.py      cutouts, shutters, plot_cutout
    Campfire(Queries, Products, Cutouts)  campfire/client.py  sync, download, sql, reprs

Every module logs to ``campfire.client``, the logger the user documentation names.

Examples
--------
>>> from campfire import Campfire
>>> cf = Campfire(data_dir="/data/campfire")  # doctest: +SKIP
>>> cf.catalog is None  # doctest: +SKIP
False
"""

from __future__ import annotations

import logging
import os
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

from campfire.archive.wire import DEFAULT_LIMIT
from campfire.catalog.engine import Catalog
from campfire.config import Settings
from campfire.errors import OfflineError

if TYPE_CHECKING:
    from campfire.archive.api import ApiClient
    from campfire.catalog.store import Store
    from campfire.models.data import SpectrumData

__all__ = ["Connection"]

log = logging.getLogger("campfire.client")


def _stat(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)


def _unusable(db: Path) -> str | None:
    """Why the catalog at ``db`` cannot serve queries, or None if it can."""
    from campfire.catalog.store import SCHEMA_VERSION

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


class Connection:
    """The client's settings, archive connection and local catalog (see the module docstring).

    Parameters are those of :class:`~campfire.client.Campfire`, which documents them.

    Examples
    --------
    >>> conn = Connection(data_dir="/data/campfire")  # doctest: +SKIP
    >>> conn.is_local  # doctest: +SKIP
    True
    """

    def __init__(
        self,
        base_url: str | None = None,
        data_dir: str | os.PathLike[str] | None = None,
        auto_refresh: bool = True,
    ) -> None:
        self.settings = Settings.from_env().with_overrides(base_url=base_url, data_dir=data_dir)
        self.auto_refresh = auto_refresh
        #: rows per request when iter_* pages through the archive
        self.page_size = DEFAULT_LIMIT
        self._api: ApiClient | None = None
        self._catalog: Catalog | None = None
        self._catalog_inode: int | None = None
        self._remote_vocab: dict[str, list[str]] | None = None
        self._metadata: dict[str, Any] | None = None
        self._fetched: dict[str, Path] = {}  # spectrum_id -> file fetched without a catalog
        self._opened: dict[tuple[str, int, int], SpectrumData] = {}  # recent reads (LRU)
        self._rejected: tuple[Any, ...] | None = None  # stat of a catalog found unusable

    @property
    def data_dir(self) -> Path:
        """The data directory."""
        return self.settings.data_dir

    @property
    def api(self) -> ApiClient:
        """The archive client (created on first use, so local work needs no login)."""
        if self._api is None:
            from campfire.archive.api import ApiClient
            from campfire.archive.auth import FileCredentialProvider, provider_for

            provider = provider_for(self.settings)
            if not self.auto_refresh and isinstance(provider, FileCredentialProvider):
                provider = _NoRefresh(provider)
            self._api = ApiClient(self.settings, provider)
        return self._api

    def _online(self, what: str) -> ApiClient:
        if self.settings.offline:
            raise OfflineError(
                f"{what} needs the archive, but CAMPFIRE_OFFLINE=1 forbids network access. "
                "Unset CAMPFIRE_OFFLINE, or work from the synced catalog (cf.sync() when online)."
            )
        return self.api

    @property
    def catalog(self) -> Catalog | None:
        """The local catalog, or None when there is none or it cannot be used (logged once)."""
        db = self.settings.db_path
        try:
            inode = db.stat().st_ino
        except OSError:
            inode = None
        if self._catalog is not None and inode != self._catalog_inode:
            self._catalog.close()  # the file was removed or rebuilt under us
            self._catalog = None
        if inode is None:
            return None
        if self._catalog is None:
            sig = tuple(_stat(Path(f"{db}{s}")) for s in ("", "-wal"))
            if sig == self._rejected:
                return None
            reason = _unusable(db)
            if reason:
                log.warning("local catalog %s %s; working remotely", db, reason)
                self._rejected = sig
                return None
            self._catalog, self._catalog_inode = Catalog(db), inode
        return self._catalog

    @property
    def is_local(self) -> bool:
        """True when ``<data_dir>/meta/campfire.db`` exists and is a usable catalog."""
        return self.catalog is not None

    @property
    def last_synced(self) -> str | None:
        """ISO timestamp of the last successful sync, or None."""
        cat = self.catalog
        if cat is None:
            return None
        with cat._lock:
            row = cat.sqlite.execute("SELECT value FROM _meta WHERE key='last_sync_at'").fetchone()
            if row is None or not row[0]:
                row = cat.sqlite.execute("SELECT MAX(_synced_at) FROM objects").fetchone()
        return None if row is None else row[0]

    def _store(self) -> Store:
        from campfire.catalog.store import Store

        return Store(self.settings.db_path)

    def _local(self, remote: bool, what: str) -> Catalog | None:
        """The catalog to answer ``what`` from, or None to ask the archive (logged)."""
        if remote:
            return None
        cat = self.catalog
        if cat is None:
            log.info("%s: no local catalog at %s; asking the archive", what, self.settings.db_path)
        return cat

    def _row(self, sql: str, args: tuple[Any, ...]) -> dict[str, Any] | None:
        """One row of the local store as a dict; None without a catalog or a match."""
        cat = self.catalog
        if cat is None:
            return None
        with cat._lock:
            row = cat.sqlite.execute(sql, args).fetchone()
        return None if row is None else dict(row)


class _NoRefresh:
    """A saved login used as is (``Campfire(auto_refresh=False)``)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def bearer(self) -> str:
        token = self.inner.current().bearer
        assert token is not None
        return str(token)

    def refresh_after_401(self, rejected: str) -> bool:
        return False
