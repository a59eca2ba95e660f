"""The SpectrumViewer's view and data as files: PNG/SVG drawn by matplotlib, CSV and FITS.

The picture is drawn as the browser draws it: the same colours and dashes
(:mod:`campfire.views.palette`), the same window (``x_range``, ``y_range`` or the robust
automatic range), axis unit, lines (hidden ones left out, custom ones added) and label rule
(:func:`campfire.science.lines.place_labels`). The data files hold each spectrum's pixels
inside the window, unsmoothed, in the flux unit shown.

Examples
--------
>>> from campfire.widgets import SpectrumViewer  # doctest: +SKIP
>>> viewer.export("view.svg"); viewer.export("shown.fits")  # doctest: +SKIP
"""

from __future__ import annotations

import io
import math
from typing import TYPE_CHECKING, Any

import numpy as np

from campfire.errors import ValidationError
from campfire.views.palette import grating_styles, legible
from campfire.views.widgets._base import new_figure

if TYPE_CHECKING:
    from campfire.models.data import SpectrumData
    from campfire.views.widgets.spectrum_viewer import SpectrumViewer

__all__ = ["FORMATS", "MIME", "export_bytes", "render_view", "robust_ylim", "shown_columns"]

MIME = {
    "png": "image/png",
    "svg": "image/svg+xml",
    "csv": "text/csv",
    "fits": "application/fits",
}
FORMATS = tuple(MIME)


def robust_ylim(
    fluxes: list[np.ndarray], errors: list[np.ndarray] | None = None, nsigma: float = 5.0
) -> tuple[float, float]:
    """The browser's automatic y range: 0.5-99.5% quantiles widened to the highest value a
    feature holds over two neighbouring detected pixels (flux > ``nsigma`` × error when errors
    are given), padded 8% below and 12% above.

    Examples
    --------
    >>> f = np.ones(1000); f[500:503] = 50.0; f[100] = 900.0  # a 3-pixel line, a hot pixel
    >>> lo, hi = robust_ylim([f]); 50 < hi < 900
    True
    """
    finite = [f[np.isfinite(f)] for f in fluxes]
    values = np.concatenate(finite) if finite else np.array([])
    if values.size == 0:
        return 0.0, 1.0
    lo, hi = (float(v) for v in np.quantile(values, [0.005, 0.995]))
    for k, f in enumerate(fluxes):
        if f.size > 1:
            ok = np.isfinite(f)
            if errors is not None:
                e = errors[k]
                ok &= ~np.isfinite(e) | (f > nsigma * np.where(np.isfinite(e), e, 0.0))
            pair = np.fmin(f[:-1], f[1:])
            pair = pair[ok[:-1] & ok[1:]]
            if pair.size:
                hi = max(hi, float(pair.max()))
    span = hi - lo if hi > lo else (abs(hi) or 1.0)
    return lo - 0.08 * span, hi + 0.12 * span


def _flux(viewer: SpectrumViewer, s: SpectrumData) -> tuple[np.ndarray, np.ndarray, str]:
    if viewer.flux_unit == "flambda":
        from campfire.science.units import fnu_to_flam

        return fnu_to_flam(s.fnu, s.wavelength), fnu_to_flam(s.fnu_err, s.wavelength), "erg/s/cm2/A"
    return np.asarray(s.fnu, float), np.asarray(s.fnu_err, float), "uJy"


def _window(viewer: SpectrumViewer) -> tuple[float, float]:
    if viewer.x_range:
        return float(viewer.x_range[0]), float(viewer.x_range[1])
    lo = min((float(np.nanmin(s.wavelength)) for s in viewer.spectra if len(s)), default=0.6)
    hi = max((float(np.nanmax(s.wavelength)) for s in viewer.spectra if len(s)), default=5.3)
    return lo, hi


def _x_scale(viewer: SpectrumViewer) -> tuple[float, str]:
    z = viewer.redshift
    if viewer.x_unit == "A":
        return 1e4, "observed wavelength [Å]"
    if viewer.x_unit == "rest_A" and z is not None:
        return 1e4 / (1 + z), f"rest wavelength [Å] (z = {z:.4f})"
    return 1.0, "observed wavelength [µm]"


def render_view(viewer: SpectrumViewer, fmt: str = "png", dpi: int = 80) -> bytes:
    """The view as PNG or SVG bytes: spectra, error bands, masked pixels left as gaps, lines."""
    from campfire.science.lines import place_labels

    if fmt not in ("png", "svg"):
        raise ValidationError(f"the view is drawn as 'png' or 'svg' (got {fmt!r})")
    fig = new_figure(8.0, 3.2)
    ax = fig.add_subplot()
    scale, xlabel = _x_scale(viewer)
    lo, hi = _window(viewer)
    specs = viewer.spectra
    styles = grating_styles([s.grating for s in specs])
    shown: list[np.ndarray] = []
    shown_err: list[np.ndarray] = []
    power = 0
    if viewer.flux_unit == "flambda":
        peak = max(
            (
                float(np.nanmax(np.abs(_flux(viewer, s)[0])))
                for s in specs
                if s.valid is not None and s.valid.any()
            ),
            default=1.0,
        )
        power = math.floor(math.log10(peak)) if peak > 0 else 0
    for s, st in zip(specs, styles, strict=True):
        flux, err, _ = _flux(viewer, s)
        flux, err = flux / 10.0**power, err / 10.0**power
        wave = np.asarray(s.wavelength, float)
        ls = (0, tuple(st["dash"])) if st["dash"] else "-"
        ax.fill_between(wave * scale, flux - err, flux + err, color=st["color"], alpha=0.18, lw=0)
        ax.plot(
            wave * scale,
            flux,
            color=st["color"],
            lw=0.9,
            ls=ls,
            label=f"{s.grating} {s.spectrum_id}".strip(),
        )
        inside = (wave >= lo) & (wave <= hi)
        shown.append(flux[inside])
        shown_err.append(err[inside])
    ax.set_xlim(lo * scale, hi * scale)
    ylim = tuple(viewer.y_range) if viewer.y_range else robust_ylim(shown, shown_err)
    ax.set_ylim(*ylim)
    if viewer.redshift is not None and viewer.show_lines:
        lines = _lines_in(viewer, lo, hi)
        per = (hi - lo) * scale / (fig.get_size_inches()[0] * fig.dpi * ax.get_position().width)
        for ln in lines:
            ax.axvline(ln["wave"] * scale, color=ln["color"], ls="--", lw=0.6, alpha=0.7)
        items = [
            {
                **ln,
                "x": ln["wave"] * scale,
                "width": (4.6 * fig.dpi / 72 * len(ln["label"]) + 4) * per,
            }
            for ln in lines
        ]
        for g in place_labels(items, max_rows=3, gap=2 * per):
            if g["visible"]:
                ax.text(g["x"], 1.0 + 0.015 + 0.06 * g["row"], g["label"],
                        transform=ax.get_xaxis_transform(), ha="center", va="bottom", fontsize=7,
                        color=g["members"][0]["color"], clip_on=False)  # fmt: skip
    ax.set_xlabel(xlabel)
    if viewer.flux_unit == "flambda":
        ax.set_ylabel(f"f$_\\lambda$ [10$^{{{power}}}$ erg s$^{{-1}}$ cm$^{{-2}}$ Å$^{{-1}}$]")
    else:
        ax.set_ylabel("f$_\\nu$ [µJy]")
    z = "" if viewer.redshift is None else f"  z = {viewer.redshift:.4f}"
    ax.set_title(f"{viewer.title}{z}", fontsize=10, pad=30 if viewer.show_lines else 6)
    if specs:
        ax.legend(fontsize=7, loc="upper right")
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=dpi, bbox_inches="tight")
    return buf.getvalue()


def _lines_in(viewer: SpectrumViewer, lo: float, hi: float) -> list[dict[str, Any]]:
    """The lines drawn in window lo-hi µm: the list minus hidden ones, plus custom lines."""
    from campfire.science.lines import LINES

    z = float(viewer.redshift or 0.0)
    hidden = set(viewer.hidden_lines)
    out = []
    pool = [
        {"label": ln.label, "rest": ln.rest_wavelength, "priority": ln.priority, "name": ln.name,
         "color": legible(ln.color)}
        for ln in LINES.values() if ln.priority >= viewer.line_priority
    ] + [
        {"label": c["label"], "rest": c["rest"], "priority": 9, "name": "custom",
         "color": "#cc79a7"}
        for c in viewer.custom_lines
    ]  # fmt: skip
    for ln in pool:
        group = _group(ln["label"])
        if ln["name"] != "custom" and (ln["label"] in hidden or f"group:{group}" in hidden):
            continue
        wave = ln["rest"] * (1 + z) / 1e4
        if lo <= wave <= hi:
            out.append({**ln, "wave": wave})
    return out


def _group(label: str) -> str:
    """The line-list control's family of a label (as ``lineGroup`` in widgets/sv_data.js)."""
    import re

    if re.match(r"^(Ly|H[αβγδεζη0-9]|H\d|Pa|Br)", label):
        return "H"
    if label.startswith("He"):
        return "He"
    if "[" in label or "]" in label:
        return "forbidden"
    return "other"


def shown_columns(viewer: SpectrumViewer) -> list[dict[str, Any]]:
    """Each spectrum's pixels inside the window: ``{spectrum_id, grating, wave, flux, err,
    unit}`` (wave in µm, flux and err in the unit shown, unsmoothed).
    """
    lo, hi = _window(viewer)
    out = []
    for s in viewer.spectra:
        flux, err, unit = _flux(viewer, s)
        wave = np.asarray(s.wavelength, float)
        keep = (wave >= lo) & (wave <= hi)
        out.append({"spectrum_id": s.spectrum_id or "", "grating": s.grating or "",
                    "wave": wave[keep], "flux": flux[keep], "err": err[keep],
                    "unit": unit})  # fmt: skip
    return out


def export_bytes(viewer: SpectrumViewer, fmt: str) -> bytes:
    """The view (``'png'``, ``'svg'``) or the data shown (``'csv'``, ``'fits'``) as bytes.

    Raises
    ------
    ValidationError
        For another format, or data export with no spectra shown.
    """
    fmt = fmt.lower()
    if fmt in ("png", "svg"):
        return render_view(viewer, fmt, dpi=120)
    if fmt not in FORMATS:
        raise ValidationError(f"export formats are {', '.join(FORMATS)} (got {fmt!r})")
    cols = shown_columns(viewer)
    if not cols:
        raise ValidationError("there are no spectra in the viewer to export: show an object first")
    if fmt == "csv":
        unit = cols[0]["unit"]
        rows = [f"spectrum_id,grating,wavelength_um,flux_{unit},err_{unit}"]
        for c in cols:
            for w, f, e in zip(c["wave"], c["flux"], c["err"], strict=True):
                fs = "" if not np.isfinite(f) else f"{f:.7g}"
                es = "" if not np.isfinite(e) else f"{e:.7g}"
                rows.append(f"{c['spectrum_id']},{c['grating']},{w:.6f},{fs},{es}")
        return ("\n".join(rows) + "\n").encode()
    from astropy.io import fits

    hdus: list[Any] = [fits.PrimaryHDU()]
    hdus[0].header["OBJECT"] = (viewer.title or "", "campfire object id")
    if viewer.redshift is not None:
        hdus[0].header["REDSHIFT"] = (float(viewer.redshift), "redshift of the lines shown")
    for c in cols:
        table = fits.BinTableHDU.from_columns([
            fits.Column(name="WAVELENGTH", format="D", unit="um", array=c["wave"]),
            fits.Column(name="FLUX", format="D", unit=c["unit"], array=c["flux"]),
            fits.Column(name="ERR", format="D", unit=c["unit"], array=c["err"]),
        ])  # fmt: skip
        table.header["EXTNAME"] = (c["grating"] or "SPECTRUM")[:68]
        table.header["SPEC_ID"] = c["spectrum_id"][:68]
        hdus.append(table)
    buf = io.BytesIO()
    fits.HDUList(hdus).writeto(buf)
    return buf.getvalue()
