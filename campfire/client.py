"""The ``Campfire`` client: one object to sync, query, open and look at CAMPFIRE spectra.

Local first (architecture decision 2): once ``<data_dir>/meta/campfire.db`` exists, every query
runs in DuckDB over the synced catalog (:mod:`campfire.catalog.engine`) and ``open_spectrum`` reads
downloaded FITS files, with no network call. ``remote=True`` forces the archive's API;
``CAMPFIRE_OFFLINE=1`` turns any network attempt into an :class:`~campfire.errors.OfflineError`;
every fallback from local to remote is logged (logger ``campfire.client``) with its reason.

Examples
--------
>>> from campfire import Campfire
>>> cf = Campfire()  # doctest: +SKIP
>>> cf.sync()["objects"]  # doctest: +SKIP
2450
>>> cf.query_objects(fields=["uds"], redshift_range=(4, 8), limit=5)  # doctest: +SKIP

:class:`Campfire` is assembled from one class per concern (the tree is drawn in
:mod:`campfire.connection`): :mod:`campfire.records` (single records, metadata),
:mod:`campfire.queries` (``query_*``, ``iter_*``), :mod:`campfire.products` (``open_spectrum``),
:mod:`campfire.cutouts` (imaging), all on :mod:`campfire.connection` (settings, API, catalog);
this module adds syncing, downloading, SQL and the client's reprs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from campfire.cutouts import Cutouts
from campfire.errors import NotFoundError, SchemaError
from campfire.products import Products
from campfire.queries import Queries

if TYPE_CHECKING:
    from astropy.table import Table

__all__ = ["Campfire"]

log = logging.getLogger(__name__)


class Campfire(Queries, Products, Cutouts):
    """Client of the CAMPFIRE archive, local-first over the synced catalog.

    Parameters
    ----------
    base_url
        Archive API URL including ``/api/v1``; default ``$CAMPFIRE_API_URL`` or production.
    data_dir
        Data directory (``meta/``, ``products/``, ``cutouts/``); default ``$CAMPFIRE_ROOT``
        or ``~/campfire``.
    auto_refresh
        Refresh OAuth access tokens automatically when they are about to expire.

    Examples
    --------
    >>> cf = Campfire(data_dir="/data/campfire")  # doctest: +SKIP
    >>> cf.is_local, cf.last_synced  # doctest: +SKIP
    (True, '2026-05-01T12:00:00+00:00')
    """

    def __repr__(self) -> str:
        where = f"local catalog, synced {self.last_synced}" if self.is_local else "remote"
        return f"Campfire({self.settings.base_url}, {self.settings.data_dir}, {where})"

    def _repr_html_(self) -> str:
        import html

        rows = [("archive", self.settings.base_url), ("data directory", str(self.data_dir))]
        cat = self.catalog
        if cat is None:
            rows.append(("catalog", "not synced (run cf.sync())"))
        else:
            with cat._lock:
                n_obj, n_spec, n_local = cat.sqlite.execute(
                    "SELECT (SELECT count(*) FROM objects WHERE coalesce(is_active, 1) <> 0), "
                    "(SELECT count(*) FROM spectra), "
                    "(SELECT count(*) FROM spectra WHERE local_path IS NOT NULL)"
                ).fetchone()
            rows += [
                ("catalog", f"{n_obj:,} objects, {n_spec:,} spectra ({n_local:,} downloaded)"),
                ("last synced", str(self.last_synced)),
            ]
        if self.settings.offline:
            rows.append(("network", "off (CAMPFIRE_OFFLINE=1)"))
        body = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
            for k, v in rows
        )
        return f"<table><caption>Campfire client</caption>{body}</table>"

    # -- sync and download ---------------------------------------------------------------------
    def sync(
        self, full: bool = False, progress: Callable[[str, int, int], None] | None = None
    ) -> dict[str, Any]:
        """Pull the object/spectra catalog (metadata only, no FITS files) into the local store.

        Parameters
        ----------
        full
            Re-read everything and purge what the archive no longer sends.
        progress
            Called as ``progress(feed, rows_received, rows_total)``.

        Returns
        -------
        dict
            ``observations, objects, spectra, stale_count, ...`` (see ``sync_catalog``).

        Examples
        --------
        >>> result = cf.sync()  # doctest: +SKIP
        >>> result["stale_count"]  # doctest: +SKIP
        0
        """
        from campfire.catalog.store import Store
        from campfire.sync.engine import sync_catalog

        api = self._online("sync()")
        try:
            store = Store(self.settings.db_path)
        except SchemaError as exc:
            log.warning("rebuilding the local catalog: %s", exc)
            if self._catalog is not None:  # its connections point at the old file
                self._catalog.close()
                self._catalog = None
            store = Store.rebuild(self.settings.db_path)
        with store:
            result = sync_catalog(api, store, full=full, progress=progress)
        self._rejected = None
        cat = self.catalog
        if cat is not None:
            cat.refresh()  # build the query snapshot now, so the first query is fast
        return result

    def download(
        self,
        observations: list[str] | None = None,
        programs: list[str] | None = None,
        fields: list[str] | None = None,
        gratings: list[str] | None = None,
        stale_only: bool = False,
        max_workers: int = 4,
        progress: Callable[..., None] | None = None,
    ) -> Any:
        """Download FITS files chosen from the synced catalog (verified by SHA-256).

        Examples
        --------
        >>> cf.download(observations=["ember_uds_p4"])  # doctest: +SKIP
        >>> cf.download(stale_only=True)  # doctest: +SKIP
        """
        from campfire.download import run as dl

        if self.catalog is None:
            raise NotFoundError(f"no local catalog at {self.settings.db_path}; run cf.sync() first")
        api = self._online("download()")
        with self._store() as store:
            plan = dl.plan_downloads(
                store,
                observations=observations,
                programs=programs,
                fields=fields,
                gratings=gratings,
                stale_only=stale_only,
            )
            return dl.download(api, store, plan, workers=max_workers, progress=progress)

    # -- SQL -----------------------------------------------------------------------------------
    def sql(self, query: str, params: Any = None) -> Table:
        """Run a read-only SQL ``SELECT`` (DuckDB dialect) over the synced catalog.

        Tables: ``objects``, ``spectra``, ``object_photometry``, ``object_lists``,
        ``object_list_memberships`` (see ``docs/python-client.md``).

        Examples
        --------
        >>> cf.sql("SELECT grating, count(*) AS n FROM spectra GROUP BY 1")  # doctest: +SKIP
        """
        cat = self.catalog
        if cat is None:
            raise NotFoundError(f"no local catalog at {self.settings.db_path}; run cf.sync() first")
        return cat.sql(query, params)
