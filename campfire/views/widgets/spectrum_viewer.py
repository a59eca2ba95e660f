"""SpectrumViewer: an object's spectra overlaid by grating, lines at a draggable redshift.

The browser does the drawing (``widgets/spectrum_viewer.js``, canvas): spectra with error
bands, masked pixels as gaps over a hatched band, emission lines with staggered labels, the 2D
spectra as heatmaps sharing the wavelength axis, zoom and pan. Redshift dragging, the f_ν/f_λ
switch and smoothing all run in the browser; the kernel hears the result when a drag ends.

Arrays travel as binary float32 buffers: wavelength (µm), f_ν and its error (µJy, NaN where
masked). A 2D spectrum (``SpectrumData.extras['sci2d']``) travels as 8-bit levels between
robust limits, its columns binned when needed to keep one object's payload under
``max_payload`` bytes (PRISM plus three medium gratings fit without binning).

Examples
--------
>>> from campfire.widgets import SpectrumViewer  # doctest: +SKIP
>>> viewer = SpectrumViewer(obj)  # an Object: its spectra and redshift  # doctest: +SKIP
>>> viewer.redshift = 5.21; viewer.flux_unit = "flam"  # doctest: +SKIP
>>> viewer.zoom_rest(6400, 6700)  # Hα and [NII], whatever the redshift  # doctest: +SKIP
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np
import traitlets as t

from campfire.errors import ValidationError
from campfire.views.widgets._assets import asset
from campfire.views.widgets._base import CampfireWidget, figure_png, float32_bytes, new_figure, png_html

if TYPE_CHECKING:
    from campfire.models.data import SpectrumData

__all__ = ["SpectrumViewer", "line_table", "spectrum_trace", "wire_size"]

#: 2D levels 0-254 span [vmin, vmax]; 255 marks a pixel with no data.
NO_DATA = 255
_MAX_BIN = 64
# the browser's grating families (widgets/spectrum_viewer.js), for the static picture
_FAMILY = {"PRIS": "#1a1a1a", "G140": "#1f77b4", "G235": "#2ca02c", "G395": "#d62728"}
_JSON_ALLOWANCE = 4096  # bytes kept for the traces' JSON (ids, limits, …)


def line_table(min_priority: float) -> list[dict[str, Any]]:
    """The emission lines of at least ``min_priority`` as the browser gets them.

    Examples
    --------
    >>> row = next(r for r in line_table(5) if r["name"] == "Ha")
    >>> row["rest"], row["label"]
    (6564.697, 'Hα')
    """
    from campfire.science.lines import LINES

    return [
        {
            "name": ln.name,
            "label": ln.label,
            "rest": ln.rest_wavelength,
            "priority": ln.priority,
            "color": ln.color,
        }
        for ln in LINES.values()
        if ln.priority >= min_priority
    ]


def _bin_columns(image: np.ndarray, factor: int) -> np.ndarray:
    """Mean of each run of ``factor`` columns, ignoring NaN (NaN where a run has no data)."""
    if factor <= 1:
        return image
    ny, nx = image.shape
    pad = (-nx) % factor
    padded = np.concatenate([image, np.full((ny, pad), np.nan)], axis=1) if pad else image
    blocks = padded.reshape(ny, -1, factor)
    good = np.isfinite(blocks)
    total = np.where(good, blocks, 0.0).sum(axis=2)
    count = good.sum(axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _image2d(spec: SpectrumData) -> np.ndarray | None:
    sci = spec.extras.get("sci2d") if spec.extras else None
    if sci is None:
        return None
    arr = np.asarray(sci, dtype=float)
    if arr.ndim != 2 or arr.shape[1] != len(spec) or arr.shape[0] < 1:
        return None
    return arr


def _levels(image: np.ndarray) -> tuple[bytes, float, float]:
    """8-bit levels of a 2D spectrum between its 1st and 99th percentiles (255 = no data)."""
    finite = image[np.isfinite(image)]
    if finite.size == 0:
        return bytes([NO_DATA]) * image.size, 0.0, 1.0
    vmin, vmax = (float(v) for v in np.percentile(finite, [1.0, 99.0]))
    if not vmax > vmin:
        vmax = vmin + 1.0
    with np.errstate(invalid="ignore"):
        scaled = np.clip(np.round((image - vmin) / (vmax - vmin) * 254.0), 0, 254)
    out = np.where(np.isfinite(image), scaled, NO_DATA).astype(np.uint8)
    return out.tobytes(), vmin, vmax


def spectrum_trace(spec: SpectrumData, bin2d: int | None = 1) -> dict[str, Any]:
    """One spectrum as the browser gets it: float32 buffers plus its 2D levels.

    Parameters
    ----------
    spec
        The spectrum (µm, µJy; masked pixels hold NaN).
    bin2d
        Columns averaged per 2D pixel sent; None sends no 2D spectrum.

    Examples
    --------
    >>> from campfire.models.data import SpectrumData
    >>> s = SpectrumData([1.0, 2.0], [3.0, 4.0], [0.1, 0.1], grating="PRISM")
    >>> tr = spectrum_trace(s)
    >>> tr["n"], len(tr["wave"]), tr["sci2d"]
    (2, 8, None)
    """
    trace: dict[str, Any] = {
        "spectrum_id": spec.spectrum_id or "",
        "grating": spec.grating or "",
        "n": len(spec),
        "wave": float32_bytes(spec.wavelength),
        "fnu": float32_bytes(spec.fnu),
        "err": float32_bytes(spec.fnu_err),
        "sci2d": None,
        "ny": 0,
        "nx": 0,
        "bin": 1,
        "vmin": 0.0,
        "vmax": 1.0,
    }
    image = None if bin2d is None else _image2d(spec)
    if image is not None and bin2d is not None:
        binned = _bin_columns(image, bin2d)
        levels, vmin, vmax = _levels(binned)
        trace.update(
            sci2d=levels,
            ny=int(binned.shape[0]),
            nx=int(binned.shape[1]),
            bin=int(bin2d),
            vmin=vmin,
            vmax=vmax,
        )
    return trace


def wire_size(value: Any) -> int:
    """Bytes a trait value takes on the wire: binary buffers plus the JSON of the rest.

    As ipywidgets sends it: buffers are cut out of dicts (their keys dropped) and lists (left
    as ``null``).

    Examples
    --------
    >>> wire_size({"a": b"1234", "b": [1]}) == 4 + len('{"b": [1]}')
    True
    """
    sizes: list[int] = []

    def is_buffer(v: Any) -> bool:
        return isinstance(v, bytes | bytearray | memoryview)

    def strip(v: Any) -> Any:
        if is_buffer(v):
            sizes.append(len(v))
            return None
        if isinstance(v, dict):
            return {k: strip(x) for k, x in v.items() if not is_buffer(x) or strip(x)}
        if isinstance(v, list | tuple):
            return [strip(x) for x in v]
        return v

    text = json.dumps(strip(value))
    return sum(sizes) + len(text)


def _as_spectra(source: Any) -> tuple[list[SpectrumData], float | None, str]:
    """SpectrumData from a SpectrumData, Spectrum, Object, SpectrumCollection or a list."""
    from campfire.models import Object, Spectrum, SpectrumCollection, SpectrumData

    if source is None:
        return [], None, ""
    if isinstance(source, Object):
        return list(source.spectra.open()), source.redshift, source.object_id
    if isinstance(source, SpectrumData | Spectrum):
        source = [source]
    if isinstance(source, SpectrumCollection):
        source = list(source)
    if not isinstance(source, Iterable) or isinstance(source, str | bytes):
        raise ValidationError(
            f"SpectrumViewer shows SpectrumData, Spectrum, Object or a list of them; "
            f"got {type(source).__name__}"
        )
    out = []
    for item in source:
        if isinstance(item, Spectrum):
            item = item.open()
        if not isinstance(item, SpectrumData):
            raise ValidationError(
                f"cannot show a {type(item).__name__}: give SpectrumData "
                "(cf.open_spectrum(id)) or Spectrum objects"
            )
        out.append(item)
    zs = {s.redshift for s in out if s.redshift is not None}
    ids = {s.object_id for s in out if s.object_id}
    return out, (zs.pop() if len(zs) == 1 else None), (ids.pop() if len(ids) == 1 else "")


class SpectrumViewer(CampfireWidget):
    """Spectra of one object, overlaid by grating, with emission lines at a redshift.

    Parameters
    ----------
    spectra
        SpectrumData, Spectrum, an Object (its spectra and redshift) or a list of them.
    redshift
        Where the lines go (default: the spectra's own redshift).
    **settings
        Any trait below, e.g. ``flux_unit='flam'``, ``smoothing=3``, ``line_priority=3``.

    Attributes
    ----------
    redshift : float or None
        The lines' redshift; dragging a line or the slider changes it in the browser.
    flux_unit : str
        ``'fnu'`` (µJy) or ``'flambda'`` (erg/s/cm²/Å; ``'flam'`` accepted).
    smoothing : int
        Boxcar width in pixels (0 or 1: none), applied in the browser.
    x_range : list of float
        The observed window ``[lo, hi]`` in µm, or ``[]`` for everything.
    hold_rest_zoom : bool
        Keep the rest-frame window when new spectra at another redshift arrive.
    line_priority : float
        Show lines of at least this priority (5 = strongest; see :mod:`campfire.science.lines`).

    Examples
    --------
    >>> v = SpectrumViewer([prism, g395m], redshift=4.2, smoothing=3)  # doctest: +SKIP
    >>> v.payload_bytes < 200_000  # doctest: +SKIP
    True
    """

    _esm = asset("spectrum_viewer.js")
    _css = asset("spectrum_viewer.css")

    traces = t.List(t.Dict()).tag(sync=True)
    redshift = t.Float(None, allow_none=True).tag(sync=True)
    flux_unit = t.Unicode("fnu").tag(sync=True)
    smoothing = t.Int(0).tag(sync=True)
    x_range = t.List(t.Float()).tag(sync=True)
    hold_rest_zoom = t.Bool(False).tag(sync=True)
    show_lines = t.Bool(True).tag(sync=True)
    line_priority = t.Float(4.0).tag(sync=True)
    lines = t.List(t.Dict()).tag(sync=True)
    show_2d = t.Bool(True).tag(sync=True)
    title = t.Unicode("").tag(sync=True)
    message = t.Unicode("").tag(sync=True)
    height = t.Int(340).tag(sync=True)
    max_payload = t.Int(190_000)

    def __init__(self, spectra: Any = None, *, redshift: float | None = None, **settings: Any):
        super().__init__(**settings)
        self._spectra: list[SpectrumData] = []
        self._png_key: Any = None
        self._built = 0  # bumped whenever the traces are rebuilt
        self._png: bytes | None = None
        if spectra is not None:
            self.set_spectra(spectra, redshift=redshift)
        elif redshift is not None:
            self.redshift = redshift

    # -- validation ----------------------------------------------------------------------------
    @t.validate("flux_unit")
    def _check_unit(self, proposal: Any) -> str:
        from campfire.science.units import normalize_unit

        unit = normalize_unit(proposal["value"])
        if unit == "ab":
            raise ValidationError("the viewer draws 'fnu' (µJy) or 'flambda' (erg/s/cm²/Å)")
        return unit

    @t.validate("redshift")
    def _check_redshift(self, proposal: Any) -> float | None:
        z: float | None = proposal["value"]
        if z is not None and (not math.isfinite(z) or not -0.01 <= z <= 30):
            raise ValidationError(f"redshift must be a number between 0 and 30 (got {z!r})")
        return z

    @t.validate("smoothing")
    def _check_smoothing(self, proposal: Any) -> int:
        width = int(proposal["value"])
        if not 0 <= width <= 101:
            raise ValidationError(f"smoothing is a boxcar width of 0-101 pixels (got {width})")
        return width

    @t.validate("x_range")
    def _check_range(self, proposal: Any) -> list[float]:
        rng = [float(v) for v in proposal["value"]]
        if rng and (len(rng) != 2 or not all(map(math.isfinite, rng)) or not rng[0] < rng[1]):
            raise ValidationError(f"x_range is [lo, hi] in µm with lo < hi, or [] (got {rng})")
        return rng

    @t.observe("line_priority", "redshift", "traces")
    def _need_lines(self, change: Any) -> None:
        """The line list, sent once there is something to put lines on (loading it imports
        astropy, which an empty explorer need not wait for).
        """
        if change["name"] == "line_priority" or (not self.lines and change["new"]):
            self.lines = line_table(self.line_priority)

    # -- data ----------------------------------------------------------------------------------
    @property
    def spectra(self) -> list[SpectrumData]:
        """The spectra shown, in the order given."""
        return list(self._spectra)

    def _rebuild(self) -> None:
        """Traces for every spectrum, 2D columns binned to keep within ``max_payload``."""
        one_d = sum(12 * len(s) for s in self._spectra)
        shapes = [im.shape for s in self._spectra if (im := _image2d(s)) is not None]
        budget = self.max_payload - one_d - _JSON_ALLOWANCE
        factor: int | None = 1
        while shapes and factor is not None:
            if sum(ny * -(-nx // factor) for ny, nx in shapes) <= budget:
                break
            factor = factor + 1 if factor < _MAX_BIN else None
        self._built += 1
        self.traces = [spectrum_trace(s, factor) for s in self._spectra]

    def set_spectra(self, spectra: Any, redshift: float | None = None) -> None:
        """Show new spectra (replacing the old) and, if given, move the lines to ``redshift``.

        With :attr:`hold_rest_zoom` the rest-frame window is kept: the observed window is
        scaled by ``(1 + z_new) / (1 + z_old)``; otherwise the view resets to everything.
        """
        specs, own_z, object_id = _as_spectra(spectra)
        z = own_z if redshift is None else redshift
        with self.hold_sync():
            rng = list(self.x_range)
            if self.hold_rest_zoom and rng and z is not None and self.redshift is not None:
                factor = (1.0 + z) / (1.0 + self.redshift)
                rng = [rng[0] * factor, rng[1] * factor]
            elif not self.hold_rest_zoom:
                rng = []
            self._spectra = specs
            self._rebuild()
            self.redshift = z
            self.x_range = rng
            if object_id and not self.title:
                self.title = object_id

    def add_spectrum(self, spectrum: Any) -> None:
        """Add one spectrum to those shown (the Explorer adds them as they arrive)."""
        specs, _, _ = _as_spectra(spectrum)
        self._spectra.extend(specs)
        self._rebuild()

    def clear(self, title: str = "", message: str = "") -> None:
        """Show no spectra (the view and redshift are kept)."""
        with self.hold_sync():
            self._spectra = []
            self._built += 1
            self.traces = []
            self.title = title
            self.message = message

    @property
    def payload_bytes(self) -> int:
        """Bytes the current spectra take on the wire (buffers plus JSON)."""
        return wire_size(self.traces)

    # -- view ----------------------------------------------------------------------------------
    def zoom(self, lo: float, hi: float) -> None:
        """Show observed wavelengths ``lo``-``hi`` µm."""
        self.x_range = [float(lo), float(hi)]

    def zoom_rest(self, lo: float, hi: float) -> None:
        """Show rest-frame wavelengths ``lo``-``hi`` Å at the current redshift.

        Examples
        --------
        >>> v = SpectrumViewer(redshift=1.0)
        >>> v.zoom_rest(6000, 7000)
        >>> [round(x, 6) for x in v.x_range]
        [1.2, 1.4]
        """
        if self.redshift is None:
            raise ValidationError("zoom_rest needs a redshift: set viewer.redshift first")
        scale = (1.0 + self.redshift) / 1e4
        self.x_range = [float(lo) * scale, float(hi) * scale]

    def reset_zoom(self) -> None:
        """Show every wavelength again."""
        self.x_range = []

    # -- static picture ------------------------------------------------------------------------
    def to_png(self, dpi: int = 80) -> bytes:
        """A PNG of what the viewer shows (spectra, error bands, lines), drawn by matplotlib."""
        from campfire.science.lines import get_emission_lines
        from campfire.science.units import fnu_to_flam

        key = (self._built, self.redshift, self.flux_unit, tuple(self.x_range), dpi)
        if key == self._png_key and self._png is not None:
            return self._png
        fig = new_figure(8.0, 3.0)
        ax = fig.add_subplot()
        lo_all, hi_all = math.inf, -math.inf
        flam = self.flux_unit == "flambda"
        seen: set[str] = set()
        for i, s in enumerate(self._spectra):
            wave, flux, err = s.wavelength, s.fnu, s.fnu_err
            if flam:
                flux, err = fnu_to_flam(flux, wave) * 1e20, fnu_to_flam(err, wave) * 1e20
            c = _FAMILY.get(s.grating[:4], "C4") if s.grating not in seen else f"C{5 + i % 5}"
            seen.add(s.grating)
            ax.fill_between(wave, flux - err, flux + err, color=c, alpha=0.2, lw=0)
            ax.plot(wave, flux, color=c, lw=0.8, label=s.grating or s.spectrum_id)
            if len(s):
                lo_all = min(lo_all, float(np.nanmin(wave)))
                hi_all = max(hi_all, float(np.nanmax(wave)))
        lo, hi = self.x_range or (lo_all, hi_all)
        if self.redshift is not None and self.show_lines and math.isfinite(lo):
            for ln in get_emission_lines(self.redshift, lo, hi, min_priority=self.line_priority):
                ax.axvline(ln["wavelength"], color=ln["color"], ls="--", lw=0.6, alpha=0.6)
        if math.isfinite(lo) and hi > lo:
            ax.set_xlim(lo, hi)
        ax.set_xlabel("observed wavelength [µm]")
        ax.set_ylabel("f$_\\lambda$ [10$^{-20}$ erg/s/cm²/Å]" if flam else "f$_\\nu$ [µJy]")
        z = "" if self.redshift is None else f"  z = {self.redshift:.4f}"
        ax.set_title(f"{self.title}{z}", fontsize=10)
        if self._spectra:
            ax.legend(fontsize=8, loc="upper left")
        self._png, self._png_key = figure_png(fig, dpi), key
        return self._png

    def _static_bundle(self) -> dict[str, Any]:
        png = self.to_png()
        names = ", ".join(f"{s.grating} {s.spectrum_id}" for s in self._spectra) or "no spectra"
        z = "" if self.redshift is None else f" at z = {self.redshift:.4f}"
        text = html.escape(f"{self.title or 'spectra'}{z}: {names}")
        return {
            "text/html": f"<div class='cf-static'><p>{text}</p>{png_html(png, text)}</div>",
            "image/png": png,
        }
