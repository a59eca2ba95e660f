"""HTML cards of the models (:mod:`campfire.models`) for notebooks: an object's ids, redshift,
tags, programs, a small SED from its photometry, its cached cutout and its spectra.

Every card is self-contained (no script, no external stylesheet, image or font: pictures are
inline SVG or a base64 ``data:`` PNG) so it renders where no kernel runs, and deterministic (no
random ids, no timestamps): the same model gives byte-identical HTML.

Examples
--------
>>> from campfire.models.object import Photometry
>>> phot = Photometry(["f150w", "f444w"], [1.0, 2.0], [0.1, 0.2], [1.50, 4.40])
>>> svg = sed_svg(phot)
>>> svg.count("<circle"), "<title>f444w" in svg, "<script" in svg
(2, True, False)
"""

from __future__ import annotations

import base64
import html
import math
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from campfire.models import Object, Photometry, SpectrumCollection

__all__ = [
    "MAX_EMBEDDED_PNG",
    "cutout_html",
    "cutout_key",
    "object_html",
    "photometry_html",
    "sed_svg",
    "spectra_html",
]

MAX_EMBEDDED_PNG = 2_000_000  # bytes: a larger cached cutout is not inlined into a card
MAX_TARGETS_SHOWN = 12  # an object merged from many targets lists the first ones and a count
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_CUTOUT_NAME = re.compile(r"_fov(?P<fov>[0-9.eE+\-]+?)(?:_s(?P<size>\d+))?\.png$")

_SED_W, _SED_H = 300, 150
_LEFT, _RIGHT, _TOP, _BOTTOM = 44, 10, 12, 24  # plot-area margins in SVG pixels
_SED_COLOUR = "#d62728"
_LOG_TICKS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.7, 1, 1.5, 2, 3, 4, 5, 7, 10, 15, 20, 30, 50, 70, 100)


def _fmt(value: float) -> str:
    return f"{value:.4g}"


# -- the SED -----------------------------------------------------------------------------------
def sed_svg(phot: Photometry) -> str:
    """A small inline SVG of the photometry: flux ± 1σ (µJy) against log wavelength (µm).

    One point per band with a finite flux and a positive, finite pivot wavelength, each with
    its error bar and a ``<title>`` tooltip naming the band; bands without one are counted
    under the plot. Returns ``""`` when there is nothing to draw.

    Examples
    --------
    >>> from campfire.models.object import Photometry
    >>> phot = Photometry(["f444w", "f150w"], [2.0, 1.0], [0.2, 0.1], [4.40, 1.50])
    >>> sed_svg(phot).count("<line class='err'")
    2
    """
    w, f, e = phot.wavelength, phot.flux, phot.flux_err
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(w) & (w > 0) & np.isfinite(f)
    if not ok.any():
        return ""
    order = [i for i in np.argsort(w, kind="stable") if ok[i]]
    lw = np.log10(w[order])
    x0, x1 = float(lw.min()), float(lw.max())
    padx = 0.06 * (x1 - x0) if x1 > x0 else 0.1
    x0, x1 = x0 - padx, x1 + padx
    fl = f[order]
    er = np.where(np.isfinite(e[order]) & (e[order] > 0), e[order], 0.0)
    span = max(float(fl.max()) - min(float(fl.min()), 0.0), 1e-30)
    reach = np.minimum(er, span)  # one wild error bar does not squash the rest
    lo = min(0.0, float((fl - reach).min()))
    hi = max(float((fl + reach).max()), lo + span)
    pady = 0.08 * (hi - lo)
    y0, y1 = lo - pady, hi + pady
    pw, ph = _SED_W - _LEFT - _RIGHT, _SED_H - _TOP - _BOTTOM

    def sx(v: float) -> float:
        return _LEFT + (v - x0) / (x1 - x0) * pw

    def sy(v: float) -> float:
        return _TOP + (y1 - min(max(v, y0), y1)) / (y1 - y0) * ph

    title = f"SED of {phot.object_id}" if phot.object_id else "SED"
    parts = [
        f'<svg width="{_SED_W}" height="{_SED_H}" viewBox="0 0 {_SED_W} {_SED_H}" role="img" '
        'style="font:10px sans-serif;overflow:hidden">',
        f"<title>{html.escape(f'{title}: {phot!r}')}</title>",
        f'<rect x="{_LEFT}" y="{_TOP}" width="{pw}" height="{ph}" fill="none" stroke="#bbb"/>',
    ]
    if y0 < 0 < y1:
        yz = sy(0.0)
        parts.append(
            f'<line x1="{_LEFT}" x2="{_LEFT + pw}" y1="{yz:.1f}" y2="{yz:.1f}" stroke="#999" '
            'stroke-dasharray="2,2"/>'
        )
    placed: list[float] = []
    for t in _LOG_TICKS:
        lt = math.log10(t)
        if not x0 <= lt <= x1:
            continue
        tx = sx(lt)
        if placed and tx - placed[-1] < 24:
            continue
        placed.append(tx)
        parts.append(
            f'<line x1="{tx:.1f}" x2="{tx:.1f}" y1="{_TOP + ph}" y2="{_TOP + ph + 3}" '
            f'stroke="#666"/><text x="{tx:.1f}" y="{_TOP + ph + 13}" text-anchor="middle" '
            f'fill="#333">{t:g}</text>'
        )
    for v in (lo, hi):
        parts.append(
            f'<text x="{_LEFT - 4}" y="{sy(v) + 3:.1f}" text-anchor="end" fill="#333">'
            f"{v:.3g}</text>"
        )
    parts.append(
        f'<text x="{_LEFT + pw}" y="{_SED_H - 1}" text-anchor="end" fill="#333">λ [µm]</text>'
        f'<text x="2" y="{_TOP - 2}" fill="#333">f<tspan font-size="8">ν</tspan> [µJy]</text>'
    )
    for k, i in enumerate(order):
        cx, cy = sx(float(lw[k])), sy(float(fl[k]))
        err = float(e[i])
        shown = f"{_fmt(float(fl[k]))} ± {_fmt(err)}" if math.isfinite(err) else _fmt(fl[k])
        tip = f"{phot.bands[i]}: {shown} µJy at {float(w[i]):.3f} µm"
        bar = ""
        if er[k] > 0:
            ya, yb = sy(float(fl[k] - er[k])), sy(float(fl[k] + er[k]))
            bar = (
                f'<line class=\'err\' x1="{cx:.1f}" x2="{cx:.1f}" y1="{ya:.1f}" '
                f'y2="{yb:.1f}" stroke="{_SED_COLOUR}" stroke-width="1"/>'
            )
        parts.append(
            f"<g><title>{html.escape(tip)}</title>{bar}"
            f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="2.5" fill="{_SED_COLOUR}"/></g>'
        )
    missing = len(phot) - len(order)
    if missing:
        parts.append(
            f'<text x="{_LEFT + 2}" y="{_SED_H - 1}" fill="#777">'
            f"{missing} band{'s' if missing != 1 else ''} without flux</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def photometry_html(phot: Photometry) -> str:
    """The card of a :class:`~campfire.models.object.Photometry`: its SED and the band table.

    Examples
    --------
    >>> from campfire.models.object import Photometry
    >>> page = photometry_html(Photometry(["f150w"], [1.0], [0.1], [1.5], catalog="UVCANDELS"))
    >>> "<svg" in page and "<td>f150w</td>" in page
    True
    """
    rows = "".join(
        f"<tr><td>{html.escape(b)}</td><td>{w:.3f}</td><td>{f:.4g}</td><td>{e:.2g}</td></tr>"
        for b, w, f, e in zip(phot.bands, phot.wavelength, phot.flux, phot.flux_err, strict=True)
    )
    table = (
        "<table style='font-size:90%'><tr><th>band</th><th>λ [µm]</th>"
        f"<th>flux [µJy]</th><th>err [µJy]</th></tr>{rows}</table>"
    )
    return (
        f"<div class='campfire-photometry'><b>{html.escape(repr(phot))}</b>"
        "<div style='display:flex;gap:12px;align-items:flex-start;flex-wrap:wrap'>"
        f"{sed_svg(phot)}{table}</div></div>"
    )


# -- the cutout --------------------------------------------------------------------------------
def cutout_key(path: Path) -> tuple[float, int, str]:
    """Sort key of a cached cutout file: smallest field of view first, then smallest size.

    Examples
    --------
    >>> cutout_key(Path("J1_fov3.2_s200.png")), cutout_key(Path("J1_fov5.png"))
    ((3.2, 200, 'J1_fov3.2_s200.png'), (5.0, 0, 'J1_fov5.png'))
    """
    m = _CUTOUT_NAME.search(path.name)
    try:
        fov = float(m["fov"]) if m else math.inf
    except ValueError:
        fov = math.inf
    size = int(m["size"]) if m and m["size"] else 0
    return (fov, size, path.name)


def cutout_html(path: Path, object_id: str) -> str:
    """A ``<figure>`` with the PNG at ``path`` inlined as base64; ``""`` when the file is
    unreadable or not a PNG, and a note naming it when it is larger than
    :data:`MAX_EMBEDDED_PNG` bytes.

    Examples
    --------
    >>> cutout_html(Path("missing_fov5.png"), "J1")
    ''
    """
    try:
        data = path.read_bytes()
    except OSError:
        return ""
    if not data.startswith(_PNG_MAGIC):
        return ""
    fov, size, _name = cutout_key(path)
    fov_text = f"{fov:g}″" if math.isfinite(fov) else "?"
    if len(data) > MAX_EMBEDDED_PNG:
        return (
            f"<p style='font-size:85%'>{fov_text} cutout cached as {html.escape(path.name)} "
            f"({len(data):,} bytes, too large to show inline)</p>"
        )
    alt = f"cutout of {object_id}, {fov_text} field of view, north up, east left"
    size_text = f", {size} px" if size else ""
    return (
        "<figure style='margin:0'>"
        f'<img src="data:image/png;base64,{base64.b64encode(data).decode("ascii")}" '
        f'alt="{html.escape(alt)}" width="150" style=\'image-rendering:pixelated\'/>'
        f"<figcaption style='font-size:85%'>{fov_text} cutout{size_text}; N up, E left"
        "</figcaption></figure>"
    )


# -- spectra and objects -------------------------------------------------------------------------
def spectra_html(coll: SpectrumCollection) -> str:
    """The table of a :class:`~campfire.models.object.SpectrumCollection`, one row per spectrum.

    Examples
    --------
    >>> from campfire.models.object import Spectrum, SpectrumCollection
    >>> spectra_html(SpectrumCollection([Spectrum("a", "PRISM", signal_to_noise=12.0)]))[:31]
    '<table><tr><th>spectrum_id</th>'
    """

    def row(*values: Any) -> str:
        fmt = ("-" if v is None else f"{v:.1f}" if isinstance(v, float) else str(v) for v in values)
        return "<tr>" + "".join(f"<td>{html.escape(t)}</td>" for t in fmt) + "</tr>"

    rows = [
        row(s.spectrum_id, s.grating, s.signal_to_noise, s.exposure_time,
            ", ".join(s.dq_flag_names) or "-", "yes" if s.downloaded else "no")
        for s in coll
    ]  # fmt: skip
    head = "".join(
        f"<th>{c}</th>" for c in ("spectrum_id", "grating", "S/N", "exp [s]", "dq", "local")
    )
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def _quality(obj: Object) -> str:
    try:
        return f"quality: {obj.redshift_quality_label} ({obj.redshift_quality})"
    except ValueError:  # a grade outside 0-4 from an odd row: show the number only
        return f"quality: {obj.redshift_quality}"


def object_html(obj: Object) -> str:
    """The card of an :class:`~campfire.models.object.Object`.

    Lists its ids (object and target ids), position, redshift and quality, spectra count,
    tags, programs and photometry; then its SED and cached cutout (the smallest field of
    view under ``cutouts/``, see :attr:`~campfire.models.object.Object.cached_cutout`) side by side;
    then the table of its spectra.

    Examples
    --------
    >>> from campfire.models.object import Object
    >>> page = object_html(Object("J1", redshift=2.0, redshift_quality=4, programs=["CAPERS"]))
    >>> "programs: CAPERS" in page and "quality: secure" in page
    True
    """
    first, *rest = obj._lines()
    facts: list[str] = []
    if obj.target_ids:
        shown = ", ".join(obj.target_ids[:MAX_TARGETS_SHOWN])
        more = len(obj.target_ids) - MAX_TARGETS_SHOWN
        label = "target" if len(obj.target_ids) == 1 else "targets"
        facts.append(f"{label}: {shown}" + (f" … and {more} more" if more > 0 else ""))
    pos = "" if obj.ra is None or obj.dec is None else f"RA {obj.ra:.6f}, Dec {obj.dec:.6f}; "
    facts.append(f"{pos}{_quality(obj)}")
    phot_line = f"  {obj.photometry!r}" if obj.photometry is not None else None
    facts += [line.strip() for line in rest if line != phot_line]
    if obj.programs:
        facts.append(f"programs: {', '.join(obj.programs)}")
    if phot_line is not None:
        facts.append(phot_line.strip())
    items = "".join(f"<li>{html.escape(f)}</li>" for f in facts)
    sed = sed_svg(obj.photometry) if obj.photometry is not None else ""
    path = obj.cached_cutout
    cutout = cutout_html(path, obj.object_id) if path is not None else ""
    pictures = (
        "<div style='display:flex;gap:12px;align-items:flex-start;flex-wrap:wrap'>"
        f"{sed}{cutout}</div>"
        if sed or cutout
        else ""
    )
    table = spectra_html(obj.spectra) if len(obj.spectra) else ""
    return (
        f"<div class='campfire-object'><b>{html.escape(first)}</b>"
        f"<ul style='margin:4px 0'>{items}</ul>{pictures}{table}</div>"
    )
