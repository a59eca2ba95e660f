"""SpectrumViewer: an object's spectra overlaid by grating, lines at a draggable redshift.

The browser does the drawing (``widgets/spectrum_viewer.js``, canvas): spectra with error
bands, masked pixels as gaps over a hatched band, emission lines with staggered labels, the 2D
spectra as heatmaps sharing the wavelength axis, zoom and pan. Redshift dragging, the f_ν/f_λ
and µm/Å/rest-frame Å switches, boxcar and Gaussian smoothing (σ in pixels or km/s), box and y
zoom and the line-list control all run in the browser; the kernel hears the result when a drag
ends. The y range is automatic and robust (the bulk of the pixels plus the highest line peak
that spans two pixels, so Hα or [OIII] are never clipped) unless ``y_range`` is set.

Export: the browser saves the view as PNG and the data shown as CSV; SVG and FITS come from
the kernel (:meth:`SpectrumViewer.export`, also callable from Python with a path).

What travels (float32 buffers, 8-bit 2D levels, the extraction trace) is
:mod:`campfire.views.widgets.spectrum_traces`; 2D columns are binned when needed to keep one
object's payload under ``max_payload`` bytes (PRISM plus three medium gratings fit unbinned).

Examples
--------
>>> from campfire.widgets import SpectrumViewer  # doctest: +SKIP
>>> viewer = SpectrumViewer(obj)  # an Object: its spectra and redshift  # doctest: +SKIP
>>> viewer.redshift = 5.21; viewer.flux_unit = "flam"  # doctest: +SKIP
>>> viewer.zoom_rest(6400, 6700)  # Hα and [NII], whatever the redshift  # doctest: +SKIP
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import traitlets as t

from campfire.errors import CampfireError, ValidationError
from campfire.views.palette import grating_styles
from campfire.views.widgets._assets import asset, esm
from campfire.views.widgets._base import CampfireWidget, png_html
from campfire.views.widgets.spectrum_traces import (
    MAX_BIN,
    image2d,
    line_table,
    spectrum_trace,
    wire_size,
)

if TYPE_CHECKING:
    from campfire.models.data import SpectrumData

__all__ = ["COLORMAPS", "SMOOTHING_KINDS", "STRETCHES", "X_UNITS", "SpectrumViewer"]

#: Units of the wavelength axis, smoothing kinds, 2D stretches and colour maps offered.
X_UNITS = ("um", "A", "rest_A")
SMOOTHING_KINDS = ("boxcar", "gauss_px", "gauss_kms")
STRETCHES = ("linear", "sqrt", "asinh")
COLORMAPS = ("grey", "inverted", "viridis")
_JSON_ALLOWANCE = 4096  # bytes kept for the traces' JSON (ids, limits, …)


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
    smoothing_kind : str
        ``'boxcar'`` (width :attr:`smoothing`), ``'gauss_px'`` or ``'gauss_kms'`` (Gaussian of
        σ :attr:`smoothing_sigma` in pixels or km/s; 0: none).
    smoothing_sigma : float
        The Gaussian's σ.
    x_unit : str
        The wavelength axis: ``'um'`` (observed µm), ``'A'`` (observed Å) or ``'rest_A'``
        (rest-frame Å at the current redshift).
    x_range : list of float
        The observed window ``[lo, hi]`` in µm, or ``[]`` for everything.
    y_range : list of float
        The flux window ``[lo, hi]`` in the unit drawn (f_λ in the axis' power of ten), or
        ``[]`` for the robust automatic range.
    hidden_lines : list of str
        Line labels (``'[OIII]'``) and groups (``'group:H'``, ``'group:He'``,
        ``'group:forbidden'``, ``'group:other'``) not drawn.
    custom_lines : list of dict
        Extra lines ``{"label": "FeII*", "rest": 2612.6}`` (rest Å), always drawn.
    channel : str
        When set, the browser announces the redshift drawn on this channel every frame of a
        drag (the Explorer's :class:`SciencePanel` listens on the same one).
    stretch_2d, cmap_2d : str
        The 2D strips' stretch (``'linear'``, ``'sqrt'``, ``'asinh'``) and colour map
        (``'grey'``, ``'inverted'``, ``'viridis'``).
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

    _esm = esm("spectrum_viewer.js")
    _css = asset("spectrum_viewer.css")

    traces = t.List(t.Dict()).tag(sync=True)
    redshift = t.Float(None, allow_none=True).tag(sync=True)
    flux_unit = t.Unicode("fnu").tag(sync=True)
    smoothing = t.Int(0).tag(sync=True)
    smoothing_kind = t.Unicode("boxcar").tag(sync=True)
    smoothing_sigma = t.Float(0.0).tag(sync=True)
    x_unit = t.Unicode("um").tag(sync=True)
    x_range = t.List(t.Float()).tag(sync=True)
    y_range = t.List(t.Float()).tag(sync=True)
    hidden_lines = t.List(t.Unicode()).tag(sync=True)
    custom_lines = t.List(t.Dict()).tag(sync=True)
    stretch_2d = t.Unicode("linear").tag(sync=True)
    cmap_2d = t.Unicode("grey").tag(sync=True)
    hold_rest_zoom = t.Bool(False).tag(sync=True)
    show_lines = t.Bool(True).tag(sync=True)
    line_priority = t.Float(4.0).tag(sync=True)
    lines = t.List(t.Dict()).tag(sync=True)
    show_2d = t.Bool(True).tag(sync=True)
    title = t.Unicode("").tag(sync=True)
    message = t.Unicode("").tag(sync=True)
    height = t.Int(340).tag(sync=True)
    channel = t.Unicode("").tag(sync=True)
    max_payload = t.Int(190_000)

    def __init__(self, spectra: Any = None, *, redshift: float | None = None, **settings: Any):
        super().__init__(**settings)
        self._spectra: list[SpectrumData] = []
        self._png_key: Any = None
        self._built = 0  # bumped whenever the traces are rebuilt
        self._png: bytes | None = None
        self._encoded: dict[tuple[Any, ...], tuple[Any, dict[str, Any]]] = {}
        if spectra is not None:
            self.set_spectra(spectra, redshift=redshift)
        elif redshift is not None:
            self.redshift = redshift
        self.on_msg(self._on_msg)

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

    @t.validate("x_range", "y_range")
    def _check_range(self, proposal: Any) -> list[float]:
        rng = [float(v) for v in proposal["value"]]
        if rng and (len(rng) != 2 or not all(map(math.isfinite, rng)) or not rng[0] < rng[1]):
            what = "in µm" if proposal["trait"].name == "x_range" else "in the flux unit drawn"
            raise ValidationError(
                f"{proposal['trait'].name} is [lo, hi] {what} with lo < hi, or [] (got {rng})"
            )
        return rng

    @t.validate("x_unit", "smoothing_kind", "stretch_2d", "cmap_2d")
    def _check_choice(self, proposal: Any) -> str:
        name, value = proposal["trait"].name, str(proposal["value"])
        choices = {"x_unit": X_UNITS, "smoothing_kind": SMOOTHING_KINDS,
                   "stretch_2d": STRETCHES, "cmap_2d": COLORMAPS}[name]  # fmt: skip
        if value not in choices:
            raise ValidationError(f"{name} is one of {', '.join(choices)} (got {value!r})")
        return value

    @t.validate("smoothing_sigma")
    def _check_sigma(self, proposal: Any) -> float:
        sigma = float(proposal["value"])
        if not math.isfinite(sigma) or not 0 <= sigma <= 5000:
            raise ValidationError(
                f"smoothing_sigma is a Gaussian σ of 0-5000 (pixels or km/s; got {sigma})"
            )
        return sigma

    @t.validate("custom_lines")
    def _check_custom(self, proposal: Any) -> list[dict[str, Any]]:
        out = []
        for item in proposal["value"]:
            label, rest = str(item.get("label", "")).strip(), item.get("rest")
            if not label or not isinstance(rest, int | float) or not 500 <= rest <= 60000:
                raise ValidationError(
                    "a custom line is {'label': name, 'rest': rest wavelength in Å "
                    f"(500-60000)}} (got {item!r})"
                )
            out.append(
                {
                    "label": label,
                    "rest": float(rest),
                    **({"color": item["color"]} if "color" in item else {}),
                }
            )
        return out

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
        shapes = [im.shape for s in self._spectra if (im := image2d(s)) is not None]
        budget = self.max_payload - one_d - _JSON_ALLOWANCE
        factor: int | None = 1
        while shapes and factor is not None:
            if sum(ny * -(-nx // factor) for ny, nx in shapes) <= budget:
                break
            factor = factor + 1 if factor < MAX_BIN else None
        self._built += 1
        styles = grating_styles([s.grating for s in self._spectra])
        # a spectrum added to those shown encodes only itself (the Explorer adds them one by one)
        cache, self._encoded = self._encoded, {}
        out = []
        for s, style in zip(self._spectra, styles, strict=True):
            key = (id(s), factor, style["color"], tuple(style["dash"]))
            hit = cache.get(key)
            trace = hit[1] if hit is not None and hit[0] is s else spectrum_trace(s, factor, style)
            self._encoded[key] = (s, trace)  # the spectrum kept: an id is never reused meanwhile
            out.append(trace)
        self.traces = out

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

    def replace_spectra(self, spectra: list[SpectrumData]) -> None:
        """Replace the spectra shown with the same ids by these (the Explorer's full reads, with
        their 2D products, after the 1D drawn first), in one update.
        """
        new = {s.spectrum_id: s for s in spectra if s.spectrum_id}
        self._spectra = [new.get(s.spectrum_id or "", s) for s in self._spectra]
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

    # -- static picture and export -----------------------------------------------------------
    def to_png(self, dpi: int = 80) -> bytes:
        """A PNG of what the viewer shows (spectra, error bands, lines), drawn by matplotlib
        in the widget's colours (:mod:`campfire.views.palette`).
        """
        from campfire.views.widgets.spectrum_files import render_view

        key = (self._built, self.redshift, self.flux_unit, tuple(self.x_range),
               tuple(self.y_range), self.x_unit, tuple(self.hidden_lines), dpi)  # fmt: skip
        if key == self._png_key and self._png is not None:
            return self._png
        self._png, self._png_key = render_view(self, "png", dpi=dpi), key
        return self._png

    def export(self, path: Any) -> Any:
        """Save the view or the data shown, the format from the suffix: ``.png``/``.svg``
        (the view, drawn by matplotlib), ``.csv`` (the spectra's pixels inside the window, in
        the flux unit shown) or ``.fits`` (one table HDU per spectrum). Returns the path.

        Examples
        --------
        >>> viewer.export("J0217-hero.svg")  # doctest: +SKIP
        PosixPath('J0217-hero.svg')
        """
        from pathlib import Path

        from campfire.views.widgets.spectrum_files import export_bytes

        target = Path(path)
        fmt = target.suffix.lower().lstrip(".")
        target.write_bytes(export_bytes(self, fmt))
        return target

    def _on_msg(self, _widget: Any, content: dict[str, Any], buffers: list[Any]) -> None:
        """The browser's Export menu asks for SVG or FITS: answer with the file's bytes."""
        from campfire.views.widgets.spectrum_files import MIME, export_bytes

        if not isinstance(content, dict) or content.get("type") != "export":
            return
        fmt = str(content.get("format", ""))
        stem = "".join(c if c.isalnum() or c in "_.+-" else "_" for c in (self.title or "spectra"))
        try:
            data = export_bytes(self, fmt)
        except CampfireError as exc:
            self.send({"type": "export", "format": fmt, "error": str(exc)})
            return
        reply = {"type": "export", "format": fmt, "filename": f"{stem}.{fmt}", "mime": MIME[fmt]}
        self.send(reply, buffers=[data])

    def _static_bundle(self) -> dict[str, Any]:
        png = self.to_png()
        names = ", ".join(f"{s.grating} {s.spectrum_id}" for s in self._spectra) or "no spectra"
        z = "" if self.redshift is None else f" at z = {self.redshift:.4f}"
        text = html.escape(f"{self.title or 'spectra'}{z}: {names}")
        return {
            "text/html": f"<div class='cf-static'><p>{text}</p>{png_html(png, text)}</div>",
            "image/png": png,
        }
