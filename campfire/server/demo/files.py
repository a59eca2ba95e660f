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

from campfire.server.demo.fitsfile import Column, image_hdu, primary_hdu, table_hdu, write_fits
from campfire.server.demo.redshifts import RedshiftFit
from campfire.server.demo.spectra import APERTURES, N_ROWS_2D, PIXEL_SCALE, SyntheticSpectrum
from campfire.server.demo.spectra import flam as to_flam

__all__ = [
    "spec_measures",
    "write_ecsv",
    "write_spec_fits",
    "write_zfit_fits",
    "zfit_header",
    "zfit_measures",
]

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


_Column = Column  # name, FITS format, unit, values


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
) -> bytes:
    """Write a ``_spec.fits`` file (PRIMARY, SPEC1D, SCI, ERR, WAVELENGTH, WHT, PROF1D,
    EXPOSURES); return its bytes.

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
    spec1d, prof1d = _spec1d_columns(spec), _prof1d_columns(spec)
    images = (
        ("SCI", spec.sci, "uJy"),
        ("ERR", spec.err, "uJy"),
        ("WAVELENGTH", np.broadcast_to(spec.wave, spec.sci.shape), "um"),
        ("WHT", spec.wht, "1/uJy2"),
    )
    trace = {
        "TOMUJY": (1.0, "Conversion from table values to microJansky"),
        "YTRACE": (round(spec.trace_row, 4), "Trace centre, row (0 = bottom edge)"),
    }
    hdus = [
        primary_hdu(primary),
        table_hdu("SPEC1D", spec1d, trace),
        *(image_hdu(name, data, {"BUNIT": unit, **sci_header}) for name, data, unit in images),
        table_hdu("PROF1D", prof1d, {"PSCALE": (PIXEL_SCALE, "arcsec per row")}),
        table_hdu("EXPOSURES", _exposure_columns(exposures), {}),
    ]
    return write_fits(path, hdus)


def write_zfit_fits(path: Path, fit: RedshiftFit, primary: dict[str, Any]) -> bytes:
    """Write a ``_zfit.fits`` file (PRIMARY with ZBEST…, MODEL, CHI2); return its bytes."""
    head = zfit_header(fit, primary)
    model: list[_Column] = [("wav", "D", "um", fit.model_wave), ("fnu", "E", "uJy", fit.model_fnu)]
    chi2: list[_Column] = [("z", "D", None, fit.z_grid), ("chi2", "D", None, fit.chi2_grid)]
    return write_fits(path, [primary_hdu(head), table_hdu("MODEL", model, {}),
                             table_hdu("CHI2", chi2, {})])  # fmt: skip


def zfit_header(fit: RedshiftFit, primary: dict[str, Any]) -> dict[str, Any]:
    """A ``_zfit.fits`` primary header: ``primary`` and the fit's ``ZBEST``, ``ZQUAL``…"""
    head = dict(primary)
    if np.isfinite(fit.zbest):  # a failed fit has no redshift rather than a made-up one
        head["ZBEST"] = (round(float(fit.zbest), 6), "best redshift (fine pass)")
        head["ZBEST_C"] = (round(float(fit.zbest_coarse), 5), "best redshift, coarse pass")
    head["ZQUAL"] = (int(fit.zqual), "3 confident, 2 likely, 1 ambiguous, 0 failed")
    head["ZCONF"] = (round(float(fit.zconf), 5), "P(|dln(1+z)| < 0.01)")
    if np.isfinite(fit.chi2min):
        head["CHI2MIN"] = (round(float(fit.chi2min), 4), "minimum chi-square")
    head["NPIX"] = (int(fit.npix), "pixels fitted")
    return head


def _values(header: dict[str, Any]) -> dict[str, Any]:
    return {k: v[0] if isinstance(v, tuple) else v for k, v in header.items()}


def _f32(values: np.ndarray) -> np.ndarray:
    """Values as a FITS ``E`` column or float32 image stores them, read back as float64."""
    stored: np.ndarray = np.asarray(values, dtype=np.float32).astype(float)
    return stored


def spec_measures(raw: bytes, spec: SyntheticSpectrum, primary: dict[str, Any]) -> Any:
    """What the ingest measures in a ``_spec.fits`` file :func:`write_spec_fits` wrote (its
    bytes ``raw``), from the values written: the ingest need not read the file again.
    """
    from campfire.server.ingest.spectrumfile import spec_content

    head = _values(primary)
    exptime = head.get("EXPTIME")
    return spec_content(
        raw, grating=head.get("GRATING"), wave=np.asarray(spec.wave, dtype=float),
        fnu=_f32(spec.fnu), err=_f32(spec.fnu_err), sci=_f32(spec.sci), err2d=_f32(spec.err),
        prof_pix=_f32(np.arange(N_ROWS_2D) + 0.5), prof_fit=_f32(spec.profile),
        exptime=None if exptime is None else float(exptime),
        version=str(head.get("CMPFRVER", "") or "v1.0").strip() or "v1.0",
        dq=int(head.get("CMPFRDQ", 0) or 0),
    )  # fmt: skip


def zfit_measures(raw: bytes, fit: RedshiftFit, primary: dict[str, Any]) -> Any:
    """What the ingest reads from a ``_zfit.fits`` file :func:`write_zfit_fits` wrote."""
    from campfire.server.ingest.spectrumfile import zfit_content

    head = _values(zfit_header(fit, primary))
    keys = ("ZBEST", "CHI2MIN", "ZCONF", "ZQUAL")
    return zfit_content(
        raw, {k: None if head.get(k) is None else float(head[k]) for k in keys},
        z_grid=fit.z_grid, chi2_grid=fit.chi2_grid, model_wave=fit.model_wave,
        model_fnu=_f32(fit.model_fnu),
    )  # fmt: skip


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
