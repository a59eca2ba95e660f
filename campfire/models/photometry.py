"""An object's broadband photometry from a catalog (:class:`Photometry`), band by band.

Split from :mod:`campfire.models.object` (which re-exports both names): the photometry an
:class:`~campfire.models.object.Object` carries, as the archive's catalogs give it, is a small
self-contained table with no tie to spectra. Synthetic photometry *computed from* a spectrum
through filter curves is :mod:`campfire.science.photometry`.

Examples
--------
>>> rec = {"catalog_name": "UVCANDELS", "photo_z": 3.51, "photometry": {"flux_unit": "uJy",
...        "bands": {"f444w": {"flux": 2.0, "flux_err": 0.1, "wav": 4.40},
...                  "f150w": {"flux": 1.0, "flux_err": 0.1, "wav": 1.50}}}}
>>> phot = Photometry.from_record(rec)
>>> phot.bands, phot['F444W'].flux
(['f150w', 'f444w'], 2.0)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

if TYPE_CHECKING:
    from astropy.table import Table

__all__ = ["BandFlux", "Photometry"]


class BandFlux(NamedTuple):
    """One band of a :class:`Photometry`: flux and error in µJy, pivot wavelength in µm."""

    flux: float
    flux_err: float
    wavelength: float


@dataclass(eq=False)
class Photometry:
    """Broadband photometry of one object from one catalog, as parallel arrays.

    Attributes
    ----------
    bands
        Lower-case band names (``'f444w'``), sorted by wavelength.
    flux, flux_err
        Flux densities and 1σ errors in µJy.
    wavelength
        Band pivot wavelengths in µm (NaN when the catalog did not give one).
    catalog, catalog_id, match_distance_arcsec
        The source catalog, the object's id in it and the match distance.
    photo_z, photo_z_err_lo, photo_z_err_hi
        The catalog's photometric redshift and its errors, or None.
    """

    bands: list[str]
    flux: np.ndarray
    flux_err: np.ndarray
    wavelength: np.ndarray
    catalog: str | None = None
    catalog_id: str | None = None
    match_distance_arcsec: float | None = None
    photo_z: float | None = None
    photo_z_err_lo: float | None = None
    photo_z_err_hi: float | None = None
    flux_unit: str = "uJy"
    object_id: str | None = None
    _index: dict[str, int] = dc_field(default_factory=dict, repr=False, init=False)

    def __post_init__(self) -> None:
        self.bands = [str(b).lower() for b in self.bands]
        self.flux = np.asarray(self.flux, dtype=float)
        self.flux_err = np.asarray(self.flux_err, dtype=float)
        self.wavelength = np.asarray(self.wavelength, dtype=float)
        self._index = {b: i for i, b in enumerate(self.bands)}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Photometry:
        """Build from a catalog record (``/sync/photometry`` row or local store row).

        ``record['photometry']`` may be a dict or its JSON text:
        ``{"flux_unit": "uJy", "bands": {"f444w": {"flux", "flux_err", "wav"}}}``.
        """
        phot = record.get("photometry") or {}
        if isinstance(phot, str):
            phot = json.loads(phot)
        bands = phot.get("bands") or {}
        items = sorted(
            bands.items(),
            key=lambda kv: (kv[1].get("wav") is None, kv[1].get("wav") or 0.0, kv[0]),
        )

        def num(v: Any) -> float:
            return float("nan") if v is None else float(v)

        return cls(
            bands=[k for k, _ in items],
            flux=np.array([num(v.get("flux")) for _, v in items]),
            flux_err=np.array([num(v.get("flux_err")) for _, v in items]),
            wavelength=np.array([num(v.get("wav")) for _, v in items]),
            catalog=record.get("catalog_name"),
            catalog_id=None if record.get("catalog_id") is None else str(record["catalog_id"]),
            match_distance_arcsec=record.get("match_distance_arcsec"),
            photo_z=record.get("photo_z"),
            photo_z_err_lo=record.get("photo_z_err_lo"),
            photo_z_err_hi=record.get("photo_z_err_hi"),
            flux_unit=phot.get("flux_unit", "uJy"),
            object_id=record.get("object_id"),
        )

    def __len__(self) -> int:
        return len(self.bands)

    def __contains__(self, band: object) -> bool:
        return isinstance(band, str) and band.lower() in self._index

    def __getitem__(self, band: str) -> BandFlux:
        key = band.lower()
        if key.startswith("jwst_"):
            key = key[5:]
        if key not in self._index:
            raise KeyError(f"band {band!r} not in this photometry; bands are {self.bands}")
        i = self._index[key]
        return BandFlux(float(self.flux[i]), float(self.flux_err[i]), float(self.wavelength[i]))

    def __repr__(self) -> str:
        pz = "" if self.photo_z is None else f", photo_z={self.photo_z:.2f}"
        return f"Photometry({len(self)} bands, {self.catalog or '?'}{pz})"

    def to_table(self) -> Table:
        """Return ``band, wavelength [µm], flux [µJy], flux_err [µJy]`` as an astropy Table."""
        import astropy.units as u
        from astropy.table import Table

        return Table(
            {
                "band": list(self.bands),
                "wavelength": self.wavelength * u.um,
                "flux": self.flux * u.uJy,
                "flux_err": self.flux_err * u.uJy,
            },
            meta={"catalog": self.catalog, "photo_z": self.photo_z},
        )

    def to_svg(self) -> str:
        """A small inline SVG of this SED: flux ± 1σ against log wavelength, band names as
        tooltips (see :func:`campfire.views.cards.sed_svg`); ``""`` when no band has a flux.

        Examples
        --------
        >>> Photometry(["f150w"], [1.0], [0.1], [1.5]).to_svg().startswith("<svg")
        True
        """
        from campfire.views.cards import sed_svg

        return sed_svg(self)

    def _repr_html_(self) -> str:
        from campfire.views.cards import photometry_html

        return photometry_html(self)
