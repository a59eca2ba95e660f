"""SpectrumData: one 1D spectrum's arrays, in the units the reference documents.

Wavelength is in µm, ``fnu``/``fnu_err`` in µJy and ``flam``/``flam_err`` in erg/s/cm²/Å
(computed from ``fnu`` when a file has no f_λ). Pixels that no measurement supports (non-finite
flux or error, ``err <= 0``, ``flux == 0``, as msaexp defines them) are *masked*: ``valid`` is
False there and the flux and error arrays hold NaN, so they can never be used by accident.

Examples
--------
>>> import numpy as np
>>> from campfire.spectrum import SpectrumData
>>> s = SpectrumData(wavelength=np.array([1.0, 2.0]), fnu=np.array([1.0, 0.0]),
...                  fnu_err=np.array([0.1, 0.1]), grating="PRISM", spectrum_id="demo")
>>> s.valid.tolist(), float(s.flam[0])
([True, False], 2.99792458e-19)
>>> s
SpectrumData(demo, PRISM, 2 pixels, 1.00-2.00 μm)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from astropy.table import Table

__all__ = ["FLAM_PER_UJY_UM2", "SpectrumData", "fnu_to_flam"]

#: f_λ [erg/s/cm²/Å] = f_ν [µJy] × FLAM_PER_UJY_UM2 / λ[µm]²
#: (c = 2.99792458e18 Å/s, 1 µJy = 1e-29 erg/s/cm²/Hz)
FLAM_PER_UJY_UM2 = 2.99792458e-19


def fnu_to_flam(fnu: np.ndarray, wavelength_um: np.ndarray) -> np.ndarray:
    """Convert f_ν in µJy to f_λ in erg/s/cm²/Å at wavelengths in µm.

    Examples
    --------
    >>> float(fnu_to_flam(np.array([3631e6]), np.array([1.0]))[0])  # 3631 Jy at 1 µm
    1.08854...e-09
    """
    wave = np.asarray(wavelength_um, dtype=float)
    return np.asarray(fnu, dtype=float) * FLAM_PER_UJY_UM2 / wave**2


def _as_float(a: Any) -> np.ndarray:
    return np.array(a, dtype=float, copy=True).ravel()


@dataclass(eq=False)
class SpectrumData:
    """A 1D spectrum with errors, flux in both conventions, a validity mask and its header.

    Parameters
    ----------
    wavelength
        Wavelength in µm, increasing.
    fnu, fnu_err
        Flux density and 1σ error in µJy.
    flam, flam_err
        Flux density and error in erg/s/cm²/Å; computed from ``fnu`` when None.
    header
        The FITS primary header (plus the 1D table's keywords) as a plain dict.
    grating, spectrum_id
        Disperser name (upper case) and the stable spectrum identifier.
    fits_path
        The local file this came from, or None.
    valid
        Boolean mask of usable pixels; derived from the flux and error when None.
    object_id, redshift
        The parent object and its redshift, when known.
    extras
        Optional 2D products: ``sci2d``, ``err2d`` (µJy, shape ny × nwave), ``profile`` …
    """

    wavelength: np.ndarray
    fnu: np.ndarray
    fnu_err: np.ndarray
    flam: np.ndarray | None = None
    flam_err: np.ndarray | None = None
    header: dict[str, Any] = field(default_factory=dict)
    grating: str = ""
    spectrum_id: str = ""
    fits_path: str | None = None
    valid: np.ndarray | None = None
    object_id: str | None = None
    redshift: float | None = None
    extras: dict[str, Any] = field(default_factory=dict, repr=False)
    fnu_units: str = "uJy"
    flam_units: str = "erg / (s cm2 Angstrom)"
    wave_units: str = "um"

    def __post_init__(self) -> None:
        self.wavelength = _as_float(self.wavelength)
        self.fnu = _as_float(self.fnu)
        self.fnu_err = _as_float(self.fnu_err)
        n = self.wavelength.size
        if self.fnu.size != n or self.fnu_err.size != n:
            raise ValueError(
                f"wavelength, fnu and fnu_err must have the same length "
                f"(got {n}, {self.fnu.size}, {self.fnu_err.size})"
            )
        self.grating = (self.grating or "").upper()
        if self.valid is None:
            with np.errstate(invalid="ignore"):
                valid = (
                    np.isfinite(self.wavelength)
                    & np.isfinite(self.fnu)
                    & np.isfinite(self.fnu_err)
                    & (self.fnu_err > 0)
                    & (self.fnu != 0)
                )
        else:
            valid = np.asarray(self.valid, dtype=bool).ravel().copy()
        self.valid = valid
        self.fnu[~valid] = np.nan
        self.fnu_err[~valid] = np.nan
        if self.flam is None:
            self.flam = fnu_to_flam(self.fnu, self.wavelength)
        else:
            self.flam = _as_float(self.flam)
            self.flam[~valid] = np.nan
        if self.flam_err is None:
            self.flam_err = fnu_to_flam(self.fnu_err, self.wavelength)
        else:
            self.flam_err = _as_float(self.flam_err)
            self.flam_err[~valid] = np.nan

    # -- construction ------------------------------------------------------------------------
    @classmethod
    def from_fits(cls, path: str | os.PathLike[str], **kwargs: Any) -> SpectrumData:
        """Read a spectrum file: the archive's ``_spec.fits``, a DJA/msaexp ``.spec.fits``
        (any version) or a JWST pipeline ``x1d``.

        Examples
        --------
        >>> spec = SpectrumData.from_fits("x_spec.fits")  # doctest: +SKIP
        """
        from campfire.io import read_spectrum

        return read_spectrum(path, **kwargs)

    # -- views -------------------------------------------------------------------------------
    def __len__(self) -> int:
        return int(self.wavelength.size)

    def __repr__(self) -> str:
        if len(self):
            rng = f"{np.nanmin(self.wavelength):.2f}-{np.nanmax(self.wavelength):.2f} μm"
        else:
            rng = "empty"
        name = self.spectrum_id or (os.path.basename(self.fits_path) if self.fits_path else "?")
        return f"SpectrumData({name}, {self.grating or '?'}, {len(self)} pixels, {rng})"

    @property
    def n_valid(self) -> int:
        """Number of usable pixels."""
        assert self.valid is not None
        return int(self.valid.sum())

    def to_table(self) -> Table:
        """Return the spectrum as an ``astropy.table.Table`` with units on every column."""
        import astropy.units as u
        from astropy.table import Table

        flam_unit = u.erg / u.s / u.cm**2 / u.AA
        t = Table(meta={"spectrum_id": self.spectrum_id, "grating": self.grating})
        t["wavelength"] = self.wavelength * u.um
        t["fnu"] = self.fnu * u.uJy
        t["fnu_err"] = self.fnu_err * u.uJy
        t["flam"] = np.asarray(self.flam) * flam_unit
        t["flam_err"] = np.asarray(self.flam_err) * flam_unit
        t["valid"] = self.valid
        return t

    def copy(self, **changes: Any) -> SpectrumData:
        """Return a deep copy, with ``changes`` applied to the named fields."""
        kw: dict[str, Any] = {
            "wavelength": self.wavelength.copy(),
            "fnu": self.fnu.copy(),
            "fnu_err": self.fnu_err.copy(),
            "flam": None,
            "flam_err": None,
            "header": dict(self.header),
            "grating": self.grating,
            "spectrum_id": self.spectrum_id,
            "fits_path": self.fits_path,
            "valid": None if self.valid is None else self.valid.copy(),
            "object_id": self.object_id,
            "redshift": self.redshift,
            "extras": dict(self.extras),
        }
        kw.update(changes)
        return SpectrumData(**kw)

    def to_specutils(self) -> Any:
        """Return a ``specutils.Spectrum1D`` (or ``Spectrum``) with uncertainty and mask.

        Requires the optional ``specutils`` package.
        """
        try:
            import specutils
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError(
                "to_specutils() needs specutils: pip install 'campfire[specutils]'"
            ) from exc
        import astropy.units as u
        from astropy.nddata import StdDevUncertainty

        cls = getattr(specutils, "Spectrum", None) or specutils.Spectrum1D
        return cls(
            spectral_axis=self.wavelength * u.um,
            flux=self.fnu * u.uJy,
            uncertainty=StdDevUncertainty(self.fnu_err),
            mask=~np.asarray(self.valid),
            meta={"header": self.header, "spectrum_id": self.spectrum_id},
        )

    def plot(self, flux_unit: str = "fnu", ax: Any = None, **kwargs: Any) -> Any:
        """Quick-look matplotlib plot (``flux_unit`` ``'fnu'`` or ``'flam'``); returns the axes."""
        from campfire.plotting import plot_spectrum_data

        return plot_spectrum_data(self, flux_unit=flux_unit, ax=ax, **kwargs)
