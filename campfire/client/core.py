"""The ``Campfire`` client: one object to sync, query, open and look at CAMPFIRE spectra.

Local first (architecture decision 2): once ``<data_dir>/meta/campfire.db`` exists, every query
runs in DuckDB over the synced catalog and ``open_spectrum`` reads downloaded FITS files, with
no network call. ``remote=True`` forces the archive's API; ``CAMPFIRE_OFFLINE=1`` turns any
network attempt into an :class:`~campfire.errors.OfflineError`; every fallback from local to
remote is logged (logger ``campfire.client``) with its reason.

:class:`Campfire` is composed of parts, each built once and on first use::

    reader     CatalogReader     campfire/catalog/reader.py   every read of the local catalog
    api        ApiClient         campfire/archive/api.py      the archive (login on first use)
    downloads  DownloadService   campfire/download/service.py plan, fetch, open FITS files
    remote     RemoteRecords     campfire/client/remote.py    records and queries by the API
    cutouts    CutoutCache       campfire/client/cutouts.py   cutouts and shutters, cached

Each public method is a thin call into them that decides local or remote. ``campfire`` (the
CLI) builds the same object and calls the same methods.

Examples
--------
>>> from campfire import Campfire
>>> cf = Campfire()  # doctest: +SKIP
>>> cf.sync()["objects"]  # doctest: +SKIP
2450
>>> cf.query_objects(fields=["uds"], redshift_range=(4, 8), limit=5)  # doctest: +SKIP
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from campfire.catalog.reader import CatalogReader
from campfire.client import cutouts as _cut
from campfire.client import inspections as _ins
from campfire.client.downloads import download, download_urls
from campfire.client.export import EXPORT_HTML
from campfire.client.ids import resolve_object_id
from campfire.client.imports import IMPORT_INSPECTIONS
from campfire.client.me import ME
from campfire.client.metadata import program_details, program_id_map, programs_table, tags_table
from campfire.client.queries import FILTER_NAMES, QUERY_OBJECTS, QUERY_SPECTRA
from campfire.client.tags import CREATE_TAG, TAG, UNTAG
from campfire.config import Settings
from campfire.errors import NotFoundError, ValidationError

if TYPE_CHECKING:
    from astropy.table import Table

    from campfire.archive.api import ApiClient
    from campfire.catalog.engine import Catalog
    from campfire.catalog.filters import Filters
    from campfire.client.cutouts import CutoutCache
    from campfire.client.remote import RemoteRecords
    from campfire.download.service import DownloadService
    from campfire.models.data import SpectrumData
    from campfire.models.object import Object
    from campfire.sync.result import SyncResult

__all__ = ["Campfire"]

log = logging.getLogger("campfire.client")


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
        self.reader = CatalogReader(self.settings.db_path)
        self._api: ApiClient | None = None

    # -- the parts -----------------------------------------------------------------------------
    @property
    def api(self) -> ApiClient:
        """The archive client (created on first use, so local work needs no login)."""
        if self._api is None:
            from campfire.client.remote import archive_client

            self._api = archive_client(self.settings, auto_refresh=self.auto_refresh)
        return self._api

    def _online(self, what: str) -> ApiClient:
        """The archive client for ``what``, after the one offline check (before any login)."""
        from campfire.archive.transport import require_online

        require_online(
            self.settings,
            f"run {what}",
            "Unset CAMPFIRE_OFFLINE, or work from the synced catalog (cf.sync() when online).",
        )
        return self.api

    @functools.cached_property
    def downloads(self) -> DownloadService:
        """Plans, runs and single-file fetches (:class:`~campfire.download.service.DownloadService`)."""  # noqa: E501
        from campfire.download.service import DownloadService

        return DownloadService(self.settings, self._online, self.reader)

    @functools.cached_property
    def remote(self) -> RemoteRecords:
        """Records and queries answered by the archive (:class:`RemoteRecords`)."""
        from campfire.client.remote import RemoteRecords

        return RemoteRecords(self._online, self.reader)

    @functools.cached_property
    def cutouts(self) -> CutoutCache:
        """Cutouts and shutters cached under ``cutouts/`` (:class:`CutoutCache`)."""
        from campfire.client.cutouts import CutoutCache

        return CutoutCache(self.settings, self._online, self.resolve_object_id)

    @property
    def page_size(self) -> int:
        """Rows per request when ``iter_*`` pages through the archive."""
        return self.remote.page_size

    @page_size.setter
    def page_size(self, value: int) -> None:
        self.remote.page_size = value

    @property
    def data_dir(self) -> Path:
        """The data directory."""
        return self.settings.data_dir

    @property
    def catalog(self) -> Catalog | None:
        """The local catalog, or None when there is none or it cannot be used (logged once)."""
        return self.reader.catalog

    @property
    def is_local(self) -> bool:
        """True when ``<data_dir>/meta/campfire.db`` exists and is a usable catalog."""
        return self.reader.is_local

    @property
    def last_synced(self) -> str | None:
        """ISO timestamp of the last successful sync, or None."""
        return self.reader.last_synced()

    def _local(self, remote: bool, what: str) -> bool:
        """True to answer ``what`` from the local catalog; False to ask the archive (logged)."""
        if remote:
            return False
        if not self.reader.is_local:
            log.info("%s: no local catalog at %s; asking the archive", what, self.settings.db_path)
            return False
        return True

    # -- reprs ---------------------------------------------------------------------------------
    def __repr__(self) -> str:
        where = f"local catalog, synced {self.last_synced}" if self.is_local else "remote"
        from campfire.archive.transport import redact_url

        return f"Campfire({redact_url(self.settings.base_url)}, {self.settings.data_dir}, {where})"

    def _repr_html_(self) -> str:
        import html

        from campfire.archive.transport import redact_url

        archive = redact_url(self.settings.base_url)
        rows = [("archive", archive), ("data directory", str(self.data_dir))]
        counts = self.reader.counts()
        if counts is None:
            rows.append(("catalog", "not synced (run cf.sync())"))
        else:
            n_obj, n_spec, n_local = counts
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

    # -- sync, download, SQL -------------------------------------------------------------------
    def sync(
        self, full: bool = False, progress: Callable[[str, int, int], None] | None = None
    ) -> SyncResult:
        """Pull the object/spectra catalog (metadata only, no FITS files) into the local store.

        A catalog of another schema version is rebuilt (the reason is logged and returned as
        ``result["catalog_rebuilt"]``); ``campfire sync`` does the same.

        Parameters
        ----------
        full
            Re-read everything and purge what the archive no longer sends.
        progress
            Called as ``progress(feed, rows_received, rows_total)``.

        Returns
        -------
        SyncResult
            ``observations, objects, spectra, stale_count, ...`` (read like a dict).

        Examples
        --------
        >>> result = cf.sync()  # doctest: +SKIP
        >>> result["stale_count"]  # doctest: +SKIP
        0
        """
        from campfire.sync.engine import sync_local_catalog

        api = self._online("sync()")
        # the query snapshot is built now, so the first query is fast, while the CSVs are written
        return sync_local_catalog(
            api, self.settings.db_path, full=full, progress=progress, meanwhile=self.reader.synced
        )

    download = download
    download_urls = download_urls

    def sql(self, query: str, params: Any = None) -> Table:
        """Run a read-only SQL ``SELECT`` (DuckDB dialect) over the synced catalog.

        Tables: ``objects``, ``spectra``, ``object_photometry``, ``object_lists``,
        ``object_list_memberships`` (see ``docs/python-client.md``).

        Examples
        --------
        >>> cf.sql("SELECT grating, count(*) AS n FROM spectra GROUP BY 1")  # doctest: +SKIP
        """
        return self.reader.sql(query, params)

    # -- single records ------------------------------------------------------------------------
    resolve_object_id = resolve_object_id

    def _opener(self, spectrum: Any) -> SpectrumData:
        return self.open_spectrum(spectrum.spectrum_id)

    def get_object(self, object_id: str, remote: bool = False) -> Object | None:
        """One object with its spectra, tags and photometry attached; None if unknown.

        ``object_id`` is the object's IAU-style name (``J021737.42-051208.5``) or the id of one
        of its targets (``ember_uds_p4_123456``, ``<observation>_<source_id>``), which resolves
        to the sky object that target belongs to.

        Examples
        --------
        >>> obj = cf.get_object("J021737.42-051208.5")  # doctest: +SKIP
        >>> obj.spectra.gratings, obj.tags  # doctest: +SKIP
        (['G395M', 'PRISM'], ['lrd'])
        """
        from campfire.models.object import Object
        from campfire.models.photometry import Photometry

        if not isinstance(object_id, str) or not object_id.strip():
            raise ValidationError(f"object_id must be a non-empty string (got {object_id!r})")
        products = self.settings.products_dir
        if self._local(remote, "get_object"):
            found = self.reader.object_record(object_id)
            if found is None:
                return None
            phot = found["photometry"]
            return Object.from_dict(
                found["row"],
                tags=found["tags"],
                photometry=None if phot is None else Photometry.from_record(phot),
                opener=self._opener,
                products_dir=products,
            )
        row = self.remote.object_row(object_id)
        if row is None:
            return None
        return Object.from_dict(row, tags=row["tags"], opener=self._opener, products_dir=products)

    def get_spectrum(self, spectrum_id: str, remote: bool = False) -> dict[str, Any] | None:
        """One spectrum's catalog row as a dict; None if unknown.

        Examples
        --------
        >>> cf.get_spectrum("ember_uds_p4_prism_clear_123456")["grating"]  # doctest: +SKIP
        'PRISM'
        """
        if not isinstance(spectrum_id, str) or not spectrum_id.strip():
            raise ValidationError(f"spectrum_id must be a non-empty string (got {spectrum_id!r})")
        if self._local(remote, "get_spectrum"):
            return self.reader.spectrum(spectrum_id)
        return self.remote.spectrum(spectrum_id)

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
        if not self._local(remote, "get_metadata"):
            return self.remote.metadata()
        vocab = self.reader.vocabulary()
        # The programs this user can access: what the archive said at the last sync, else the
        # programs of the synced spectra (that feed is access-filtered). The objects' own
        # `programs` lists are not: they also name programs the user cannot see.
        details = program_details(self.reader, self.remote, offline=self.settings.offline)
        programs = sorted(details, key=lambda p: str(p.get("slug")))
        if not programs:
            programs = [
                {"slug": s, "program_name": None, "pi_name": None, "is_public": None}
                for s in self.reader.program_slugs()
            ]
        return {
            "programs": programs,
            "fields": list(vocab["fields"]),
            "gratings": list(vocab["gratings"]),
            "observations": list(vocab["observations"]),
        }

    def _names(self, key: str, remote: bool) -> list[str]:
        if self._local(remote, f"get_{key}"):
            return list(self.reader.vocabulary()[key])
        return list(self.remote.metadata()[key])

    def get_programs(self, remote: bool = False) -> Table:
        """Programs as a Table: ``slug, program_name, pi_name, is_public``."""
        return programs_table(self.get_metadata(remote=remote)["programs"])

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
        local = self._local(remote, "get_tags")
        return tags_table(self.reader.tags() if local else self.remote.tags())

    # -- inspecting (campfire/client/inspections.py, docs/inspecting.md) ---------------------
    inspect = _ins.INSPECT
    set_dq_flags = _ins.SET_DQ_FLAGS
    comment = _ins.COMMENT
    get_comments = _ins.GET_COMMENTS
    create_tag = CREATE_TAG
    tag = TAG
    untag = UNTAG
    push = _ins.PUSH
    resolve_conflict = _ins.RESOLVE_CONFLICT
    outbox = _ins.OUTBOX
    me = ME
    import_inspections = IMPORT_INSPECTIONS

    # -- queries -------------------------------------------------------------------------------
    query_objects = QUERY_OBJECTS
    query_spectra = QUERY_SPECTRA
    export_html = EXPORT_HTML

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

    def _filters(self, kind: str, kw: dict[str, Any]) -> tuple[bool, Filters]:
        """Validate query arguments once: (answer locally?, the filter set)."""
        from campfire.catalog.filters import make_filters

        remote = bool(kw.pop("remote", False))
        local = self._local(remote, f"query_{kind}")
        if not local and kw.get("staleness") is not None and not remote:
            raise ValidationError("staleness needs the synced catalog: run cf.sync() first")
        unknown = set(kw) - set(FILTER_NAMES)
        if unknown:
            raise TypeError(
                f"unknown filter(s) {', '.join(sorted(unknown))}; "
                f"filters: {', '.join(FILTER_NAMES)}"
            )
        vocab = self.reader.vocabulary() if local else self.remote.vocabulary()
        ids = program_id_map(self, kw.get("programs"), local)
        return local, make_filters(kind, vocab, remote=not local, program_ids=ids, **kw)

    def _query(self, kind: str, kw: dict[str, Any]) -> Table:
        local, flt = self._filters(kind, kw)
        return self.reader.query(kind, flt) if local else self.remote.query(kind, flt)

    def _iter(self, kind: str, kw: dict[str, Any]) -> Iterator[dict[str, Any]]:
        local, flt = self._filters(kind, kw)  # validated now, not at the first next()
        return self.reader.iter_rows(kind, flt) if local else self.remote.iter_rows(kind, flt)

    # -- spectrum files ------------------------------------------------------------------------
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
        files = self.downloads
        fetched = files.fetched(spectrum_id)
        if fetched is not None:  # fetched earlier without a catalog
            spec = files.read(fetched)
            spec.spectrum_id = spectrum_id
            return spec
        row = self.reader.spectrum_to_open(spectrum_id)
        path = None if row is None else files.local_file(row)
        if path is None:
            if row is None:
                why = "not in the local catalog" if self.is_local else "no local catalog"
                if self.settings.offline:
                    raise NotFoundError(
                        f"spectrum {spectrum_id!r} is {why}, and CAMPFIRE_OFFLINE=1 stops us "
                        "asking the archive. Check the id, or sync when online."
                    )
                log.info("open_spectrum(%s): %s; asking the archive", spectrum_id, why)
                row = self.remote.spectrum(spectrum_id)
                if row is None:
                    raise NotFoundError(f"no spectrum {spectrum_id!r} on the archive either")
            else:
                log.info("open_spectrum(%s): not downloaded; fetching it", spectrum_id)
            path = files.fetch(row)
        assert row is not None  # found locally, or on the archive
        spec = files.read(path)
        spec.spectrum_id = spectrum_id
        spec.object_id = spec.object_id or row.get("object_id")
        if spec.redshift is None and row.get("_redshift") is not None:
            spec.redshift = row["_redshift"]
        return spec

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
        row = self.reader.spectrum(spectrum_id)
        if row is None and not api.server_info().has("redshift-fit-spectrum-id"):
            row = self.remote.spectrum(spectrum_id)
            if row is None:
                raise NotFoundError(f"no spectrum {spectrum_id!r}")
        if row is not None and row.get("fits_path"):
            return dict(api.get_redshift_fit_data(path=row["fits_path"]))
        return dict(api.get_redshift_fit_data(spectrum_id))

    # -- imaging (campfire/client/cutouts.py) -------------------------------------------------
    get_cutout = _cut.get_cutout
    get_shutters = _cut.get_shutters
    get_shutters_region = _cut.get_shutters_region
    plot_cutout = _cut.plot_cutout
