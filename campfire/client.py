"""The ``Campfire`` client: one object to sync, query, open and look at CAMPFIRE spectra.

Local first (architecture decision 2): once ``<data_dir>/meta/campfire.db`` exists, every query
runs in DuckDB over the synced catalog (:mod:`campfire.catalog`) and ``open_spectrum`` reads
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
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from campfire.catalog import (
    OBJECT_COLUMNS,
    SPECTRUM_COLUMNS,
    Catalog,
    Filters,
    build_table,
    make_filters,
)
from campfire.config import Settings
from campfire.errors import (
    CampfireError,
    NotFoundError,
    OfflineError,
    SchemaError,
    ValidationError,
)

if TYPE_CHECKING:
    from astropy.table import Table

    from campfire.api import ApiClient
    from campfire.models import Object
    from campfire.spectrum import SpectrumData
    from campfire.store import Store

__all__ = ["Campfire"]

log = logging.getLogger(__name__)
_PAGE = 1000  # remote page size (the contract's default)
_OPENED_CACHE = 32  # spectra kept in memory after open_spectrum (keyed by file and mtime)
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+\-]*$")


def _redshift(row: dict[str, Any]) -> float | None:
    """Best redshift (api-v1 3.2): None for quality 1, else inspected, else auto."""
    if row.get("redshift_quality") == 1:
        return None
    for key in ("redshift_inspected", "redshift_auto", "redshift"):
        if row.get(key) is not None:
            return float(row[key])
    return None


def _stat(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)


def _unusable(db: Path) -> str | None:
    """Why the catalog at ``db`` cannot serve queries, or None if it can."""
    from campfire.store import SCHEMA_VERSION

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


def _remote_object(row: dict[str, Any]) -> dict[str, Any]:
    """An ``/objects`` row in the local column layout (``docs/python-client.md``)."""
    members = [m for m in row.get("member_targets") or [] if isinstance(m, dict)]
    out = {c: row.get(c) for c in OBJECT_COLUMNS}
    out["member_target_ids"] = row.get("member_target_ids") or sorted(
        str(m["target_id"]) for m in members if m.get("target_id")
    )
    out["observations"] = row.get("observations") or sorted(
        {str(m["observation"]) for m in members if m.get("observation")}
    )
    out["tags"] = sorted(
        {str(t["slug"]) if isinstance(t, dict) else str(t) for t in row.get("lists") or []}
    )
    out["programs"] = list(row.get("programs") or [])
    out["gratings"] = list(row.get("gratings") or [])
    out["redshift"] = _redshift(row)
    out["redshift_quality"] = int(row.get("redshift_quality") or 0)
    if row.get("distance") is not None:
        out["distance"] = float(row["distance"]) * 3600.0  # degrees on the wire
    return out


def _remote_spectrum(row: dict[str, Any]) -> dict[str, Any]:
    """A ``/spectra/list`` row in the local column layout."""
    out = {c: row.get(c) for c in SPECTRUM_COLUMNS}
    out["object_id"] = row.get("object_id") or row.get("parent_object_id")
    out["dq_flags"] = int(row.get("dq_flags") or 0)
    out["redshift_quality"] = quality = int(row.get("redshift_quality") or 0)
    # the parent object's best redshift (the row's redshift_auto is the spectrum's own)
    out["redshift"] = None if quality == 1 else row.get("redshift")
    out["local_path"] = None
    if row.get("distance") is not None:
        out["distance"] = float(row["distance"]) * 3600.0
    return out


def _wire(flt: Filters) -> dict[str, str]:
    """Query parameters of ``/objects`` and ``/spectra/list`` for a filter set (api-v1 6.1)."""
    p: dict[str, str] = {}
    for key in ("fields", "programs", "gratings", "observations"):
        if getattr(flt, key):
            p[key] = ",".join(getattr(flt, key))
    if flt.tags:
        p["lists"] = ",".join(flt.tags)
    if flt.redshift_quality:
        p["redshift_quality"] = ",".join(str(q) for q in flt.redshift_quality)
    for stem, rng in (("redshift", flt.redshift_range), ("max_snr", flt.max_snr_range)):
        lo, hi = rng or (None, None)
        if lo is not None:
            p[f"{stem}_min"] = repr(lo)
        if hi is not None:
            p[f"{stem}_max"] = repr(hi)
    for key, mask in zip(("include_any", "include_all", "exclude"), flt.dq, strict=True):
        if mask:
            p[f"dq_flags_{key}"] = str(mask)
    for key in ("inspected_only", "has_photometry"):
        if getattr(flt, key) is not None:
            p[key] = "true" if getattr(flt, key) else "false"
    if flt.search:
        p["search"] = flt.search
    if flt.cone is not None:
        p["ra"], p["dec"], p["radius"] = (repr(v) for v in flt.cone)
    p["sort"], p["sort_dir"] = flt.sort, flt.sort_dir
    return p


def _page_window(offset: int, limit: int) -> tuple[int, int]:
    """A page size and page-aligned offset whose page holds rows ``[offset, offset+limit)``.

    ``/objects`` and ``/spectra/list`` round offsets down to a multiple of the page size
    (api-v1 quirk 6), so an arbitrary window is fetched as one aligned, larger page.

    Examples
    --------
    >>> _page_window(2000, 1000), _page_window(5, 10)
    ((1000, 2000), (15, 0))
    """
    size = max(limit, 1)
    while (offset % size) + limit > size:
        size += 1
    return size, offset - offset % size


class Campfire:
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

    def __init__(
        self,
        base_url: str | None = None,
        data_dir: str | os.PathLike[str] | None = None,
        auto_refresh: bool = True,
    ) -> None:
        self.settings = Settings.from_env().with_overrides(base_url=base_url, data_dir=data_dir)
        self.auto_refresh = auto_refresh
        #: rows per request when iter_* pages through the archive
        self.page_size = _PAGE
        self._api: ApiClient | None = None
        self._catalog: Catalog | None = None
        self._catalog_inode: int | None = None
        self._remote_vocab: dict[str, list[str]] | None = None
        self._metadata: dict[str, Any] | None = None
        self._fetched: dict[str, Path] = {}  # spectrum_id -> file fetched without a catalog
        self._opened: dict[tuple[str, int, int], SpectrumData] = {}  # recent reads (LRU)
        self._rejected: tuple[Any, ...] | None = None  # stat of a catalog found unusable

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

    # -- plumbing ------------------------------------------------------------------------------
    @property
    def data_dir(self) -> Path:
        """The data directory."""
        return self.settings.data_dir

    @property
    def api(self) -> ApiClient:
        """The archive client (created on first use, so local work needs no login)."""
        if self._api is None:
            from campfire.api import ApiClient
            from campfire.auth import FileCredentialProvider, provider_for

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
        from campfire.store import Store

        return Store(self.settings.db_path)

    def _local(self, remote: bool, what: str) -> Catalog | None:
        """The catalog to answer ``what`` from, or None to ask the archive (logged)."""
        if remote:
            return None
        cat = self.catalog
        if cat is None:
            log.info("%s: no local catalog at %s; asking the archive", what, self.settings.db_path)
        return cat

    def _vocab(self, cat: Catalog | None) -> dict[str, list[str]]:
        if cat is not None:
            return cat.vocabulary()
        if self._remote_vocab is None:
            meta = self.get_metadata(remote=True)
            api = self._online("checking tag names")
            self._remote_vocab = {
                "fields": list(meta.get("fields") or []),
                "gratings": list(meta.get("gratings") or []),
                "observations": list(meta.get("observations") or []),
                "programs": [p["slug"] for p in meta.get("programs") or []],
                "tags": sorted(str(t["slug"]) for t in api.fetch_tags()),
            }
        return self._remote_vocab

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
        from campfire.store import Store
        from campfire.sync import sync_catalog

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
        from campfire import download as dl

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

    # -- querying ------------------------------------------------------------------------------
    def query_objects(
        self,
        fields: list[str] | None = None,
        programs: list[int | str] | None = None,
        gratings: list[str] | None = None,
        observations: list[str] | None = None,
        redshift_range: tuple[float, float] | None = None,
        redshift_quality: list[int | str] | None = None,
        max_snr_range: tuple[float, float] | None = None,
        dq_flags: Any = None,
        tags: list[str] | None = None,
        inspected_only: bool | None = None,
        staleness: bool | None = None,
        has_photometry: bool | None = None,
        search: str | None = None,
        cone_search: tuple[float, float, float] | None = None,
        limit: int | None = None,
        offset: int = 0,
        sort: str = "object_id",
        sort_dir: str = "asc",
        remote: bool = False,
    ) -> Table:
        """Objects (one row per sky position) matching every given filter; an astropy Table.

        Lists match any of their values; ranges are inclusive ``(min, max)``;
        ``redshift_quality`` takes 0-4 or names (``'secure'``); ``dq_flags`` (``DQFlags``
        expressions) is evaluated through each object's spectra; ``cone_search`` is
        ``(ra_deg, dec_deg, radius_arcsec)`` on the sphere and adds a ``distance`` column
        (arcsec, the default sort). Locally there is no limit unless given; remotely it is 1000.
        Columns: see ``docs/python-client.md``.

        Examples
        --------
        >>> cf.query_objects(fields=["cosmos"], redshift_range=(4.0, 8.0),
        ...                  redshift_quality=[3, 4], inspected_only=True)  # doctest: +SKIP
        >>> cf.query_objects(cone_search=(150.0832, 2.3511, 30.0))  # doctest: +SKIP
        """
        kw = dict(locals())
        kw.pop("self")
        return self._query("objects", kw)

    def query_spectra(
        self,
        fields: list[str] | None = None,
        programs: list[int | str] | None = None,
        gratings: list[str] | None = None,
        observations: list[str] | None = None,
        redshift_range: tuple[float, float] | None = None,
        redshift_quality: list[int | str] | None = None,
        max_snr_range: tuple[float, float] | None = None,
        dq_flags: Any = None,
        tags: list[str] | None = None,
        inspected_only: bool | None = None,
        staleness: bool | None = None,
        has_photometry: bool | None = None,
        search: str | None = None,
        cone_search: tuple[float, float, float] | None = None,
        limit: int | None = None,
        offset: int = 0,
        sort: str = "spectrum_id",
        sort_dir: str = "asc",
        remote: bool = False,
    ) -> Table:
        """Spectra (one row each) matching every given filter; an astropy Table.

        Same vocabulary as :meth:`query_objects`; the inspection filters (``redshift_*``,
        ``inspected_only``, ``tags``, ``has_photometry``, ``staleness``) apply to the parent
        object, ``max_snr_range`` to each spectrum's ``signal_to_noise`` and ``dq_flags`` to
        each spectrum's bitmask.

        Examples
        --------
        >>> from campfire.flags import DQFlags
        >>> clean = ~DQFlags.CONTAMINATION & ~DQFlags.LOW_SNR
        >>> good = cf.query_spectra(gratings=["PRISM"], dq_flags=clean)  # doctest: +SKIP
        """
        kw = dict(locals())
        kw.pop("self")
        return self._query("spectra", kw)

    def iter_objects(self, remote: bool = False, **filters: Any) -> Iterator[dict[str, Any]]:
        """Stream matching objects as dicts (same filters as :meth:`query_objects`).

        Locally rows come from DuckDB in batches; remotely ``/objects`` is paged for you.

        Examples
        --------
        >>> for row in cf.iter_objects(redshift_range=(2.0, 4.0)):  # doctest: +SKIP
        ...     print(row["object_id"], row["redshift"])
        """
        return self._iter("objects", {**filters, "remote": remote})

    def iter_spectra(self, remote: bool = False, **filters: Any) -> Iterator[dict[str, Any]]:
        """Stream matching spectra as dicts (same filters as :meth:`query_spectra`).

        Examples
        --------
        >>> n = sum(1 for _ in cf.iter_spectra(gratings=["PRISM"]))  # doctest: +SKIP
        """
        return self._iter("spectra", {**filters, "remote": remote})

    def _filters(self, kind: str, kw: dict[str, Any]) -> tuple[Catalog | None, Filters]:
        remote = bool(kw.pop("remote", False))
        cat = self._local(remote, f"query_{kind}")
        if cat is None and kw.get("staleness") is not None and not remote:
            raise ValidationError("staleness needs the synced catalog: run cf.sync() first")
        unknown = set(kw) - set(_FILTER_NAMES)
        if unknown:
            raise TypeError(
                f"unknown filter(s) {', '.join(sorted(unknown))}; "
                f"filters: {', '.join(_FILTER_NAMES)}"
            )
        return cat, make_filters(kind, self._vocab(cat), remote=cat is None, **kw)

    def _query(self, kind: str, kw: dict[str, Any]) -> Table:
        cat, flt = self._filters(kind, kw)
        if cat is not None:
            return cat.query(kind, flt)
        limit = _PAGE if flt.limit is None else flt.limit  # the contract's default
        info: dict[str, int] = {}
        rows = list(self._iter_remote(kind, replace(flt, limit=limit), info))
        total = info.get("total", 0)
        if flt.limit is None and total > flt.offset + len(rows):
            log.warning(
                "query_%s: the archive has %d matching rows; returned %d (pass limit= or use "
                "iter_%s to get them all)",
                kind,
                total,
                len(rows),
                kind,
            )
        columns = SPECTRUM_COLUMNS if kind == "spectra" else OBJECT_COLUMNS
        cols = {c: [r.get(c) for r in rows] for c in [*columns, "distance"]}
        return build_table(cols, columns, distance=flt.cone is not None)

    def _remote_page(
        self, kind: str, flt: Filters, size: int, offset: int
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        api = self._online(f"query_{kind}(remote)")
        params = {**_wire(flt), "limit": str(size), "offset": str(offset)}
        path = "/spectra/list" if kind == "spectra" else "/objects"
        body = api.get_json(path, params=params)
        convert = _remote_spectrum if kind == "spectra" else _remote_object
        rows = [convert(r) for r in body.get("data") or []]
        if kind == "spectra" and rows and self.catalog is not None:
            self._fill_local_paths(rows)
        return rows, dict(body.get("pagination") or {})

    def _fill_local_paths(self, rows: list[dict[str, Any]]) -> None:
        cat = self.catalog
        assert cat is not None
        ids = [r["spectrum_id"] for r in rows]
        with cat._lock:
            marks = ",".join("?" * len(ids))
            found = dict(
                cat.sqlite.execute(
                    f"SELECT spectrum_id, local_path FROM spectra WHERE spectrum_id IN ({marks})",
                    ids,
                ).fetchall()
            )
        for r in rows:
            r["local_path"] = found.get(r["spectrum_id"])

    def _iter(self, kind: str, kw: dict[str, Any]) -> Iterator[dict[str, Any]]:
        cat, flt = self._filters(kind, kw)  # validated now, not at the first next()
        return cat.iter_rows(kind, flt) if cat is not None else self._iter_remote(kind, flt)

    def _iter_remote(
        self, kind: str, flt: Filters, info: dict[str, int] | None = None
    ) -> Iterator[dict[str, Any]]:
        """Rows of ``/objects`` or ``/spectra/list``, paged; ``info['total']`` is the count."""
        offset, left = flt.offset, flt.limit
        per_page = max(1, int(self.page_size))
        size = min(left or per_page, per_page)
        if self._online(f"query_{kind}(remote)").server_info().server == "campfire":
            start = offset  # our server pages by exact offsets
        else:  # the contract rounds offsets down to a page (quirk 6): fetch an aligned window
            size, start = _page_window(offset, size)
        skip = offset - start
        while left is None or left > 0:
            rows, page = self._remote_page(kind, flt, size, start)
            if info is not None:
                info["total"] = int(page.get("total") or 0)
            chunk = rows[skip:]
            if left is not None:
                chunk = chunk[:left]
                left -= len(chunk)
            yield from chunk
            start += len(rows)
            skip = 0
            if not rows or start >= int(page.get("total") or 0):
                return

    # -- single records ------------------------------------------------------------------------
    def _row(self, sql: str, args: tuple[Any, ...]) -> dict[str, Any] | None:
        cat = self.catalog
        if cat is None:
            return None
        with cat._lock:
            row = cat.sqlite.execute(sql, args).fetchone()
        return None if row is None else dict(row)

    def _local_spectra(self, object_id: str) -> list[dict[str, Any]]:
        cat = self.catalog
        assert cat is not None
        with cat._lock:
            rows = cat.sqlite.execute(
                "SELECT * FROM spectra WHERE object_id = ? ORDER BY spectrum_id", (object_id,)
            ).fetchall()
        return [dict(r) for r in rows]

    def get_object(self, object_id: str, remote: bool = False) -> Object | None:
        """One object with its spectra, tags and photometry attached; None if unknown.

        Examples
        --------
        >>> obj = cf.get_object("J021737.42-051208.5")  # doctest: +SKIP
        >>> obj.spectra.gratings, obj.tags  # doctest: +SKIP
        (['G395M', 'PRISM'], ['lrd'])
        """
        from campfire.models import Object, Photometry

        if not isinstance(object_id, str) or not object_id.strip():
            raise ValidationError(f"object_id must be a non-empty string (got {object_id!r})")
        cat = self._local(remote, "get_object")
        if cat is not None:
            row = self._row(
                "SELECT * FROM objects WHERE object_id = ? AND coalesce(is_active, 1) <> 0",
                (object_id,),
            )
            if row is None:
                return None
            with cat._lock:
                tags = [
                    r[0]
                    for r in cat.sqlite.execute(
                        "SELECT list_slug FROM object_list_memberships WHERE object_id = ? "
                        "ORDER BY list_slug",
                        (object_id,),
                    )
                ]
            phot = self._row(
                "SELECT * FROM object_photometry WHERE object_id = ? "
                "ORDER BY catalog_name, id LIMIT 1",
                (object_id,),
            )
            for key in ("programs", "gratings", "observations", "member_target_ids"):
                row[key] = [v for v in (row.get(key) or "").split(";") if v]
            row["redshift"] = _redshift(row)
            row["spectra"] = self._local_spectra(object_id)
            return Object.from_dict(
                row,
                tags=tags,
                photometry=None if phot is None else Photometry.from_record(phot),
                opener=self._opener,
                products_dir=self.settings.products_dir,
            )
        api = self._online("get_object(remote)")
        body = api.get_json("/objects", params={"search": object_id, "limit": "50"})
        match = [r for r in body.get("data") or [] if r.get("object_id") == object_id]
        if not match:
            return None
        row = _remote_object(match[0])
        spectra: list[dict[str, Any]] = []
        if row.get("ra") is not None and row.get("dec") is not None:
            near = api.get_json(
                "/spectra/list",
                params={
                    "ra": repr(row["ra"]),
                    "dec": repr(row["dec"]),
                    "radius": "2",
                    "limit": "500",
                },
            )
            spectra = [
                _remote_spectrum(s)
                for s in near.get("data") or []
                if (s.get("object_id") or s.get("parent_object_id")) == object_id
            ]
            spectra.sort(key=lambda s: s["spectrum_id"])
        row["spectra"] = spectra
        return Object.from_dict(
            row, tags=row["tags"], opener=self._opener, products_dir=self.settings.products_dir
        )

    def get_spectrum(self, spectrum_id: str, remote: bool = False) -> dict[str, Any] | None:
        """One spectrum's catalog row as a dict; None if unknown.

        Examples
        --------
        >>> cf.get_spectrum("ember_uds_p4_prism_clear_123456")["grating"]  # doctest: +SKIP
        'PRISM'
        """
        if not isinstance(spectrum_id, str) or not spectrum_id.strip():
            raise ValidationError(f"spectrum_id must be a non-empty string (got {spectrum_id!r})")
        if self._local(remote, "get_spectrum") is not None:
            return self._row("SELECT * FROM spectra WHERE spectrum_id = ?", (spectrum_id,))
        api = self._online("get_spectrum(remote)")
        body = api.get_json("/spectra/list", params={"search": spectrum_id, "limit": "50"})
        match = [r for r in body.get("data") or [] if r.get("spectrum_id") == spectrum_id]
        if not match:
            return None
        row = dict(match[0])
        row.setdefault("object_id", row.get("parent_object_id"))
        return row

    # -- metadata ------------------------------------------------------------------------------
    def get_metadata(self, remote: bool = False) -> dict[str, Any]:
        """``{'programs': [...], 'fields': [...], 'gratings': [...], 'observations': [...]}``.

        Locally the lists come from the synced catalog. Program names and PIs come from the
        catalog when the sync stored them (``_meta`` key ``programs``), else from ``/metadata``
        once per client when online (a logged fallback); offline they are None.

        Examples
        --------
        >>> cf.get_metadata()["fields"]  # doctest: +SKIP
        ['cosmos', 'uds']
        """
        cat = self._local(remote, "get_metadata")
        if cat is None:
            if self._metadata is None:
                self._metadata = dict(self._online("get_metadata(remote)").get_metadata())
            return self._metadata
        vocab = cat.vocabulary()
        details = {p["slug"]: p for p in self._program_details()}
        programs = [
            details.get(s) or {"slug": s, "program_name": None, "pi_name": None, "is_public": None}
            for s in vocab["programs"]
        ]
        return {
            "programs": programs,
            "fields": list(vocab["fields"]),
            "gratings": list(vocab["gratings"]),
            "observations": list(vocab["observations"]),
        }

    def _program_details(self) -> list[dict[str, Any]]:
        """Program names and PIs: stored by the sync if it did, else ``/metadata`` (logged)."""
        stored = self._row("SELECT value FROM _meta WHERE key = 'programs'", ())
        if stored and stored.get("value"):
            try:
                return list(json.loads(stored["value"]))
            except ValueError:
                log.info("get_metadata: stored program details unreadable; ignoring them")
        if self._metadata is None:
            if self.settings.offline:
                return []
            log.info("get_metadata: program names are not in the local catalog; asking the archive")
            try:
                self._metadata = dict(self.api.get_metadata())
            except CampfireError as exc:
                log.info("get_metadata: program names unavailable (%s)", exc)
                return []
        return list(self._metadata.get("programs") or [])

    def _names(self, key: str, remote: bool) -> list[str]:
        cat = self._local(remote, f"get_{key}")
        if cat is not None:
            return list(cat.vocabulary()[key])
        return list(self.get_metadata(remote=True)[key])

    def get_programs(self, remote: bool = False) -> Table:
        """Programs as a Table: ``slug, program_name, pi_name, is_public``."""
        from astropy.table import Table

        rows = self.get_metadata(remote=remote)["programs"]
        names = ("slug", "program_name", "pi_name", "is_public")
        cols = {n: [r.get(n) for r in rows] for n in names}
        spec = {
            "slug": ("str", None),
            "program_name": ("str", None),
            "pi_name": ("str", None),
            "is_public": ("bool", None),
        }
        return build_table(cols, spec) if rows else Table(names=names, dtype=(str, str, str, bool))

    def get_fields(self, remote: bool = False) -> list[str]:
        """Field names (``['cosmos', 'uds', ...]``)."""
        return self._names("fields", remote)

    def get_gratings(self, remote: bool = False) -> list[str]:
        """Grating names (``['G395M', 'PRISM', ...]``)."""
        return self._names("gratings", remote)

    def get_observations(self, remote: bool = False) -> list[str]:
        """Observation names (``['ember_uds_p4', ...]``)."""
        return self._names("observations", remote)

    def get_tags(self, remote: bool = False) -> Table:
        """Tags as a Table: ``slug, name, member_count`` (plus description and visibility).

        Examples
        --------
        >>> cf.get_tags()["slug"].tolist()  # doctest: +SKIP
        ['blagn', 'lrd']
        """
        names = ("slug", "name", "member_count", "description", "visibility", "is_system")
        cat = self._local(remote, "get_tags")
        if cat is not None:
            with cat._lock:
                rows = [
                    dict(r)
                    for r in cat.sqlite.execute(
                        "SELECT * FROM object_lists ORDER BY is_system DESC, name, slug"
                    )
                ]
        else:
            rows = self._online("get_tags(remote)").fetch_tags()
        cols = {n: [r.get(n) for r in rows] for n in names}
        cols["is_system"] = [None if v is None else bool(v) for v in cols["is_system"]]
        spec = {
            "slug": ("str", None),
            "name": ("str", None),
            "member_count": ("int", None),
            "description": ("str", None),
            "visibility": ("str", None),
            "is_system": ("bool", None),
        }
        return build_table(cols, spec)

    # -- spectra files -------------------------------------------------------------------------
    def _local_file(self, row: dict[str, Any]) -> Path | None:
        """The downloaded (or pipeline-reduced) file of a spectrum row, if it is on disk."""
        products = self.settings.products_dir
        candidates = []
        if row.get("local_path"):
            candidates.append(products / str(row["local_path"]))
        if row.get("fits_path"):  # a pipeline user's products/ tree: found without downloading
            name = os.path.basename(str(row["fits_path"]))
            candidates.append(products / str(row.get("observation") or "") / name)
        root = products.resolve()
        for path in candidates:
            full = path.resolve()
            if full.is_relative_to(root) and full.is_file():
                return full
        return None

    def _opener(self, spectrum: Any) -> SpectrumData:
        return self.open_spectrum(spectrum.spectrum_id)

    def open_spectrum(self, spectrum_id: str) -> SpectrumData:
        """Open a spectrum as :class:`SpectrumData`: the local FITS file if downloaded, else
        fetched through the archive into ``products/<observation>/`` (verified against its
        SHA-256), so the next call is local.

        Raises
        ------
        NotFoundError
            No spectrum has this id (locally or, when online, on the archive).
        OfflineError
            The file is not downloaded and ``CAMPFIRE_OFFLINE=1``.

        Examples
        --------
        >>> spec = cf.open_spectrum("ember_uds_p4_prism_clear_123456")  # doctest: +SKIP
        >>> spec.wavelength.min(), spec.fnu_units  # doctest: +SKIP
        (0.6, 'uJy')
        """
        if not isinstance(spectrum_id, str) or not spectrum_id.strip():
            raise ValidationError(f"spectrum_id must be a non-empty string (got {spectrum_id!r})")
        fetched = self._fetched.get(spectrum_id)
        if fetched is not None and fetched.is_file():  # fetched earlier without a catalog
            spec = self._read(fetched)
            spec.spectrum_id = spectrum_id
            return spec
        row = self._row(
            "SELECT s.*, o.redshift_quality AS _q, o.redshift_inspected AS _zi, "
            "o.redshift_auto AS _za FROM spectra s LEFT JOIN objects o "
            "ON o.object_id = s.object_id WHERE s.spectrum_id = ?",
            (spectrum_id,),
        )
        path = None if row is None else self._local_file(row)
        if path is None:
            if row is None:
                why = "not in the local catalog" if self.is_local else "no local catalog"
                if self.settings.offline:
                    raise NotFoundError(
                        f"spectrum {spectrum_id!r} is {why}, and CAMPFIRE_OFFLINE=1 stops us "
                        "asking the archive. Check the id, or sync when online."
                    )
                log.info("open_spectrum(%s): %s; asking the archive", spectrum_id, why)
                row = self.get_spectrum(spectrum_id, remote=True)
                if row is None:
                    raise NotFoundError(f"no spectrum {spectrum_id!r} on the archive either")
            else:
                log.info("open_spectrum(%s): not downloaded; fetching it", spectrum_id)
            path = self._fetch(row)
        spec = self._read(path)
        spec.spectrum_id = spectrum_id
        spec.object_id = spec.object_id or row.get("object_id")
        if spec.redshift is None and row.get("_q") is not None:
            spec.redshift = _redshift(
                {
                    "redshift_quality": row["_q"],
                    "redshift_inspected": row["_zi"],
                    "redshift_auto": row["_za"],
                }
            )
        return spec

    def _read(self, path: Path) -> SpectrumData:
        """Read a FITS file, reusing the arrays of a recent read of the same, unchanged file."""
        import numpy as np

        from campfire.io import read_spectrum

        st = path.stat()
        key = (str(path), st.st_mtime_ns, st.st_size)
        spec = self._opened.pop(key, None) or read_spectrum(path)
        self._opened[key] = spec  # most recent last
        while len(self._opened) > _OPENED_CACHE:
            self._opened.pop(next(iter(self._opened)))
        extras = {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in spec.extras.items()}
        return spec.copy(  # callers get their own arrays
            flam=np.array(spec.flam), flam_err=np.array(spec.flam_err), extras=extras
        )

    def _fetch(self, row: dict[str, Any]) -> Path:
        from campfire.download import fetch_one
        from campfire.store import Store

        sid = str(row["spectrum_id"])
        if sid in self._fetched and self._fetched[sid].is_file():
            return self._fetched[sid]
        api = self._online(f"open_spectrum({sid!r}) of a file not downloaded")
        # without a synced catalog the file is still kept in products/, recorded in a side
        # store (never meta/campfire.db, which would make an empty catalog look synced)
        local = self.catalog is not None
        db = self.settings.db_path if local else self.data_dir / ".cache" / "fetched.db"
        with Store(db) as store:
            path = Path(fetch_one(api, store, row))
        self._fetched[sid] = path
        return path

    def get_spectrum_data(self, spectrum_id: str) -> dict[str, Any]:
        """The plotting JSON of a spectrum (``wave, fnu, fnu_err, snr_2d, profile, ...``).

        Examples
        --------
        >>> data = cf.get_spectrum_data("ember_uds_p4_prism_clear_123456")  # doctest: +SKIP
        """
        return dict(self._online("get_spectrum_data()").get_spectrum_data(spectrum_id))

    def get_redshift_fit_data(self, spectrum_id: str) -> dict[str, Any]:
        """The redshift fit of a spectrum (``redshift, chi2_min, z_grid, chi2_grid, ...``).

        Examples
        --------
        >>> fit = cf.get_redshift_fit_data("ember_uds_p4_prism_clear_123456")  # doctest: +SKIP
        """
        api = self._online("get_redshift_fit_data()")
        row = self._row("SELECT fits_path FROM spectra WHERE spectrum_id = ?", (spectrum_id,))
        if row is None and not api.server_info().has("redshift-fit-spectrum-id"):
            row = self.get_spectrum(spectrum_id, remote=True)
            if row is None:
                raise NotFoundError(f"no spectrum {spectrum_id!r}")
        if row is not None and row.get("fits_path"):
            return dict(api.get_redshift_fit_data(path=row["fits_path"]))
        return dict(api.get_redshift_fit_data(spectrum_id))

    # -- imaging -------------------------------------------------------------------------------
    def _cache_file(self, object_id: str, name: str) -> Path:
        if not isinstance(object_id, str) or not _SAFE_NAME.match(object_id):
            raise ValidationError(
                f"object_id {object_id!r} cannot name a cache file: use letters, digits and "
                "'_.+-' (an object name such as J021737.42-051208.5)"
            )
        root = self.settings.cutouts_dir.resolve()
        path = (root / name).resolve()
        if path.parent != root:
            raise ValidationError(f"cache path {path} would leave {root}")
        return path

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.part")
        try:
            tmp.write_bytes(data)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)

    @staticmethod
    def _check_fov(fov: Any, size: Any = None) -> float:
        if isinstance(fov, bool) or not isinstance(fov, int | float) or not math.isfinite(fov):
            raise ValidationError(f"fov must be a finite number of arcsec (got {fov!r})")
        if not 0 < fov <= 30:
            raise ValidationError(f"fov must be in (0, 30] arcsec (got {fov})")
        if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
            raise ValidationError(f"size must be a positive number of pixels (got {size!r})")
        return float(fov)

    def get_cutout(
        self, object_id: str, size: int | None = None, fov: float = 5.0, cache: bool = True
    ) -> Path:
        """Path of the object's cutout PNG (north up, east left), cached under ``cutouts/``.

        Examples
        --------
        >>> path = cf.get_cutout("J021737.42-051208.5", fov=3.2)  # doctest: +SKIP
        """
        fov = self._check_fov(fov, size)
        suffix = "" if size is None else f"_s{size}"
        path = self._cache_file(object_id, f"{object_id}_fov{fov:g}{suffix}.png")
        if cache and path.is_file():
            return path
        data = self._online("get_cutout()").get_cutout(object_id, size=size, fov=fov)
        if not data.startswith(b"\x89PNG"):
            from campfire.errors import APIError

            raise APIError(f"the archive's cutout of {object_id} is not a PNG")
        self._write(path, data)
        return path

    def get_shutters(self, object_id: str, fov: float = 5.0, cache: bool = True) -> dict[str, Any]:
        """The MSA shutters within ``fov`` arcsec of the object (``/shutters`` JSON), cached.

        Examples
        --------
        >>> data = cf.get_shutters("J021737.42-051208.5", fov=3.2)  # doctest: +SKIP
        >>> len(data["shutters"])  # doctest: +SKIP
        """
        fov = self._check_fov(fov)
        path = self._cache_file(object_id, f"{object_id}_fov{fov:g}_shutters.json")
        if cache and path.is_file():
            try:
                return dict(json.loads(path.read_text()))
            except (OSError, ValueError):
                log.info("cached shutters %s unreadable; fetching again", path)
        data = dict(self._online("get_shutters()").get_shutters(object_id, radius=fov))
        self._write(path, json.dumps(data).encode())
        return data

    def get_shutters_region(
        self,
        object_id: str,
        fov: float = 5.0,
        output: str | os.PathLike[str] | None = None,
        cache: bool = True,
    ) -> Path:
        """Write the shutters as a DS9 region file (fk5 boxes at their PA); return its path.

        Examples
        --------
        >>> cf.get_shutters_region("J021737.42-051208.5", output="shutters.reg")  # doctest: +SKIP
        """
        from campfire.imaging import shutters_to_regions

        text = shutters_to_regions(
            self.get_shutters(object_id, fov=fov, cache=cache), object_id=object_id
        )
        path = (
            Path(output)
            if output is not None
            else self._cache_file(object_id, f"{object_id}_fov{float(fov):g}_shutters.reg")
        )
        self._write(path, text.encode())
        return path

    def plot_cutout(
        self,
        object_id: str,
        fov: float = 5.0,
        size: int | None = None,
        shutters: bool | str = True,
        ax: Any = None,
        **kwargs: Any,
    ) -> Any:
        """Plot the cutout with the MSA shutters on top (``shutters``: True/'all', 'target',
        False); extra keywords (``shutter_style``, ``scalebar``) go to
        :func:`campfire.imaging.plot_cutout`. Returns the axes.

        Examples
        --------
        >>> ax = cf.plot_cutout("J021737.42-051208.5", fov=3.2, shutters="target")  # doctest: +SKIP
        """
        from campfire.imaging import plot_cutout

        path = self.get_cutout(object_id, size=size, fov=fov)
        data = self.get_shutters(object_id, fov=fov) if shutters else None
        return plot_cutout(
            path,
            shutters=data,
            object_id=object_id,
            fov=fov,
            ax=ax,
            shutters_mode=shutters,
            **kwargs,
        )

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


_FILTER_NAMES = (
    "fields", "programs", "gratings", "observations", "redshift_range", "redshift_quality",
    "max_snr_range", "dq_flags", "tags", "inspected_only", "staleness", "has_photometry",
    "search", "cone_search", "limit", "offset", "sort", "sort_dir",
)  # fmt: skip


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
