"""The data of a standalone page: spectra binned to display resolution, columns for bokeh.

A page carries every selected object's spectra inline, so they are made compact and kept
honest: adjacent pixels are combined into bins of at most ``max_bins`` per spectrum with the
inverse-variance weighted mean, and each bin's error is propagated (``1/sqrt(sum 1/σ²)``);
pixels that are not finite, or have no positive error, are left out. Arrays are float32.

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
            "tags", "n_spectra", "cutout", "my_redshift", "my_quality", "my_comment",
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
        png = po.cutout_png
        cols["cutout"].append(
            "data:image/png;base64," + base64.b64encode(png).decode("ascii") if png else ""
        )
        cols["my_redshift"].append("")
        cols["my_quality"].append("")
        cols["my_comment"].append("")
    out: dict[str, Any] = dict(cols)
    for k in ("ra", "dec", "redshift", "snr"):
        out[k] = np.asarray(cols[k], dtype=np.float64)
    return out


def spectrum_columns(
    objects: list[PageObject], max_bins: int = MAX_BINS
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The binned spectra: an index (a row per spectrum) and three flat float32 arrays.

    Each spectrum's bins are ``flat[start:stop]``; one array for all spectra keeps the page
    small and quick to load (a typed array per spectrum costs more to decode than its data).

    Returns
    -------
    index : dict
        Columns ``obj`` (the object's row), ``grating``, ``spectrum_id``, ``factor`` (pixels
        per bin), ``start`` and ``stop``.
    flat : dict
        ``wave`` (µm), ``fnu`` and ``err`` (µJy): float32 arrays.

    Examples
    --------
    >>> index, flat = spectrum_columns([])
    >>> index["start"], len(flat["wave"])
    ([], 0)
    """
    index: dict[str, list[Any]] = {
        k: [] for k in ("obj", "grating", "spectrum_id", "factor", "start", "stop")
    }
    parts: dict[str, list[np.ndarray]] = {"wave": [], "fnu": [], "err": []}
    at = 0
    for i, po in enumerate(objects):
        order = sorted(po.spectra, key=lambda s: (s.grating != "PRISM", s.grating))
        for s in order:
            w, f, e, factor = bin_spectrum(s.wavelength, s.fnu, s.fnu_err, max_bins)
            index["obj"].append(i)
            index["grating"].append(s.grating or "?")
            index["spectrum_id"].append(s.spectrum_id)
            index["factor"].append(factor)
            index["start"].append(at)
            at += len(w)
            index["stop"].append(at)
            parts["wave"].append(w)
            parts["fnu"].append(f)
            parts["err"].append(e)
    flat = {k: np.concatenate(v) if v else np.zeros(0, dtype=_F32) for k, v in parts.items()}
    return dict(index), flat


def shutter_columns(objects: list[PageObject]) -> dict[str, Any]:
    """One row per shutter of a cached ``/shutters`` answer: object row, corners, category.

    Corners are offsets in arcsec from the object: ``xs`` to the west (so that east is to
    the left on plain axes) and ``ys`` to the north.

    Examples
    --------
    >>> shutter_columns([])["xs"]
    []
    """
    from campfire.views.imaging import shutter_footprints

    cols: dict[str, list[Any]] = {k: [] for k in ("obj", "xs", "ys", "category")}
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
            corners = np.asarray(fp["corners"], dtype=np.float64)
            cols["obj"].append(i)
            cols["xs"].append([round(-float(v), 4) for v in corners[:, 0]])
            cols["ys"].append([round(float(v), 4) for v in corners[:, 1]])
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
