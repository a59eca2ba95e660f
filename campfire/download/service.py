"""The client's download service: FITS files planned from the catalog, fetched and opened.

:class:`DownloadService` is the part of :class:`~campfire.client.Campfire` that moves files:

* :meth:`~DownloadService.prepare` brings the catalog up to date (a quick incremental sync,
  so hashes and access are current) and plans from it alone
  (:func:`~campfire.download.plan.plan_downloads`); :meth:`~DownloadService.run` fetches a
  plan on the worker pool (:func:`~campfire.download.run.download`). ``cf.download()`` is
  the two in a row; ``campfire download`` shows the plan and asks in between.
* :meth:`~DownloadService.local_file`, :meth:`~DownloadService.fetch` and
  :meth:`~DownloadService.read` are ``open_spectrum``'s steps: find a downloaded (or
  pipeline-reduced) file, fetch one verified, and read it, keeping recent reads in memory
  (keyed by path, mtime and size; every caller gets its own arrays).

Examples
--------
>>> service = DownloadService(settings, api, reader)  # doctest: +SKIP
>>> plan = service.prepare(Selection(observations=["ember_uds_p4"]))  # doctest: +SKIP
>>> service.run(plan, workers=4)["downloaded"]  # doctest: +SKIP
12
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from campfire.errors import NotFoundError

if TYPE_CHECKING:
    from campfire.archive.api import ApiClient
    from campfire.catalog.reader import CatalogReader
    from campfire.config import Settings
    from campfire.download.plan import Plan, Selection
    from campfire.download.run import DownloadResult
    from campfire.models.data import SpectrumData

__all__ = ["DownloadService"]

log = logging.getLogger("campfire.client")
_OPENED_CACHE = 32  # spectra kept in memory after a read (keyed by file, mtime and size)


class DownloadService:
    """Plans, runs and single-file fetches for one data directory.

    Parameters
    ----------
    settings
        The client's settings (data directory, offline switch).
    api
        ``api(what)``: the archive client for a call that needs the network (it raises
        :class:`~campfire.errors.OfflineError` naming ``what`` when offline).
    reader
        The client's catalog reader.

    Examples
    --------
    >>> DownloadService(settings, api, reader).prepare(Selection(stale_only=True))  # doctest: +SKIP
    """

    def __init__(
        self, settings: Settings, api: Callable[[str], ApiClient], reader: CatalogReader
    ) -> None:
        self.settings = settings
        self._api = api
        self.reader = reader
        self._fetched: dict[str, Path] = {}  # spectrum_id -> file fetched without a catalog
        self._opened: dict[tuple[str, int, int], SpectrumData] = {}  # recent reads (LRU)

    # -- planned downloads ---------------------------------------------------------------------
    def prepare(
        self, selection: Selection | None = None, *, every_file: bool = False, cli: bool = False
    ) -> Plan:
        """Sync the catalog (incremental, quiet), then plan which files to fetch.

        ``selection`` says what (filters, ids and tags: see
        :class:`~campfire.download.plan.Selection`); ``every_file`` keeps files already
        downloaded in the plan (for :meth:`urls`); ``cli`` words the "choose something" error
        with the command's options.

        Raises
        ------
        NotFoundError
            There is no usable local catalog: run ``cf.sync()`` or ``campfire sync`` first.
        ValidationError
            Nothing was chosen, or a name is unknown (the message names close matches).

        Examples
        --------
        >>> sel = Selection(programs=["EMBER-UDS"], gratings=["PRISM"])  # doctest: +SKIP
        >>> plan = service.prepare(sel)  # doctest: +SKIP
        >>> len(plan), plan.total_bytes  # doctest: +SKIP
        (12, 450200000)
        """
        from campfire.catalog.store import Store
        from campfire.download.plan import Selection, plan_selection
        from campfire.sync.engine import sync_local_catalog

        db = self.settings.db_path
        if not self.reader.is_local:
            raise NotFoundError(f"No local catalog at {db}. Run cf.sync() or campfire sync first.")
        selection = selection or Selection()
        selection.require(cli=cli)
        sync_local_catalog(self._api("download()"), db)  # fresh hashes and access first
        with Store(db, create=False) as store:
            return plan_selection(store, selection, every_file=every_file)

    def urls(self, plan: Plan) -> list[dict[str, Any]]:
        """Each file of ``plan`` with a signed URL from its observation's manifest, without
        downloading: ``spectrum_id, observation, path, url, sha256, size, expires_at``.

        ``path`` is where ``campfire download`` would put the file under ``products/``;
        ``sha256`` is the bare hex digest (``sha256sum -c`` format). Files the manifest no
        longer lists are left out, with a logged warning (run a sync).

        Examples
        --------
        >>> plan = service.prepare(Selection(tags=["lrd"]), every_file=True)  # doctest: +SKIP
        >>> rows = service.urls(plan)  # doctest: +SKIP
        >>> rows[0]["url"].startswith("https://")  # doctest: +SKIP
        True
        """
        from urllib.parse import urljoin

        from campfire.download.run import safe_basename

        api = self._api("download_urls()")
        out: list[dict[str, Any]] = []
        for op in plan.observations:
            if not op.files:
                continue
            manifest = api.fetch_manifest(op.observation)
            entries = {e.get("spectrum_id"): e for e in manifest.get("spectra") or []}
            missing = 0
            for task in op.files:
                entry = entries.get(task.spectrum_id)
                if entry is None or not entry.get("download_url"):
                    missing += 1
                    continue
                digest = str(entry.get("file_hash") or task.file_hash or "")
                size = entry.get("file_size")
                out.append(
                    {
                        "spectrum_id": task.spectrum_id,
                        "observation": op.observation,
                        "path": f"{safe_basename(op.observation, 'observation name')}/"
                        f"{safe_basename(str(entry.get('fits_path') or task.fits_path))}",
                        "url": urljoin(api.base_url + "/", str(entry["download_url"])),
                        "sha256": digest.removeprefix("sha256:") or None,
                        "size": task.file_size if size is None else int(size),
                        "expires_at": manifest.get("url_expires_at"),
                    }
                )
            if missing:
                log.warning(
                    "%s: %d selected file(s) are not in the archive's manifest any more "
                    "(run: campfire sync)",
                    op.observation,
                    missing,
                )
        return out

    def run(
        self, plan: Plan, *, workers: int = 4, progress: Callable[..., None] | None = None
    ) -> DownloadResult:
        """Fetch the files of ``plan``, verified; failures are collected in the result.

        Examples
        --------
        >>> result = service.run(plan, workers=8)  # doctest: +SKIP
        >>> result.ok, result["bytes"]  # doctest: +SKIP
        (True, 450200000)
        """
        from campfire.catalog.store import Store
        from campfire.download.run import DownloadResult, download

        if not plan.files:
            return DownloadResult()
        api = self._api("download()")
        try:
            with Store(self.settings.db_path, create=False) as store:
                return download(api, store, plan, workers=workers, progress=progress)
        finally:  # the workers are done: close their kept-alive connections
            api.transport.close_streams(every_thread=True)

    # -- single spectra (open_spectrum) --------------------------------------------------------
    def fetched(self, spectrum_id: str) -> Path | None:
        """The file fetched earlier by this client for ``spectrum_id``, if still on disk."""
        path = self._fetched.get(spectrum_id)
        return path if path is not None and path.is_file() else None

    def local_file(self, row: dict[str, Any]) -> Path | None:
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

    def fetch(self, row: dict[str, Any]) -> Path:
        """Fetch one spectrum's file through the archive, verified, into ``products/``.

        Without a synced catalog the file is recorded in a side store
        (``.cache/fetched.db``), never ``meta/campfire.db``, which would make an empty
        catalog look synced.
        """
        from campfire.catalog.store import Store
        from campfire.download.run import fetch_one

        sid = str(row["spectrum_id"])
        known = self.fetched(sid)
        if known is not None:
            return known
        api = self._api(f"open_spectrum({sid!r}) of a file not downloaded")
        local = self.reader.is_local
        db = self.settings.db_path if local else self.settings.data_dir / ".cache" / "fetched.db"
        try:
            with Store(db) as store:
                path = Path(fetch_one(api, store, row))
        finally:  # a one-off fetch: keep no socket open after it (no ResourceWarning later)
            api.transport.close_streams()
        self._fetched[sid] = path
        return path

    def read(self, path: Path) -> SpectrumData:
        """Read a FITS file, reusing the arrays of a recent read of the same, unchanged file."""
        import numpy as np

        from campfire.io.fits import read_spectrum

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
