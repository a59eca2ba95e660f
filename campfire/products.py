"""Opening spectrum files for :class:`~campfire.client.Campfire`: local first, else fetched.

``open_spectrum`` reads a downloaded (or pipeline-reduced) FITS file under ``products/``
with no network call; a file not yet on disk is fetched through the archive, verified and
kept, so the next open is local. Recent reads are kept in memory (keyed by path, mtime and
size) and every caller gets its own arrays. :class:`Products` is one of the classes
``Campfire`` is assembled from (see :mod:`campfire.connection`).

Examples
--------
>>> spec = cf.open_spectrum("ember_uds_p4_prism_clear_123456")  # doctest: +SKIP
>>> fit = cf.get_redshift_fit_data("ember_uds_p4_prism_clear_123456")  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from campfire.catalog.columns import best_redshift
from campfire.errors import NotFoundError, ValidationError
from campfire.records import Records

if TYPE_CHECKING:
    from campfire.models.data import SpectrumData

__all__ = ["Products"]

log = logging.getLogger("campfire.client")
_OPENED_CACHE = 32  # spectra kept in memory after open_spectrum (keyed by file and mtime)


class Products(Records):
    """Spectrum files: ``open_spectrum`` and the archive's plotting and redshift-fit data.

    Examples
    --------
    >>> cf.open_spectrum("ember_uds_p4_prism_clear_123456").grating  # doctest: +SKIP
    'PRISM'
    """

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
            spec.redshift = best_redshift(
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

    def _fetch(self, row: dict[str, Any]) -> Path:
        from campfire.catalog.store import Store
        from campfire.download.run import fetch_one

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
