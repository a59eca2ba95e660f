"""Writers for the synthetic products: ``_spec.fits``, ``_zfit.fits`` and ECSV tables.

The FITS layouts follow data-formats section 0.2/0.3; nothing depends on the clock, so the same
inputs give byte-identical files.

Examples
--------
>>> write_ecsv(Path("t.ecsv"), {"source_id": np.array([1, 2]), "ra": np.array([1.0, 2.0])},
...            units={"ra": "deg"})  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from campfire.server.synth_redshifts import RedshiftFit
from campfire.server.synth_spectra import APERTURES, N_ROWS_2D, PIXEL_SCALE, SyntheticSpectrum
from campfire.server.synth_spectra import flam as to_flam

__all__ = ["write_ecsv", "write_spec_fits", "write_zfit_fits"]

_FLAM_UNIT = "erg / (s cm2 Angstrom)"
_UJY_PER_MJYSR_A2 = 1e12 / 4.254517029615221e10  # µJy/arcsec² per MJy/sr


def write_ecsv(
    path: Path,
    columns: dict[str, np.ndarray],
    units: dict[str, str] | None = None,
    meta: dict[str, Any] | None = None,
) -> Path:
    """Write columns as an ECSV table (masked values for NaN in float columns)."""
    from astropy.table import MaskedColumn, Table

    table = Table(meta=meta or {})
    for name, values in columns.items():
        arr = np.asarray(values)
        unit = (units or {}).get(name)
        if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
            table[name] = MaskedColumn(arr, mask=~np.isfinite(arr), unit=unit)
        else:
            table[name] = arr
            if unit:
                table[name].unit = unit
    path.parent.mkdir(parents=True, exist_ok=True)
    table.write(path, format="ascii.ecsv", overwrite=True)
    return path


def _primary(header: dict[str, Any]) -> Any:
    from astropy.io import fits

    hdu = fits.PrimaryHDU()
    for key, value in header.items():
        hdu.header[key] = value
    return hdu


def write_spec_fits(
    path: Path,
    spec: SyntheticSpectrum,
    primary: dict[str, Any],
    sci_header: dict[str, Any],
    exposures: dict[str, np.ndarray],
) -> Path:
    """Write a ``_spec.fits`` file (PRIMARY, SPEC1D, SCI, ERR, WAVELENGTH, WHT, PROF1D,
    EXPOSURES).

    Parameters
    ----------
    path
        Output file.
    spec
        The simulated spectrum.
    primary
        Primary-header keywords (values or ``(value, comment)``), in order.
    sci_header
        Keywords for the 2D image headers.
    exposures
        Columns of the EXPOSURES table.
    """
    from astropy.io import fits

    wave = spec.wave
    cols = [
        fits.Column(name="wave", format="D", unit="um", array=wave),
        fits.Column(name="fnu", format="E", unit="uJy", array=spec.fnu),
        fits.Column(name="fnu_err", format="E", unit="uJy", array=spec.fnu_err),
        fits.Column(name="flam", format="E", unit=_FLAM_UNIT, array=to_flam(spec.fnu, wave)),
        fits.Column(
            name="flam_err", format="E", unit=_FLAM_UNIT, array=to_flam(spec.fnu_err, wave)
        ),
    ]
    for w in APERTURES:
        f, e = spec.boxcar[w]
        cols += [
            fits.Column(name=f"fnu_{w}px", format="E", unit="uJy", array=f),
            fits.Column(name=f"fnu_{w}px_err", format="E", unit="uJy", array=e),
            fits.Column(name=f"flam_{w}px", format="E", unit=_FLAM_UNIT, array=to_flam(f, wave)),
            fits.Column(
                name=f"flam_{w}px_err", format="E", unit=_FLAM_UNIT, array=to_flam(e, wave)
            ),
        ]
    spec1d = fits.BinTableHDU.from_columns(cols, name="SPEC1D")
    spec1d.header["TOMUJY"] = (1.0, "Conversion from table values to microJansky")
    spec1d.header["YTRACE"] = (round(spec.trace_row, 4), "Trace centre, row (0 = bottom edge)")

    images = []
    for name, data, unit in (
        ("SCI", spec.sci, "uJy"),
        ("ERR", spec.err, "uJy"),
        ("WAVELENGTH", np.broadcast_to(wave, spec.sci.shape), "um"),
        ("WHT", spec.wht, "1/uJy2"),
    ):
        hdu = fits.ImageHDU(np.asarray(data, dtype=np.float32), name=name)
        hdu.header["BUNIT"] = unit
        for key, value in sci_header.items():
            hdu.header[key] = value
        images.append(hdu)

    ypos = np.arange(N_ROWS_2D) + 0.5
    prof_cols = [
        fits.Column(name="ypos", format="E", array=ypos),
        fits.Column(name="opt", format="E", array=spec.profile),
    ]
    for w in APERTURES:
        lo = round(spec.trace_row - w / 2.0)
        box = ((np.arange(N_ROWS_2D) >= lo) & (np.arange(N_ROWS_2D) < lo + w)) / float(w)
        prof_cols.append(fits.Column(name=f"{w}px", format="E", array=box))
    prof = fits.BinTableHDU.from_columns(prof_cols, name="PROF1D")
    prof.header["PSCALE"] = (PIXEL_SCALE, "arcsec per row")

    exp_cols = []
    for name, arr in exposures.items():
        arr = np.asarray(arr)
        fmt = (
            f"{max(len(str(v)) for v in arr)}A"
            if arr.dtype.kind in "US"
            else ("K" if arr.dtype.kind == "i" else "D")
        )
        exp_cols.append(fits.Column(name=name, format=fmt, array=arr))
    expo = fits.BinTableHDU.from_columns(exp_cols, name="EXPOSURES")

    hdul = fits.HDUList([_primary(primary), spec1d, *images, prof, expo])
    path.parent.mkdir(parents=True, exist_ok=True)
    hdul.writeto(path, overwrite=True)
    return path


def write_zfit_fits(path: Path, fit: RedshiftFit, primary: dict[str, Any]) -> Path:
    """Write a ``_zfit.fits`` file (PRIMARY with ZBEST…, MODEL, CHI2)."""
    from astropy.io import fits

    def finite(v: float) -> float:
        return float(v) if np.isfinite(v) else -1.0

    head = dict(primary)
    head.update(
        {
            "ZBEST": (round(finite(fit.zbest), 6), "best redshift (fine pass)"),
            "ZBEST_C": (round(finite(fit.zbest_coarse), 5), "best redshift of the coarse pass"),
            "ZQUAL": (int(fit.zqual), "3 confident, 2 likely, 1 ambiguous, 0 failed"),
            "ZCONF": (round(fit.zconf, 5), "P(|dln(1+z)| < 0.01)"),
            "CHI2MIN": (round(finite(fit.chi2min), 4), "minimum chi-square"),
            "NPIX": (int(fit.npix), "pixels fitted"),
        }
    )
    model = fits.BinTableHDU.from_columns(
        [
            fits.Column(name="wav", format="D", unit="um", array=fit.model_wave),
            fits.Column(name="fnu", format="E", unit="uJy", array=fit.model_fnu),
        ],
        name="MODEL",
    )
    chi2 = fits.BinTableHDU.from_columns(
        [
            fits.Column(name="z", format="D", array=fit.z_grid),
            fits.Column(name="chi2", format="D", array=fit.chi2_grid),
        ],
        name="CHI2",
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fits.HDUList([_primary(head), model, chi2]).writeto(path, overwrite=True)
    return path


def photometric_keywords() -> dict[str, Any]:
    """SCI-header photometric keywords for 0.1″ rectified pixels in µJy."""
    pixar_a2 = PIXEL_SCALE**2
    return {
        "PHOTMJSR": (1.0, "flux calibration already applied"),
        "PHOTUJA2": (_UJY_PER_MJYSR_A2, "uJy/arcsec2 per MJy/sr"),
        "PIXAR_A2": (pixar_a2, "pixel area, arcsec2"),
        "PIXAR_SR": (pixar_a2 / 4.254517029615221e10, "pixel area, sr"),
        "DISPAXIS": (1, "dispersion along x"),
        "SPORDER": (1, "spectral order"),
        "WAVECOR": (True, "wavelength zero-point corrected"),
        "PTHLOSS": (True, "path-loss corrected"),
    }
