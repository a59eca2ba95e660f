"""Writers for the synthetic products: ``_spec.fits``, ``_zfit.fits`` and ECSV tables.

The FITS layouts follow data-formats section 0.2/0.3; nothing depends on the clock, so the same
inputs give byte-identical files.

Examples
--------
>>> write_ecsv(Path("t.ecsv"), {"source_id": np.array([1, 2]), "ra": np.array([1.0, 2.0])},
...            units={"ra": "deg"})  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from campfire.server.demo.redshifts import RedshiftFit
from campfire.server.demo.spectra import APERTURES, N_ROWS_2D, PIXEL_SCALE, SyntheticSpectrum
from campfire.server.demo.spectra import flam as to_flam

__all__ = ["write_ecsv", "write_spec_fits", "write_zfit_fits"]

_FLAM_UNIT = "erg / (s cm2 Angstrom)"
_UJY_PER_MJYSR_A2 = 1e12 / 4.254517029615221e10  # µJy/arcsec² per MJy/sr


def _ecsv_type(arr: np.ndarray) -> str:
    if arr.dtype.kind in "iu":
        return "int64"
    if arr.dtype.kind == "f":
        return "float64"
    if arr.dtype.kind == "b":
        return "bool"
    return "string"


def _ecsv_cells(arr: np.ndarray) -> list[str]:
    kind = arr.dtype.kind
    if kind in "iu":
        return [str(v) for v in arr.tolist()]
    if kind == "f":
        return ['""' if v != v or v in (np.inf, -np.inf) else repr(v) for v in arr.tolist()]
    if kind == "b":
        return ["True" if v else "False" for v in arr.tolist()]
    out = []
    for v in arr.astype(str).tolist():
        if v == "" or any(c in v for c in ' "#') or v[0] == "'":
            v = '"' + v.replace('"', '""') + '"'
        out.append(v)
    return out


def write_ecsv(
    path: Path,
    columns: dict[str, np.ndarray],
    units: dict[str, str] | None = None,
) -> Path:
    """Write columns as an ECSV 1.0 table; NaN in float columns is written as missing (masked).

    Strings are quoted when they are empty or hold spaces, quotes or ``#``; floats are written
    with Python's shortest round-trip ``repr``.
    """
    arrays = {name: np.asarray(values) for name, values in columns.items()}
    lines = ["# %ECSV 1.0", "# ---", "# datatype:"]
    for name, arr in arrays.items():
        unit = (units or {}).get(name)
        unit_text = f" unit: {unit}," if unit else ""
        lines.append(f"# - {{name: {name},{unit_text} datatype: {_ecsv_type(arr)}}}")
    lines.append("# schema: astropy-2.0")
    lines.append(" ".join(arrays))
    cells = [_ecsv_cells(arr) for arr in arrays.values()]
    lines.extend(" ".join(row) for row in zip(*cells, strict=True))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


#: one binary-table column: name, FITS format, unit, values
_Column = tuple[str, str, str | None, np.ndarray]

_TEMPLATES: dict[tuple[Any, ...], Any] = {}  # HDU lists reused per layout: building headers is slow


def _set_header(header: Any, values: dict[str, Any]) -> None:
    for key, value in values.items():
        header[key] = value


def _table(name: str, columns: Sequence[_Column]) -> Any:
    from astropy.io import fits

    cols = [fits.Column(name=n, format=f, unit=u, array=a) for n, f, u, a in columns]
    return fits.BinTableHDU.from_columns(cols, name=name)


def _fill_table(hdu: Any, columns: Sequence[_Column]) -> None:
    for name, _, _, arr in columns:
        hdu.data[name][:] = arr


def _spec1d_columns(spec: SyntheticSpectrum) -> list[_Column]:
    wave = spec.wave
    cols: list[_Column] = [
        ("wave", "D", "um", wave),
        ("fnu", "E", "uJy", spec.fnu),
        ("fnu_err", "E", "uJy", spec.fnu_err),
        ("flam", "E", _FLAM_UNIT, to_flam(spec.fnu, wave)),
        ("flam_err", "E", _FLAM_UNIT, to_flam(spec.fnu_err, wave)),
    ]
    for w in APERTURES:
        f, e = spec.boxcar[w]
        cols += [
            (f"fnu_{w}px", "E", "uJy", f),
            (f"fnu_{w}px_err", "E", "uJy", e),
            (f"flam_{w}px", "E", _FLAM_UNIT, to_flam(f, wave)),
            (f"flam_{w}px_err", "E", _FLAM_UNIT, to_flam(e, wave)),
        ]
    return cols


def _prof1d_columns(spec: SyntheticSpectrum) -> list[_Column]:
    rows = np.arange(N_ROWS_2D)
    cols: list[_Column] = [
        ("ypos", "E", None, rows + 0.5),
        ("opt", "E", None, spec.profile),
    ]
    for w in APERTURES:
        lo = round(spec.trace_row - w / 2.0)
        cols.append((f"{w}px", "E", None, ((rows >= lo) & (rows < lo + w)) / float(w)))
    return cols


def _exposure_columns(exposures: dict[str, np.ndarray]) -> list[_Column]:
    cols: list[_Column] = []
    for name, values in exposures.items():
        arr = np.asarray(values)
        if arr.dtype.kind in "US":
            fmt = f"{arr.dtype.itemsize // (4 if arr.dtype.kind == 'U' else 1)}A"
        else:
            fmt = "K" if arr.dtype.kind == "i" else "D"
        cols.append((name, fmt, None, arr))
    return cols


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

    spec1d, prof1d = _spec1d_columns(spec), _prof1d_columns(spec)
    expo = _exposure_columns(exposures)
    images = (
        ("SCI", spec.sci, "uJy"),
        ("ERR", spec.err, "uJy"),
        ("WAVELENGTH", np.broadcast_to(spec.wave, spec.sci.shape), "um"),
        ("WHT", spec.wht, "1/uJy2"),
    )
    key = ("spec", spec.sci.shape, tuple(primary), tuple(sci_header),
           tuple((n, f) for n, f, _, _ in expo))  # fmt: skip
    hdul = _TEMPLATES.get(key)
    if hdul is None:
        hdus = [fits.PrimaryHDU(), _table("SPEC1D", spec1d)]
        for name, data, unit in images:
            hdu = fits.ImageHDU(np.zeros(data.shape, dtype=np.float32), name=name)
            hdu.header["BUNIT"] = unit
            hdus.append(hdu)
        hdus += [_table("PROF1D", prof1d), _table("EXPOSURES", expo)]
        hdul = _TEMPLATES[key] = fits.HDUList(hdus)
    _set_header(hdul[0].header, primary)
    _fill_table(hdul["SPEC1D"], spec1d)
    _set_header(hdul["SPEC1D"].header, {
        "TOMUJY": (1.0, "Conversion from table values to microJansky"),
        "YTRACE": (round(spec.trace_row, 4), "Trace centre, row (0 = bottom edge)"),
    })  # fmt: skip
    for name, data, _ in images:
        hdul[name].data[...] = data
        _set_header(hdul[name].header, sci_header)
    _fill_table(hdul["PROF1D"], prof1d)
    hdul["PROF1D"].header["PSCALE"] = (PIXEL_SCALE, "arcsec per row")
    _fill_table(hdul["EXPOSURES"], expo)
    path.parent.mkdir(parents=True, exist_ok=True)
    hdul.writeto(path, overwrite=True, output_verify="ignore")
    return path


def write_zfit_fits(path: Path, fit: RedshiftFit, primary: dict[str, Any]) -> Path:
    """Write a ``_zfit.fits`` file (PRIMARY with ZBEST…, MODEL, CHI2)."""
    from astropy.io import fits

    head = dict(primary)
    if np.isfinite(fit.zbest):  # a failed fit has no redshift rather than a made-up one
        head["ZBEST"] = (round(float(fit.zbest), 6), "best redshift (fine pass)")
        head["ZBEST_C"] = (round(float(fit.zbest_coarse), 5), "best redshift, coarse pass")
    head["ZQUAL"] = (int(fit.zqual), "3 confident, 2 likely, 1 ambiguous, 0 failed")
    head["ZCONF"] = (round(float(fit.zconf), 5), "P(|dln(1+z)| < 0.01)")
    if np.isfinite(fit.chi2min):
        head["CHI2MIN"] = (round(float(fit.chi2min), 4), "minimum chi-square")
    head["NPIX"] = (int(fit.npix), "pixels fitted")
    model: list[_Column] = [("wav", "D", "um", fit.model_wave), ("fnu", "E", "uJy", fit.model_fnu)]
    chi2: list[_Column] = [("z", "D", None, fit.z_grid), ("chi2", "D", None, fit.chi2_grid)]
    key = ("zfit", fit.model_wave.size, fit.z_grid.size, tuple(head))
    hdul = _TEMPLATES.get(key)
    if hdul is None:
        hdul = fits.HDUList([fits.PrimaryHDU(), _table("MODEL", model), _table("CHI2", chi2)])
        _TEMPLATES[key] = hdul
    _set_header(hdul[0].header, head)
    _fill_table(hdul["MODEL"], model)
    _fill_table(hdul["CHI2"], chi2)
    path.parent.mkdir(parents=True, exist_ok=True)
    hdul.writeto(path, overwrite=True, output_verify="ignore")
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
