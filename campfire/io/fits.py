"""FITS readers: every 1D spectrum file a CAMPFIRE user meets, read into a SpectrumData.

=============  ==========================================  ====================================
format         file                                        1D table (HDU)
=============  ==========================================  ====================================
``campfire``   the archive's ``*_spec.fits``               ``SPEC1D``: wave, fnu, fnu_err, flam…
``msaexp-v1``  DJA/msaexp drizzle ``*.spec.fits``          ``SPEC1D``: wave, flux, err [, aper_*]
``msaexp-v2``  DJA/msaexp v2 ``*.spec.fits``               ``SPEC1D``: wave, flux, err, path_corr
``msaexp-v3``  DJA/msaexp v3/v4 ``*.spec.fits``            ``SPEC1D``: wave, flux, err, sky, npix…
``x1d``        JWST pipeline ``*_x1d.fits``                ``EXTRACT1D`` (or the first table with
                                                           WAVELENGTH and FLUX)
``table``      any other table with wavelength, flux and   the first such binary table
               error columns
=============  ==========================================  ====================================

Units come from each column's ``TUNIT`` and are converted to µm and µJy (f_λ through
f_ν = f_λ λ² / c), each unit string resolved once by :mod:`campfire.io.units`; a column
without a unit takes the format's documented unit (µJy for the archive and msaexp, Jy for
x1d). Gzipped files are read the same way.
See ``docs/formats.md``.

Examples
--------
>>> from campfire.io.fits import read_spectrum
>>> spec = read_spectrum("rubies-egs61-v4_prism-clear_4233_75646.spec.fits")  # doctest: +SKIP
>>> spec.grating, spec.spectrum_id  # doctest: +SKIP
('PRISM', 'rubies-egs61-v4_prism-clear_4233_75646')
"""

from __future__ import annotations

import contextlib
import os
import re
import warnings
import zlib
from collections.abc import Iterator
from typing import Any

import numpy as np

from campfire.errors import NotFoundError, ValidationError
from campfire.io.blocks import HeaderScan, Unsupported, read_table
from campfire.io.hdus import (
    FLUX_COLS,
    WAVE_COLS,
    HduIndex,
    campfire_2d,
    column_map,
    describe,
    header_dict,
    locate,
    msaexp_2d,
    pick_column,
    spec1d_format,
)
from campfire.io.units import FloatArray, UnitScale, resolve, to_flam, to_ujy, to_um
from campfire.models.data import SpectrumData

__all__ = [
    "MultipleSpectraWarning",
    "grating_from_filename",
    "identify_format",
    "read_spectrum",
    "spectrum_id_from_filename",
]

_GRATINGS = r"prism|g140m|g140h|g235m|g235h|g395m|g395h"
_GRATING_RE = re.compile(rf"(?<![a-z0-9])({_GRATINGS})(?![a-z0-9])")
_ERR_COLS = ("fnu_err", "flux_err", "err", "error", "flux_error", "sigma", "unc", "uncertainty")
_DO_NOT_USE = 1  # JWST DQ bit 0
_PRODUCTS = ("all", "1d")  # what read_spectrum(products=...) reads


class MultipleSpectraWarning(UserWarning):
    """A file holds several spectra and the first was read; pass ``ext=`` or ``source_id=``."""


# -- names -------------------------------------------------------------------------------------
def spectrum_id_from_filename(path: str | os.PathLike[str]) -> str:
    """The spectrum id a file name implies: ``_spec.fits`` / ``.spec.fits`` / ``.fits`` dropped.

    Examples
    --------
    >>> spectrum_id_from_filename("products/ember_uds_p4/ember_uds_p4_prism_clear_123456_spec.fits")
    'ember_uds_p4_prism_clear_123456'
    >>> spectrum_id_from_filename("uncover-v2_prism-clear_2561_20466.spec.fits.gz")
    'uncover-v2_prism-clear_2561_20466'
    """
    name = os.path.basename(os.fspath(path))
    name = re.sub(r"\.(gz|bz2|fz)$", "", name, flags=re.IGNORECASE)
    for suffix in ("_spec.fits", ".spec.fits", ".fits", ".fit", ".fts"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def grating_from_filename(path: str | os.PathLike[str]) -> str | None:
    """The NIRSpec disperser named in a file name (``'PRISM'``, ``'G395M'`` …), or None.

    Examples
    --------
    >>> grating_from_filename("jw01345-o066_s000000933_nirspec_f170lp-g235m_x1d.fits")
    'G235M'
    """
    m = _GRATING_RE.search(os.path.basename(os.fspath(path)).lower())
    return m.group(1).upper() if m else None


# -- units (resolved and cached per string by campfire.io.units) ----------------------------
def _flux_ujy(
    values: Any, scale: UnitScale, wave_um: FloatArray, what: str, name: str
) -> FloatArray:
    if not scale.is_flux_density:
        raise ValidationError(
            f"{name}: column {what!r} has unit {scale!s}, which is not a flux density campfire "
            "can convert to µJy (expected e.g. uJy, Jy or erg/s/cm2/Angstrom); pass "
            "flux_unit='...' to read_spectrum if you know the right unit"
        )
    return to_ujy(values, scale, wave_um)


def _scale(text: Any, default: str) -> UnitScale:
    scale = resolve(text, default)
    assert scale is not None  # a default always resolves
    return scale


def _wave_um(values: Any, unit_text: Any, name: str) -> FloatArray:
    wave = np.asarray(values, dtype=float)
    scale = resolve(unit_text)
    if scale is None:  # no TUNIT: µm, unless the numbers can only be Å (no NIRSpec λ > 100 µm)
        finite = wave[np.isfinite(wave)]
        scale = _scale(None, "Angstrom" if finite.size and np.median(finite) > 100 else "um")
    if scale.kind not in ("length", "frequency"):
        raise ValidationError(f"{name}: the wavelength column has unit {scale!s}, not a length")
    return to_um(wave, scale)


@contextlib.contextmanager
def _damage_is_an_error(path: str) -> Iterator[None]:
    """Turn astropy's warnings about a truncated or damaged file into a ValidationError."""
    from astropy.io.fits.verify import VerifyWarning
    from astropy.utils.exceptions import AstropyUserWarning

    with warnings.catch_warnings():
        warnings.filterwarnings("error", "(?s).*truncated", AstropyUserWarning)
        warnings.filterwarnings("error", "(?s).*(multiple of 2880|corrupted)", VerifyWarning)
        try:
            yield
        except (AstropyUserWarning, VerifyWarning, OSError, EOFError, zlib.error) as exc:
            if isinstance(exc, FileNotFoundError):
                raise
            raise ValidationError(
                f"{os.path.basename(path)} is truncated or corrupt ({' '.join(str(exc).split())}); "
                "download it again"
            ) from exc


def _open(path: str) -> Any:
    from astropy.io import fits

    if not os.path.exists(path):
        raise NotFoundError(f"no such file: {path}")
    if os.path.isdir(path):
        raise ValidationError(f"{path} is a directory; give the path of one FITS file")
    try:
        return fits.open(path)
    except (OSError, EOFError, ValueError, zlib.error) as exc:
        raise ValidationError(
            f"{os.path.basename(path)} is not a readable FITS file ({exc}); campfire reads "
            "_spec.fits, DJA .spec.fits and JWST x1d files (optionally gzipped)"
        ) from exc


def identify_format(path: str | os.PathLike[str]) -> str:
    """Which reader :func:`read_spectrum` would use: ``'campfire'``, ``'msaexp-v1'``,
    ``'msaexp-v2'``, ``'msaexp-v3'``, ``'x1d'`` or ``'table'``; raise if none.

    Examples
    --------
    >>> identify_format("static-test-driz-center-bkg_933.spec.fits")  # doctest: +SKIP
    'msaexp-v1'
    """
    p = os.fspath(path)
    with _damage_is_an_error(p), _open(p) as hdul:
        fmt, _ = locate(hdul)
        if not fmt:
            raise _unrecognised(p, hdul)
        return fmt


def _unrecognised(path: str, hdul: Any) -> ValidationError:
    return ValidationError(
        f"{os.path.basename(path)} is a FITS file but not a spectrum campfire can read. Found: "
        f"{describe(hdul)}. campfire reads the archive's _spec.fits (SPEC1D: wave, fnu, "
        "fnu_err), DJA/msaexp .spec.fits (SPEC1D: wave, flux, err), JWST x1d (EXTRACT1D: "
        "WAVELENGTH, FLUX, FLUX_ERROR) and tables with wavelength, flux and error columns."
    )


# -- the reader --------------------------------------------------------------------------------
def read_spectrum(
    path: str | os.PathLike[str],
    *,
    spectrum_id: str | None = None,
    grating: str | None = None,
    ext: int | None = None,
    source_id: int | str | None = None,
    flux_unit: str | None = None,
    products: str = "all",
) -> SpectrumData:
    """Read a 1D spectrum file (any format in the module table) into a :class:`SpectrumData`.

    Parameters
    ----------
    path
        The file (``.gz`` accepted).
    spectrum_id
        Overrides the id derived from the file name.
    grating
        Overrides the disperser read from the header (``GRATING``) or the file name.
    ext, source_id
        For files with several spectra (MOS ``x1d``): the HDU index, or the ``SOURCEID``, to
        read. Without them the first is read and :class:`MultipleSpectraWarning` lists all.
    flux_unit
        Overrides the flux columns' ``TUNIT`` (for files with missing or wrong units).
    products
        ``"all"`` (default) also reads the 2D spectrum, its errors, weights and spatial
        profiles into ``extras``; ``"1d"`` reads only the headers and the 1D table, several
        times faster (an archive file's headers and table are read directly, without
        astropy), for pages and plots that show 1D spectra.

    Returns
    -------
    SpectrumData
        Wavelength in µm, f_ν in µJy, f_λ in erg/s/cm²/Å; invalid pixels NaN with
        ``valid`` False. ``extras`` holds 2D products (unless ``products="1d"``) and the
        other table columns.

    Examples
    --------
    >>> path = "ember_uds_p4_prism_clear_123456_spec.fits"
    >>> spec = read_spectrum(path)  # doctest: +SKIP
    >>> one_d = read_spectrum(path, products="1d")  # doctest: +SKIP
    >>> "sci2d" in spec.extras, "sci2d" in one_d.extras  # doctest: +SKIP
    (True, False)
    """
    if products not in _PRODUCTS:
        raise ValidationError(
            f"products must be one of {', '.join(map(repr, _PRODUCTS))} (got {products!r})"
        )
    p = os.fspath(path)
    kw, candidates = None, [0]
    if products == "1d" and ext is None and source_id is None:
        kw = _read_direct(p, flux_unit)
    if kw is None:
        with _damage_is_an_error(p), _open(p) as hdul:
            named = HduIndex(hdul)
            fmt, candidates = locate(hdul, named)
            if not fmt:
                raise _unrecognised(p, hdul)
            index = _choose(p, hdul, candidates, ext, source_id)
            try:
                kw = _read(p, named, fmt, index, flux_unit, with_2d=products == "all")
            except TypeError as exc:  # numpy on a short data block
                raise ValidationError(
                    f"{os.path.basename(p)} is truncated or corrupt: {exc}"
                ) from exc
    header = kw.pop("header")
    sid = spectrum_id or spectrum_id_from_filename(p)
    if len(candidates) > 1 and spectrum_id is None:
        src = header.get("SOURCEID")
        sid = f"{sid}_{src}" if src not in (None, "") else f"{sid}_ext{index}"
    disperser = grating or header.get("GRATING") or grating_from_filename(p) or ""
    return SpectrumData(
        header=header,
        grating=str(disperser).strip(),
        spectrum_id=sid,
        fits_path=os.path.abspath(p),
        **kw,
    )


def _choose(
    path: str, hdul: Any, candidates: list[int], ext: int | None, source_id: int | str | None
) -> int:
    def label(i: int) -> str:
        h = hdul[i].header
        return f"ext={i} source_id={h.get('SOURCEID', '?')} ({h.get('SRCNAME', '')})".strip()

    listing = "; ".join(label(i) for i in candidates)
    if ext is not None:
        if ext not in candidates:
            raise ValidationError(
                f"{os.path.basename(path)} has no spectrum at ext={ext}: {listing}"
            )
        return ext
    if source_id is not None:
        found = [i for i in candidates if str(hdul[i].header.get("SOURCEID")) == str(source_id)]
        if not found:
            raise ValidationError(
                f"{os.path.basename(path)} has no spectrum with source_id={source_id}: {listing}"
            )
        return found[0]
    if len(candidates) > 1:
        warnings.warn(
            f"{os.path.basename(path)} holds {len(candidates)} spectra ({listing}); reading "
            f"ext={candidates[0]}. Pass ext= or source_id= to choose another.",
            MultipleSpectraWarning,
            stacklevel=3,
        )
    return candidates[0]


def _read_direct(path: str, flux_unit: str | None) -> dict[str, Any] | None:
    """The 1D part of an archive or msaexp file read by :mod:`campfire.io.blocks`, or None
    when the file needs astropy (another format, gzip, an unusual layout, damage).
    """
    try:
        with open(path, "rb") as f:
            scan = HeaderScan(f)
            table = scan.find("SPEC1D")
            if table is None or not table.is_table:
                return None
            cols = {c.name.lower(): c for c in table.columns()}
            fmt = spec1d_format(set(cols))
            if not fmt:
                return None
            data = read_table(f, table)
            primary = scan.get(0)
            assert primary is not None  # SPEC1D was found after it
    except (OSError, Unsupported):
        return None
    header = header_dict(primary.cards, table.cards)
    out = _from_table(os.path.basename(path), fmt, table.index, cols, data, header, flux_unit)
    return _increasing(out)


def _read(
    path: str, named: HduIndex, fmt: str, index: int, flux_unit: str | None, with_2d: bool
) -> dict[str, Any]:
    hdul = named.hdul
    table = hdul[index]
    header = header_dict(hdul[0].header, table.header)
    out = _from_table(
        os.path.basename(path), fmt, index, column_map(table), table.data, header, flux_unit
    )
    extras = out["extras"]
    if with_2d and fmt == "campfire":
        campfire_2d(named, extras)
    elif with_2d and fmt.startswith("msaexp"):
        msaexp_2d(named, extras, float(header.get("TOMUJY") or 1.0))
    return _increasing(out)


def _from_table(
    name: str,
    fmt: str,
    index: int,
    cols: dict[str, Any],
    data: Any,
    header: dict[str, Any],
    flux_unit: str | None,
) -> dict[str, Any]:
    """The 1D arrays, validity and extras of a table's columns (``cols`` by lower-case name,
    each with ``name`` and ``unit``; ``data[column name]`` its values).
    """
    default_unit = "Jy" if fmt == "x1d" else "uJy"
    override = resolve(flux_unit) if flux_unit else None

    ecol: str | None
    if fmt == "campfire":
        wcol, fcol, ecol = "wave", "fnu", "fnu_err"
    elif fmt.startswith("msaexp"):
        wcol, fcol, ecol = "wave", "flux", "err"
    elif fmt == "x1d":
        wcol, fcol = "wavelength", "flux"
        ecol = pick_column(cols, ("flux_error", "error", "flux_err"))
    else:
        wcol = pick_column(cols, WAVE_COLS) or "wave"  # _locate found both
        fcol = pick_column(cols, FLUX_COLS) or "flux"
        ecol = pick_column(cols, _ERR_COLS)
    if ecol is None or ecol not in cols:
        raise ValidationError(
            f"{name}: HDU {index} has no flux-error column (found {', '.join(cols)}); campfire "
            "needs errors to decide which pixels are valid"
        )

    wave = _wave_um(data[cols[wcol].name], cols[wcol].unit, name)

    def flux_col(key: str) -> FloatArray:
        scale = override or _scale(cols[key].unit, default_unit)
        return _flux_ujy(data[cols[key].name], scale, wave, cols[key].name, name)

    fnu, fnu_err = flux_col(fcol), flux_col(ecol)
    flam = flam_err = None
    if fmt == "campfire" and "flam" in cols and "flam_err" in cols:
        flam, flam_err = (
            to_flam(data[cols[k].name], _scale(cols[k].unit, "erg/s/cm2/A"), wave)
            for k in ("flam", "flam_err")
        )

    extras: dict[str, Any] = {"format": fmt, "hdu": index, "columns": {}, "column_units": {}}
    used = {wcol, fcol, ecol} | ({"flam", "flam_err"} if flam is not None else set())
    for key, col in cols.items():
        raw = np.asarray(data[col.name])
        if key in used or raw.ndim != 1 or raw.dtype.kind not in "fiu":
            continue
        values = raw.astype(float)
        scale = resolve(col.unit)
        if scale is not None and scale.is_flux_density:
            values, unit_text = to_ujy(values, scale, wave), "uJy"
        else:
            unit_text = col.unit or ""
        extras["columns"][col.name] = values
        extras["column_units"][col.name] = unit_text

    valid = None
    if fmt == "x1d" and "dq" in cols:
        dq = np.nan_to_num(np.asarray(data[cols["dq"].name], dtype=float)).astype(np.int64)
        extras["dq"] = dq
        with np.errstate(invalid="ignore"):
            valid = (
                np.isfinite(wave)
                & np.isfinite(fnu)
                & np.isfinite(fnu_err)
                & (fnu_err > 0)
                & (fnu != 0)
                & ((dq & _DO_NOT_USE) == 0)
            )
    if header.get("VERSION") and fmt.startswith("msaexp"):
        extras["msaexp_version"] = header["VERSION"]
    return {
        "wavelength": wave,
        "fnu": fnu,
        "fnu_err": fnu_err,
        "flam": flam,
        "flam_err": flam_err,
        "valid": valid,
        "header": header,
        "extras": extras,
    }


def _increasing(out: dict[str, Any]) -> dict[str, Any]:
    """Store increasing wavelength: reverse every array (and 2D extra) of a decreasing one."""
    wave = out["wavelength"]
    finite = np.flatnonzero(np.isfinite(wave))
    if finite.size > 1 and wave[finite[0]] > wave[finite[-1]]:
        for k in ("wavelength", "fnu", "fnu_err", "flam", "flam_err", "valid"):
            out[k] = None if out[k] is None else out[k][::-1].copy()
        _reverse_extras(out["extras"], wave.size)
    return out


def _reverse_extras(extras: dict[str, Any], n: int) -> None:
    for key, value in list(extras.items()):
        if isinstance(value, np.ndarray) and value.shape and value.shape[-1] == n:
            extras[key] = value[..., ::-1].copy()
    extras["columns"] = {k: v[::-1].copy() for k, v in extras["columns"].items()}
