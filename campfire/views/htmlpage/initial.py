"""The page's first state: its first object drawn in Python, as ``page.js`` draws a selection.

A page that waited for the browser to draw its first object would lay itself out and paint
twice before anyone could use it (Bokeh runs ``document_ready`` callbacks only after the first
paint, and a new title or spectrum then lays the page out again). So the builder puts the first
row's spectra, line markers, title and cutout into the document itself, computed from the same
encoded bins the browser decodes, and ``page.js`` draws every later selection. The two must
agree: ``tests/export/test_page_browser.py`` compares this state with the browser's own redraw
of the same object.

Examples
--------
>>> lines = line_markers({"rest": [0.5], "name": ["a"], "label": ["A"], "color": ["red"],
...                       "show_label": [True]}, 1.0, 0.9, 1.1)
>>> lines["x"], lines["y"]
([1.0], [8])
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from campfire.views.htmlpage.data import decode_floats

__all__ = [
    "COLOURS",
    "CUTOUT_PX",
    "FAMILY",
    "SHUTTER_COLOURS",
    "cutout_frame",
    "cutout_html",
    "line_markers",
    "object_title",
    "spectrum_sources",
]

#: Colours of spectra beyond the first of each grating family (page.js has the same lists).
COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]
#: The first spectrum of each grating family, by the grating's first four letters.
FAMILY = {"PRIS": "#1f77b4", "G140": "#2ca02c", "G235": "#ff7f0e", "G395": "#d62728"}
#: Outline colours of the shutters, by category.
SHUTTER_COLOURS = {"target": "#ffd700", "other": "#00e5ff"}
#: Side of the cutout pane in pixels.
CUTOUT_PX = 280


def spectrum_sources(
    store: dict[str, list[Any]], i: int
) -> tuple[dict[str, list[Any]], dict[str, list[Any]], list[float]]:
    """The spectrum pane's ``spectrum`` and ``band`` data for object row ``i`` (fν, unsmoothed),
    and the wavelength range the line markers cover (empty without spectra).

    Examples
    --------
    >>> spectrum_sources({"obj": [], "grating": [], "factor": [], "blob": []}, 0)[2]
    []
    """
    spec: dict[str, list[Any]] = {"xs": [], "ys": [], "color": [], "name": []}
    band: dict[str, list[Any]] = {"xs": [], "ys": [], "color": []}
    seen: set[str] = set()
    lo, hi = math.inf, -math.inf
    for r, obj in enumerate(store["obj"]):
        if obj != i:
            continue
        w32, f32, e32 = decode_floats(store["blob"][r])
        w, f, e = (a.astype(np.float64) for a in (w32, f32, e32))
        g = str(store["grating"][r])
        family = FAMILY.get(g[:4])
        colour = family if g not in seen and family else COLOURS[len(spec["xs"]) % len(COLOURS)]
        seen.add(g)
        spec["xs"].append(w.tolist())
        spec["ys"].append(f.tolist())
        spec["color"].append(colour)
        spec["name"].append(f"{g} ({store['factor'][r]} px/bin)")
        band["xs"].append(np.concatenate([w, w[::-1]]).tolist())
        band["ys"].append(np.concatenate([f + e, (f - e)[::-1]]).tolist())
        band["color"].append(colour)
        if len(w):
            lo, hi = min(lo, float(w[0])), max(hi, float(w[-1]))
    return spec, band, ([lo, hi] if math.isfinite(lo) else [])


def line_markers(
    rest: dict[str, list[Any]], z: float, lo: float, hi: float
) -> dict[str, list[Any]]:
    """The line markers at redshift ``z`` between ``lo`` and ``hi`` µm, labels staggered.

    Examples
    --------
    >>> line_markers({"rest": [], "name": [], "label": [], "color": [], "show_label": []},
    ...              1.0, 0.0, 5.0)["x"]
    []
    """
    out: dict[str, list[Any]] = {"x": [], "label": [], "color": [], "y": [], "name": []}
    if not (math.isfinite(z) and z >= 0):
        return out
    n = 0
    for j, r in enumerate(rest["rest"]):
        x = r * (1 + z)
        if x < lo or x > hi:
            continue
        shown = bool(rest["show_label"][j])
        out["x"].append(x)
        out["name"].append(rest["name"][j])
        out["color"].append(rest["color"][j])
        out["label"].append(rest["label"][j] if shown else "")
        out["y"].append(8 + 16 * (n % 3))  # staggered rows of labels, in screen pixels
        if shown:
            n += 1
    return out


def object_title(objects: dict[str, Any], i: int) -> str:
    """The heading of the spectrum pane for object row ``i``.

    Examples
    --------
    >>> object_title({"object_id": ["J1"], "field": ["uds"], "redshift": [float("nan")],
    ...               "quality": [0], "n_spectra": [1]}, 0)
    '<b>J1</b> · uds · no redshift (quality 0) · 1 spectra'
    """
    z = float(objects["redshift"][i])
    zt = f"z = {z:.4f}" if math.isfinite(z) else "no redshift"
    return (
        f"<b>{objects['object_id'][i]}</b> · {objects['field'][i]} · {zt} (quality "
        f"{objects['quality'][i]}) · {objects['n_spectra'][i]} spectra"
    )


def cutout_frame(fov: float) -> str:
    """The opening of the cutout pane's SVG overlay: ``fov`` arcsec across, centred on 0.

    Examples
    --------
    >>> cutout_frame(5.0)[:35]
    '<svg viewBox="-2.5 -2.5 5 5" width='
    """
    h = fov / 2
    return (
        f'<svg viewBox="{-h:g} {-h:g} {fov:g} {fov:g}" width="{CUTOUT_PX}" height="{CUTOUT_PX}" '
        'style="position:absolute;left:0;top:0" fill="none">'
    )


def cutout_html(
    imaging: dict[str, list[Any]], shutters: dict[str, list[Any]], i: int, frame: str
) -> str:
    """The cutout pane of object row ``i``: its cached cutout with its shutters drawn over.

    Examples
    --------
    >>> cutout_html({"obj": [], "url": []}, {"obj": [], "points": [], "category": []}, 0, "")
    '<i>no cutout cached for this object</i>'
    """
    url = imaging["url"][imaging["obj"].index(i)] if i in imaging["obj"] else ""
    rows = zip(shutters["obj"], shutters["points"], shutters["category"], strict=True)
    polygons = "".join(
        f'<polygon points="{pts}" stroke="{SHUTTER_COLOURS.get(cat, "#ff4040")}" '
        'stroke-width="1.5" vector-effect="non-scaling-stroke"/>'
        for obj, pts, cat in rows
        if obj == i
    )
    if not url and not polygons:
        return "<i>no cutout cached for this object</i>"
    img = (
        f'<img src="{url}" width="{CUTOUT_PX}" height="{CUTOUT_PX}" alt="cutout" '
        'style="position:absolute;left:0;top:0">'
        if url
        else ""
    )
    return (
        f'<div style="position:relative;width:{CUTOUT_PX}px;height:{CUTOUT_PX}px;'
        f'background:#f4f4f4">{img}{frame}{polygons}</svg></div>'
        + ("" if url else "<i>no cutout cached for this object</i>")
    )
