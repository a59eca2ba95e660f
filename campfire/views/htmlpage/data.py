"""The data of a standalone page: spectra binned to display resolution, columns for bokeh.

A page carries every selected object's spectra inline, so they are made compact and kept
honest: adjacent pixels are combined into bins of at most ``max_bins`` per spectrum with the
inverse-variance weighted mean, and each bin's error is propagated (``1/sqrt(sum 1/σ²)``);
pixels that are not finite, or have no positive error, are left out. Arrays are float32.

Each spectrum travels as one base64 string of little-endian float32 (its wavelengths, fluxes
and errors one after the other, :func:`encode_floats`): Bokeh passes strings through without
decoding them, so the page decodes only the spectra of the object a reader selects, not all
of them before it can show anything.

Examples
--------
>>> w, f, e, factor = bin_spectrum(np.arange(8.0), np.ones(8), np.full(8, 2.0), max_bins=4)
>>> w.tolist(), f.tolist(), factor
([0.5, 2.5, 4.5, 6.5], [1.0, 1.0, 1.0, 1.0], 2)
>>> [round(float(v), 4) for v in e]  # two pixels of error 2 each: 2 / sqrt(2)
[1.4142, 1.4142, 1.4142, 1.4142]
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from campfire.models.data import SpectrumData
    from campfire.models.object import Object

__all__ = [
    "MAX_BINS",
    "PageObject",
    "bin_spectrum",
    "decode_floats",
    "encode_floats",
    "imaging_columns",
    "line_columns",
    "object_columns",
    "shutter_columns",
    "spectrum_columns",
]

#: Most bins a spectrum keeps: a page's spectrum pane is about 900 pixels wide.
MAX_BINS = 400

_F32 = np.float32


@dataclass
class PageObject:
    """One object of a page: its catalog record, opened spectra and cached imaging.

    ``cutout_png`` is the cached cutout (north up, east left) and ``shutters`` the cached
    ``/shutters`` answer of the same field of view ``fov``, each None when not cached;
    ``problems`` says what could not be shown (a spectrum that did not open, say).
    """

    obj: Object
    spectra: list[SpectrumData] = field(default_factory=list)
    cutout_png: bytes | None = None
    shutters: dict[str, Any] | None = None
    fov: float = 5.0
    problems: list[str] = field(default_factory=list)


def bin_spectrum(
    wave: Any, flux: Any, err: Any, max_bins: int = MAX_BINS
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Bin a spectrum to at most ``max_bins`` bins of equal pixel count, errors propagated.

    Parameters
    ----------
    wave, flux, err
        Wavelength, flux and 1σ error of each pixel (same length).
    max_bins
        Most bins to keep; spectra with fewer usable pixels are only cleaned.

    Returns
    -------
    wave, flux, err : numpy.ndarray
        float32: the mean wavelength of each bin's usable pixels, their inverse-variance
        weighted mean flux and its error ``1/sqrt(sum 1/σ²)``. Bins without a usable pixel
        are dropped.
    factor : int
        Pixels per bin.

    Examples
    --------
    >>> w, f, e, n = bin_spectrum([1.0, 2.0], [1.0, 3.0], [1.0, 1.0], max_bins=1)
    >>> float(f[0]), round(float(e[0]), 4), n
    (2.0, 0.7071, 2)
    """
    w = np.asarray(wave, dtype=np.float64)
    f = np.asarray(flux, dtype=np.float64)
    e = np.asarray(err, dtype=np.float64)
    ok = np.isfinite(w) & np.isfinite(f) & np.isfinite(e) & (e > 0)
    w, f, e = w[ok], f[ok], e[ok]
    factor = max(1, math.ceil(len(w) / max(1, int(max_bins))))
    if factor == 1:
        return w.astype(_F32), f.astype(_F32), e.astype(_F32), 1
    edges = np.arange(0, len(w), factor)
    ivar = 1.0 / e**2
    s_ivar = np.add.reduceat(ivar, edges)
    s_flux = np.add.reduceat(f * ivar, edges)
    s_wave = np.add.reduceat(w, edges)
    count = np.diff(np.append(edges, len(w)))
    return (
        (s_wave / count).astype(_F32),
        (s_flux / s_ivar).astype(_F32),
        (1.0 / np.sqrt(s_ivar)).astype(_F32),
        factor,
    )


def _num(v: Any) -> float:
    return float("nan") if v is None or not math.isfinite(float(v)) else float(v)


def object_columns(objects: list[PageObject]) -> dict[str, Any]:
    """The objects' table, sky and redshift-S/N columns (one row per object).

    Examples
    --------
    >>> object_columns([])["object_id"]
    []
    """
    cols: dict[str, list[Any]] = {
        k: []
        for k in (
            "object_id", "field", "ra", "dec", "redshift", "quality", "snr", "gratings",
            "tags", "n_spectra", "my_redshift", "my_quality", "my_comment",
        )
    }  # fmt: skip
    for po in objects:
        o = po.obj
        cols["object_id"].append(o.object_id)
        cols["field"].append(o.field or "")
        cols["ra"].append(_num(o.ra))
        cols["dec"].append(_num(o.dec))
        cols["redshift"].append(_num(o.redshift))
        cols["quality"].append(int(o.redshift_quality or 0))
        cols["snr"].append(_num(o.max_snr))
        cols["gratings"].append(", ".join(sorted({s.grating for s in po.spectra}) or o.gratings))
        cols["tags"].append(", ".join(o.tags))
        cols["n_spectra"].append(len(po.spectra))
        cols["my_redshift"].append("")
        cols["my_quality"].append("")
        cols["my_comment"].append("")
    out: dict[str, Any] = dict(cols)
    for k in ("ra", "dec", "redshift", "snr"):
        out[k] = np.asarray(cols[k], dtype=np.float64)
    return out


def encode_floats(*arrays: Any) -> str:
    """The arrays one after the other as little-endian float32, in base64 (what page.js decodes).

    Examples
    --------
    >>> encode_floats([1.0], [2.0])
    'AACAPwAAAEA='
    """
    parts = [np.asarray(a, dtype="<f4").ravel() for a in arrays]
    flat = np.concatenate(parts) if parts else np.zeros(0, dtype="<f4")
    return base64.b64encode(flat.astype("<f4").tobytes()).decode("ascii")


def decode_floats(blob: str, parts: int = 3) -> list[np.ndarray]:
    """:func:`encode_floats` undone: ``parts`` float32 arrays of equal length.

    Examples
    --------
    >>> [a.tolist() for a in decode_floats(encode_floats([1.0], [2.0]), parts=2)]
    [[1.0], [2.0]]
    """
    flat = np.frombuffer(base64.b64decode(blob), dtype="<f4")
    return [a.astype(_F32) for a in np.split(flat, parts)]


def spectrum_columns(objects: list[PageObject], max_bins: int = MAX_BINS) -> dict[str, Any]:
    """The binned spectra: a row per spectrum, its bins in one base64 string (``blob``).

    A row's ``blob`` is :func:`encode_floats` of its wavelengths (µm), fν and errors (µJy),
    ``bins`` values each; rows are in object order, PRISM first within an object.

    Returns
    -------
    dict
        Columns ``obj`` (the object's row), ``grating``, ``spectrum_id``, ``factor`` (pixels
        per bin), ``bins`` and ``blob``.

    Examples
    --------
    >>> spectrum_columns([])["blob"]
    []
    """
    index: dict[str, list[Any]] = {
        k: [] for k in ("obj", "grating", "spectrum_id", "factor", "bins", "blob")
    }
    for i, po in enumerate(objects):
        order = sorted(po.spectra, key=lambda s: (s.grating != "PRISM", s.grating))
        for s in order:
            w, f, e, factor = bin_spectrum(s.wavelength, s.fnu, s.fnu_err, max_bins)
            index["obj"].append(i)
            index["grating"].append(s.grating or "?")
            index["spectrum_id"].append(s.spectrum_id)
            index["factor"].append(factor)
            index["bins"].append(len(w))
            index["blob"].append(encode_floats(w, f, e))
    return dict(index)


def imaging_columns(objects: list[PageObject]) -> dict[str, list[Any]]:
    """A row per object with a cached cutout: its row and the PNG as a ``data:`` URL.

    Examples
    --------
    >>> imaging_columns([])
    {'obj': [], 'url': []}
    """
    cols: dict[str, list[Any]] = {"obj": [], "url": []}
    for i, po in enumerate(objects):
        if po.cutout_png:
            cols["obj"].append(i)
            cols["url"].append(
                "data:image/png;base64," + base64.b64encode(po.cutout_png).decode("ascii")
            )
    return cols


def shutter_columns(objects: list[PageObject]) -> dict[str, Any]:
    """One row per shutter of a cached ``/shutters`` answer: object row, outline, category.

    ``points`` is the shutter's outline as SVG polygon points ``"x,y x,y ..."`` in arcsec
    from the object, x to the west and y to the south (SVG's y grows downwards), so that the
    cutout, north up and east left, and the outline share one frame.

    Examples
    --------
    >>> shutter_columns([])["points"]
    []
    """
    from campfire.views.imaging import shutter_footprints

    cols: dict[str, list[Any]] = {k: [] for k in ("obj", "points", "category")}
    for i, po in enumerate(objects):
        if not po.shutters:
            continue
        o = po.obj
        center = None if o.ra is None or o.dec is None else (o.ra, o.dec)
        try:
            prints = shutter_footprints(po.shutters, o.object_id, True, center=center)
        except Exception as exc:  # a bad cache file costs the overlay, not the page
            po.problems.append(f"shutters not drawn: {exc}")
            continue
        for fp in prints:
            corners = np.asarray(fp["corners"], dtype=np.float64)  # east, north
            cols["obj"].append(i)
            cols["points"].append(
                " ".join(f"{-float(e) + 0.0:.4f},{-float(n) + 0.0:.4f}" for e, n in corners)
            )
            cols["category"].append(str(fp["category"]))
    return dict(cols)


def line_columns(min_priority: float = 4.0) -> dict[str, list[Any]]:
    """The emission lines the page draws: rest wavelength (µm), name, label, colour.

    Lines of one label closer than 0.3 % in wavelength (doublets) share one label.

    Examples
    --------
    >>> cols = line_columns()
    >>> "Hα" in cols["label"] and len(cols["rest"]) == len(cols["show_label"])
    True
    """
    from campfire.science.lines import get_emission_lines

    cols: dict[str, list[Any]] = {k: [] for k in ("rest", "name", "label", "color", "show_label")}
    last: dict[str, float] = {}
    for ln in get_emission_lines(0.0, min_priority=min_priority):
        rest = float(ln["wavelength"])
        label = str(ln["label"])
        near = label in last and rest - last[label] < 0.003 * rest
        last[label] = rest
        cols["rest"].append(rest)
        cols["name"].append(str(ln["name"]))
        cols["label"].append(label)
        cols["color"].append(str(ln["color"]))
        cols["show_label"].append(not near)
    return cols
