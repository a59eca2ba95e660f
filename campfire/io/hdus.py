"""Where things are in a spectrum file: its format, its 1D table, its header and 2D products.

:func:`locate` recognises the format (the archive's ``SPEC1D`` with ``fnu``, msaexp's
``SPEC1D`` with ``flux``, JWST ``EXTRACT1D``, or any table with wavelength and flux columns);
:class:`HduIndex` finds HDUs by name reading only as many headers as it must (astropy's
``name in hdul`` re-reads every ``EXTNAME`` on each call); :func:`campfire_2d` and
:func:`msaexp_2d` read the 2D spectrum, its errors, weights and the spatial profile into a
:class:`~campfire.models.data.SpectrumData`'s ``extras``. :mod:`campfire.io.fits` reads the 1D
table.

Examples
--------
>>> from astropy.io import fits
>>> from campfire.io.hdus import HduIndex, locate
>>> with fits.open("ember_uds_p4_prism_clear_123456_spec.fits") as hdul:  # doctest: +SKIP
...     locate(hdul, HduIndex(hdul))
('campfire', [1])
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from campfire.io.units import resolve

__all__ = [
    "FLUX_COLS",
    "WAVE_COLS",
    "HduIndex",
    "campfire_2d",
    "column_map",
    "describe",
    "header_dict",
    "image",
    "image_ujy",
    "is_table",
    "locate",
    "msaexp_2d",
    "pick_column",
    "spec1d_format",
    "table_dict",
]

_STRUCTURAL_RE = re.compile(
    r"^(SIMPLE|BITPIX|NAXIS\d*|EXTEND|XTENSION|PCOUNT|GCOUNT|TFIELDS|EXTNAME|EXTVER|CHECKSUM|"
    r"DATASUM|T(TYPE|FORM|UNIT|DIM|NULL|SCAL|ZERO|DISP)\d+)$"
)
WAVE_COLS = ("wave", "wavelength", "lambda", "lam", "wav")
FLUX_COLS = ("fnu", "flux", "f_nu", "flux_density")


# -- FITS helpers ------------------------------------------------------------------------------
def header_dict(*headers: Any) -> dict[str, Any]:
    r"""Merge headers into a plain dict (later headers win; structural keywords dropped).

    Each header is an astropy ``Header`` or a list of ``(keyword, value)`` cards.

    Examples
    --------
    >>> header_dict([("NAXIS", 1), ("GRATING", "PRISM")], [("COMMENT", "a"), ("COMMENT", "b")])
    {'GRATING': 'PRISM', 'COMMENT': 'a\nb'}
    """
    out: dict[str, Any] = {}
    for header in headers:
        cards = header if isinstance(header, list) else [(c.keyword, c.value) for c in header.cards]
        for key, value in cards:
            if not key or _STRUCTURAL_RE.match(key):
                continue
            if key in ("COMMENT", "HISTORY"):
                out[key] = f"{out[key]}\n{value}" if key in out else str(value)
            else:
                out[key] = value if isinstance(value, bool | int | float | str) else None
    return out


def is_table(hdu: Any) -> bool:
    """True for a binary table HDU."""
    from astropy.io import fits

    return isinstance(hdu, fits.BinTableHDU)


def column_map(hdu: Any) -> dict[str, Any]:
    """A table HDU's columns by lower-case name."""
    return {c.name.lower(): c for c in hdu.columns}


def pick_column(cols: dict[str, Any], names: tuple[str, ...]) -> str | None:
    """The first of ``names`` among ``cols``, or None."""
    return next((n for n in names if n in cols), None)


def describe(hdul: Any) -> str:
    """One line naming each HDU and what it holds (for error messages)."""
    parts = []
    for i, hdu in enumerate(hdul):
        label = f"HDU {i} {hdu.name or '(unnamed)'}"
        if is_table(hdu):
            names = [c.name for c in hdu.columns]
            more = ", …" if len(names) > 8 else ""
            parts.append(f"{label} (table: {', '.join(names[:8])}{more})")
        elif getattr(hdu, "shape", ()):
            parts.append(f"{label} (image {'×'.join(str(n) for n in hdu.shape)})")
        else:
            parts.append(f"{label} (header only)")
    return "; ".join(parts)


class HduIndex:
    """The first HDU of each name (as ``hdul[name]``), reading headers only as far as needed.

    Astropy's ``name in hdul`` and ``hdul[name]`` walk the list and re-read every ``EXTNAME``
    on each call; a spectrum file is asked for up to a dozen names.
    """

    def __init__(self, hdul: Any) -> None:
        self.hdul = hdul
        self.index: dict[str, int] = {}
        self._read = 0  # HDUs whose names are in ``index``

    def get(self, name: str) -> Any:
        """The HDU named ``name`` (case-insensitive), or None."""
        key = name.strip().upper()
        while key not in self.index:
            try:
                hdu = self.hdul[self._read]  # reads the next header of a lazily loaded file
            except IndexError:
                return None
            label = hdu.name.strip().upper() if isinstance(hdu.name, str) else ""
            self.index.setdefault("PRIMARY" if self._read == 0 else label, self._read)
            self.index.setdefault(label, self._read)
            self._read += 1
        return self.hdul[self.index[key]]


def spec1d_format(cols: set[str]) -> str:
    """The format a ``SPEC1D`` table's lower-case column names make ("" for neither).

    Examples
    --------
    >>> spec1d_format({"wave", "fnu", "fnu_err"}), spec1d_format({"wave", "flux", "path_corr"})
    ('campfire', 'msaexp-v2')
    """
    if "wave" in cols and "fnu" in cols:
        return "campfire"
    if "wave" in cols and "flux" in cols:
        if {"sky", "npix", "flux_sum"} & cols:
            return "msaexp-v3"
        return "msaexp-v2" if "path_corr" in cols else "msaexp-v1"
    return ""


def locate(hdul: Any, named: HduIndex | None = None) -> tuple[str, list[int]]:
    """The file's format and the HDU indices of its candidate 1D tables."""
    named = named or HduIndex(hdul)
    spec1d = named.get("SPEC1D")
    if spec1d is not None and is_table(spec1d):
        fmt = spec1d_format(set(column_map(spec1d)))
        if fmt:
            return fmt, [named.index["SPEC1D"]]
    tables = [i for i, h in enumerate(hdul) if is_table(h)]
    x1d = [i for i in tables if hdul[i].name == "EXTRACT1D"]
    if not x1d:
        x1d = [i for i in tables if {"WAVELENGTH", "FLUX"} <= set(hdul[i].columns.names)]
    if x1d:
        return "x1d", x1d
    for i in tables:
        cols = column_map(hdul[i])
        if pick_column(cols, WAVE_COLS) and pick_column(cols, FLUX_COLS):
            return "table", [i]
    return "", []


# -- 2D products ------------------------------------------------------------------------------
def image(named: HduIndex, name: str) -> np.ndarray | None:
    """The image HDU ``name`` as a float array, or None if there is none."""
    hdu = named.get(name)
    if hdu is not None and not is_table(hdu) and getattr(hdu, "data", None) is not None:
        return np.array(hdu.data, dtype=float)
    return None


def image_ujy(named: HduIndex, name: str, extras: dict[str, Any]) -> np.ndarray | None:
    """A 2D image in µJy per pixel, from its BUNIT (surface brightness × PIXAR_SR)."""
    img = image(named, name)
    if img is None:
        return None
    hdr = named.get(name).header
    scale = resolve(hdr.get("BUNIT"), "uJy")
    assert scale is not None  # a default always resolves
    if scale.kind == "fnu":
        return img * scale.factor
    if scale.kind == "surface" and hdr.get("PIXAR_SR"):
        return img * (scale.factor * float(hdr["PIXAR_SR"]))
    extras[f"{name.lower()}2d_unit"] = str(hdr.get("BUNIT", ""))  # left as stored
    return img


def table_dict(named: HduIndex, name: str) -> dict[str, np.ndarray] | None:
    """The table HDU ``name`` as ``{column: array}``, or None if there is none."""
    hdu = named.get(name)
    if hdu is None or not is_table(hdu) or hdu.data is None:
        return None
    data = hdu.data
    return {c.name: np.array(data[c.name]) for c in hdu.columns}


def campfire_2d(named: HduIndex, extras: dict[str, Any]) -> None:
    """Add an archive file's 2D products (µJy) and spatial profiles to ``extras``."""
    for key, value in (
        ("sci2d", image_ujy(named, "SCI", extras)),
        ("err2d", image_ujy(named, "ERR", extras)),
        ("wave2d", image(named, "WAVELENGTH")),
        ("wht2d", image(named, "WHT")),
    ):
        if value is not None:
            extras[key] = value
    prof = table_dict(named, "PROF1D")
    if prof:
        extras["prof1d"] = prof
        cols = {k.lower(): v for k, v in prof.items()}
        for src, dst in (("ypos", "profile_pix"), ("opt", "profile_fit")):
            if src in cols:
                extras[dst] = cols[src]
    sci = extras.get("sci2d")
    if sci is not None and sci.ndim == 2:  # the measured profile: the 2D flux summed along λ
        extras["profile"] = np.nansum(sci, axis=1)


def msaexp_2d(named: HduIndex, extras: dict[str, Any], tomujy: float) -> None:
    """Add an msaexp file's 2D products (µJy via ``TOMUJY``) and profiles to ``extras``."""
    # msaexp 2D pixels are µJy × TOMUJY whatever BUNIT says (v1 files claim mJy: data-formats §7)
    sci, wht = image(named, "SCI"), image(named, "WHT")
    if sci is not None:
        extras["sci2d"] = sci * tomujy
    if wht is not None:
        extras["wht2d"] = wht
        with np.errstate(divide="ignore", invalid="ignore"):
            err = tomujy / np.sqrt(wht)
        err[~(np.isfinite(wht) & (wht > 0))] = np.nan
        extras["err2d"] = err
    for key, hdu in (("profile2d", "PROFILE"), ("background2d", "BACKGROUND")):
        img = image(named, hdu)
        if img is not None:
            extras[key] = img
    prof = table_dict(named, "PROF1D")
    if prof:
        extras["prof1d"] = prof
        cols = {k.lower(): v for k, v in prof.items()}
        for src, dst in (("pix", "profile_pix"), ("profile", "profile"), ("pfit", "profile_fit")):
            if src in cols:
                extras[dst] = cols[src]
