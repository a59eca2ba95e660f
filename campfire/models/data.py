"""SpectrumData: one 1D spectrum's arrays, in the units the reference documents.

Wavelength is in µm, ``fnu``/``fnu_err`` in µJy and ``flam``/``flam_err`` in erg/s/cm²/Å
(computed from ``fnu`` when a file has no f_λ). Pixels that no measurement supports (non-finite
flux or error, ``err <= 0``, ``flux == 0``, as msaexp defines them) are *masked*: ``valid`` is
False there and the flux and error arrays hold NaN, so they can never be used by accident.

Examples
--------
>>> import numpy as np
>>> from campfire.models.data import SpectrumData
>>> s = SpectrumData(wavelength=np.array([1.0, 2.0]), fnu=np.array([1.0, 0.0]),
...                  fnu_err=np.array([0.1, 0.1]), grating="PRISM", spectrum_id="demo")
>>> s.valid.tolist(), float(s.flam[0])
([True, False], 2.99792458e-19)
>>> s
SpectrumData(demo, PRISM, 2 pixels, 1.00-2.00 μm)
"""

from __future__ import annotations

import html
import math
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from campfire.science.units import fnu_to_flam

if TYPE_CHECKING:
    from astropy.table import Table

__all__ = ["SpectrumData"]


def _as_float(a: Any) -> np.ndarray:
    return np.array(a, dtype=float, copy=True).ravel()


# -- the inline picture of _repr_html_ ---------------------------------------------------------
# grating families as the explorer colours them (first shades of campfire/views/palette.py,
# which tests/views/test_palette.py checks this against)
_GRATING_COLOURS = {"PRIS": "#7a7a7a", "G140": "#0072b2", "G235": "#009e73", "G395": "#d55e00"}
_SVG_W, _SVG_H = 480, 160
_LEFT, _RIGHT, _TOP, _BOTTOM = 52, 8, 26, 22  # plot-area margins in SVG pixels (2 label rows)


def _nice_step(span: float, target: int = 6) -> float:
    """A 1-2-5 tick step giving about ``target`` ticks over ``span``."""
    raw = span / max(target, 1)
    mag = 10.0 ** math.floor(math.log10(raw))
    return next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """``[start, stop)`` index ranges where ``mask`` is True."""
    edges = np.flatnonzero(np.diff(np.concatenate(([0], mask.astype(np.int8), [0]))))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def _envelope(
    x: np.ndarray, y: np.ndarray, lo: np.ndarray, hi: np.ndarray, width: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Thin a run to at most two points per SVG pixel column, keeping its minimum and maximum
    (so an emission line's peak survives) and the error band's outer edges.
    """
    if x.size <= 2 * width:
        return x, y, lo, hi
    col = np.floor(x).astype(int)
    starts = np.flatnonzero(np.diff(np.concatenate(([col[0] - 1], col))))
    keep: list[int] = []
    band_x, band_lo, band_hi = [], [], []
    for a, b in zip(starts, [*starts[1:], x.size], strict=True):
        seg = y[a:b]
        i, j = int(a + np.argmin(seg)), int(a + np.argmax(seg))
        keep += sorted({i, j})
        band_x.append(float(x[a:b].mean()))
        band_lo.append(float(lo[a:b].min()))
        band_hi.append(float(hi[a:b].max()))
    idx = np.array(keep)
    # the band is drawn per column; give the line's points the column's band values
    bx = np.array(band_x)
    return x[idx], y[idx], np.interp(x[idx], bx, band_lo), np.interp(x[idx], bx, band_hi)


def _points(xs: np.ndarray, ys: np.ndarray) -> str:
    return " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(xs, ys, strict=True))


def _spectrum_svg(spec: SpectrumData) -> str:
    """A small, self-contained SVG of f_ν with its ±1σ band, gaps at masked pixels, axes in µm
    and µJy and, when the redshift is known, the strongest emission lines.
    """
    assert spec.valid is not None
    order = np.argsort(spec.wavelength, kind="stable")
    w, f, e = spec.wavelength[order], spec.fnu[order], spec.fnu_err[order]
    ok = spec.valid[order]
    if not ok.any():
        return ""
    x0, x1 = float(w[ok].min()), float(w[ok].max())
    if x1 <= x0:
        x0, x1 = x0 - 0.01, x1 + 0.01
    lo, hi = np.percentile(f[ok], [0.5, 99.5])
    hi = max(float(hi), float(np.percentile((f + e)[ok], 97.0)))
    significant = ok & (f > 5 * e)  # keep a detected line's peak in view, not a noise spike
    if significant.any():
        hi = max(hi, float(f[significant].max()))
    lo = min(float(lo), 0.0)
    pad = 0.08 * (hi - lo) if hi > lo else max(abs(hi), 1.0) * 0.1
    y0, y1 = lo - pad, hi + pad
    pw, ph = _SVG_W - _LEFT - _RIGHT, _SVG_H - _TOP - _BOTTOM

    def sx(v: Any) -> Any:
        return _LEFT + (np.asarray(v) - x0) / (x1 - x0) * pw

    def sy(v: Any) -> Any:
        return _TOP + (y1 - np.clip(np.asarray(v), y0, y1)) / (y1 - y0) * ph

    colour = _GRATING_COLOURS.get(spec.grating[:4], "#1f77b4")
    parts = [
        f'<svg width="{_SVG_W}" height="{_SVG_H}" viewBox="0 0 {_SVG_W} {_SVG_H}" '
        'role="img" style="font:10px sans-serif;overflow:hidden">',
        f"<title>{html.escape(repr(spec))}</title>",
        f'<rect x="{_LEFT}" y="{_TOP}" width="{pw}" height="{ph}" fill="none" stroke="#bbb"/>',
    ]
    if y0 < 0 < y1:
        yz = float(sy(0.0))
        parts.append(
            f'<line x1="{_LEFT}" x2="{_LEFT + pw}" y1="{yz:.1f}" y2="{yz:.1f}" stroke="#999" '
            'stroke-dasharray="2,2"/>'
        )
    step = _nice_step(x1 - x0)
    for k in range(math.ceil(x0 / step), math.floor(x1 / step) + 1):
        tx = float(sx(k * step))
        label = f"{k * step:.{max(0, -math.floor(math.log10(step)))}f}"
        parts.append(
            f'<line x1="{tx:.1f}" x2="{tx:.1f}" y1="{_TOP + ph}" y2="{_TOP + ph + 3}" '
            f'stroke="#666"/><text x="{tx:.1f}" y="{_TOP + ph + 13}" '
            f'text-anchor="middle" fill="#333">{label}</text>'
        )
    for v in (y0 + pad, y1 - pad):
        parts.append(
            f'<text x="{_LEFT - 4}" y="{float(sy(v)) + 3:.1f}" text-anchor="end" '
            f'fill="#333">{v:.3g}</text>'
        )
    parts.append(
        f'<text x="2" y="{_TOP + ph + 13}" fill="#333">λ [µm]</text>'
        f'<text x="2" y="{_TOP - 4}" fill="#333">f<tspan font-size="8">ν</tspan> [µJy]</text>'
    )
    if spec.redshift is not None and math.isfinite(spec.redshift) and spec.redshift >= 0:
        from campfire.science.lines import get_emission_lines, place_labels

        lines = get_emission_lines(spec.redshift, x0, x1, min_priority=5)
        items = [
            {"x": float(sx(ln["wavelength"])), "width": 6.0 * len(ln["label"]) + 4,
             "label": ln["label"], "priority": ln["priority"], "name": ln["name"]}
            for ln in lines
        ]  # fmt: skip
        for it in items:
            parts.append(
                f'<line x1="{it["x"]:.1f}" x2="{it["x"]:.1f}" y1="{_TOP}" y2="{_TOP + ph}" '
                f'stroke="#b0307f" stroke-dasharray="3,3" stroke-width="0.8" opacity="0.7">'
                f"<title>{html.escape(it['label'])}</title></line>"
            )
        # the strongest lines first, in two rows: a doublet's label once, none overlapping
        for g in place_labels(items, max_rows=2, gap=3):
            if g["visible"]:
                parts.append(
                    f'<text class="line-label" x="{g["x"]:.1f}" y="{_TOP - 15 + 11 * g["row"]}" '
                    f'text-anchor="middle" fill="#b0307f" font-size="9">'
                    f"{html.escape(g['label'])}</text>"
                )
    for a, b in _runs(ok):
        xs, ys = sx(w[a:b]), sy(f[a:b])
        xs, ys, ylo, yhi = _envelope(xs, ys, sy(f[a:b] + e[a:b]), sy(f[a:b] - e[a:b]), pw)
        if xs.size > 1:
            band = _points(np.concatenate([xs, xs[::-1]]), np.concatenate([ylo, yhi[::-1]]))
            parts.append(f'<polygon points="{band}" fill="{colour}" fill-opacity="0.2"/>')
            parts.append(
                f'<polyline points="{_points(xs, ys)}" fill="none" stroke="{colour}" '
                'stroke-width="1" stroke-linejoin="round"/>'
            )
        else:
            parts.append(f'<circle cx="{xs[0]:.1f}" cy="{ys[0]:.1f}" r="1.2" fill="{colour}"/>')
    parts.append("</svg>")
    return "".join(parts)


@dataclass(eq=False)
class SpectrumData:
    """A 1D spectrum with errors, flux in both conventions, a validity mask and its header.

    Parameters
    ----------
    wavelength
        Wavelength in µm, increasing.
    fnu, fnu_err
        Flux density and 1σ error in µJy.
    flam, flam_err
        Flux density and error in erg/s/cm²/Å; computed from ``fnu`` when None.
    header
        The FITS primary header (plus the 1D table's keywords) as a plain dict.
    grating, spectrum_id
        Disperser name (upper case) and the stable spectrum identifier.
    fits_path
        The local file this came from, or None.
    valid
        Boolean mask of usable pixels; derived from the flux and error when None.
    object_id, redshift
        The parent object and its redshift, when known.
    extras
        Optional 2D products: ``sci2d``, ``err2d`` (µJy, shape ny × nwave), ``profile`` …
    """

    wavelength: np.ndarray
    fnu: np.ndarray
    fnu_err: np.ndarray
    flam: np.ndarray | None = None
    flam_err: np.ndarray | None = None
    header: dict[str, Any] = field(default_factory=dict)
    grating: str = ""
    spectrum_id: str = ""
    fits_path: str | None = None
    valid: np.ndarray | None = None
    object_id: str | None = None
    redshift: float | None = None
    extras: dict[str, Any] = field(default_factory=dict, repr=False)
    fnu_units: str = "uJy"
    flam_units: str = "erg / (s cm2 Angstrom)"
    wave_units: str = "um"

    def __post_init__(self) -> None:
        self.wavelength = _as_float(self.wavelength)
        self.fnu = _as_float(self.fnu)
        self.fnu_err = _as_float(self.fnu_err)
        n = self.wavelength.size
        if self.fnu.size != n or self.fnu_err.size != n:
            raise ValueError(
                f"wavelength, fnu and fnu_err must have the same length "
                f"(got {n}, {self.fnu.size}, {self.fnu_err.size})"
            )
        self.grating = (self.grating or "").upper()
        if self.valid is None:
            with np.errstate(invalid="ignore"):
                valid = (
                    np.isfinite(self.wavelength)
                    & np.isfinite(self.fnu)
                    & np.isfinite(self.fnu_err)
                    & (self.fnu_err > 0)
                    & (self.fnu != 0)
                )
        else:
            valid = np.asarray(self.valid, dtype=bool).ravel().copy()
        self.valid = valid
        self.fnu[~valid] = np.nan
        self.fnu_err[~valid] = np.nan
        if self.flam is None:
            self.flam = fnu_to_flam(self.fnu, self.wavelength)
        else:
            self.flam = _as_float(self.flam)
            self.flam[~valid] = np.nan
        if self.flam_err is None:
            self.flam_err = fnu_to_flam(self.fnu_err, self.wavelength)
        else:
            self.flam_err = _as_float(self.flam_err)
            self.flam_err[~valid] = np.nan

    # -- construction ------------------------------------------------------------------------
    @classmethod
    def from_fits(cls, path: str | os.PathLike[str], **kwargs: Any) -> SpectrumData:
        """Read a spectrum file: the archive's ``_spec.fits``, a DJA/msaexp ``.spec.fits``
        (any version) or a JWST pipeline ``x1d``.

        Examples
        --------
        >>> spec = SpectrumData.from_fits("x_spec.fits")  # doctest: +SKIP
        """
        from campfire.io.fits import read_spectrum

        return read_spectrum(path, **kwargs)

    # -- views -------------------------------------------------------------------------------
    def __len__(self) -> int:
        return int(self.wavelength.size)

    def __repr__(self) -> str:
        if len(self):
            rng = f"{np.nanmin(self.wavelength):.2f}-{np.nanmax(self.wavelength):.2f} μm"
        else:
            rng = "empty"
        name = self.spectrum_id or (os.path.basename(self.fits_path) if self.fits_path else "?")
        return f"SpectrumData({name}, {self.grating or '?'}, {len(self)} pixels, {rng})"

    def _repr_html_(self) -> str:
        """A card: the spectrum's facts and an inline SVG of it (no script, no external file).

        Examples
        --------
        >>> s = SpectrumData(np.linspace(1, 2, 50), np.ones(50), np.full(50, 0.1), grating="G140M")
        >>> page = s._repr_html_()
        >>> "<svg" in page and "<polyline" in page and "<script" not in page
        True
        """
        assert self.valid is not None
        good = self.valid
        facts: list[tuple[str, str]] = [
            ("grating", self.grating or "?"),
            ("pixels", f"{len(self)} ({self.n_valid} valid)"),
        ]
        if self.n_valid:
            w = self.wavelength[good]
            fmax = float(np.max(self.fnu[good]))
            with np.errstate(divide="ignore", invalid="ignore"):
                snr = float(np.median(self.fnu[good] / self.fnu_err[good]))
            facts += [
                ("wavelength", f"{w.min():.3f}–{w.max():.3f} µm"),
                ("median S/N", f"{snr:.1f} per pixel"),
                ("peak f_ν", f"{fmax:.4g} µJy"),
            ]
        if self.object_id:
            facts.append(("object", self.object_id))
        if self.redshift is not None:
            facts.append(("redshift", f"{self.redshift:.4f}"))
        if self.fits_path:
            facts.append(("file", os.path.basename(self.fits_path)))
        th = "style='text-align:left;padding-right:8px;white-space:nowrap'"
        rows = "".join(
            f"<tr><th {th}>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in facts
        )
        picture = _spectrum_svg(self) or "<p><i>no valid pixels to draw</i></p>"
        return (
            "<div class='campfire-spectrum-data'>"
            f"<b>{html.escape(repr(self))}</b>"
            f"<div style='display:flex;gap:12px;align-items:flex-start'>{picture}"
            f"<table style='font-size:90%'>{rows}</table></div></div>"
        )

    @property
    def n_valid(self) -> int:
        """Number of usable pixels."""
        assert self.valid is not None
        return int(self.valid.sum())

    def to_table(self) -> Table:
        """Return the spectrum as an ``astropy.table.Table`` with units on every column."""
        import astropy.units as u
        from astropy.table import Table

        flam_unit = u.erg / u.s / u.cm**2 / u.AA
        t = Table(meta={"spectrum_id": self.spectrum_id, "grating": self.grating})
        t["wavelength"] = self.wavelength * u.um
        t["fnu"] = self.fnu * u.uJy
        t["fnu_err"] = self.fnu_err * u.uJy
        t["flam"] = np.asarray(self.flam) * flam_unit
        t["flam_err"] = np.asarray(self.flam_err) * flam_unit
        t["valid"] = self.valid
        return t

    def copy(self, **changes: Any) -> SpectrumData:
        """Return a deep copy, with ``changes`` applied to the named fields."""
        kw: dict[str, Any] = {
            "wavelength": self.wavelength.copy(),
            "fnu": self.fnu.copy(),
            "fnu_err": self.fnu_err.copy(),
            "flam": None,
            "flam_err": None,
            "header": dict(self.header),
            "grating": self.grating,
            "spectrum_id": self.spectrum_id,
            "fits_path": self.fits_path,
            "valid": None if self.valid is None else self.valid.copy(),
            "object_id": self.object_id,
            "redshift": self.redshift,
            "extras": dict(self.extras),
        }
        kw.update(changes)
        return SpectrumData(**kw)

    def to_specutils(self) -> Any:
        """Return a ``specutils.Spectrum1D`` (or ``Spectrum``) with uncertainty and mask.

        Requires the optional ``specutils`` package.
        """
        try:
            import specutils
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError(
                "to_specutils() needs specutils: pip install 'campfire[specutils]'"
            ) from exc
        import astropy.units as u
        from astropy.nddata import StdDevUncertainty

        cls = getattr(specutils, "Spectrum", None) or specutils.Spectrum1D
        return cls(
            spectral_axis=self.wavelength * u.um,
            flux=self.fnu * u.uJy,
            uncertainty=StdDevUncertainty(self.fnu_err),
            mask=~np.asarray(self.valid),
            meta={"header": self.header, "spectrum_id": self.spectrum_id},
        )

    def plot(self, flux_unit: str = "fnu", ax: Any = None, **kwargs: Any) -> Any:
        """Quick-look matplotlib plot (``flux_unit`` ``'fnu'`` or ``'flam'``); returns the axes."""
        from campfire.views.plotting import plot_spectrum_data

        return plot_spectrum_data(self, flux_unit=flux_unit, ax=ax, **kwargs)
