"""CutoutPanel: the RGB cutout with the MSA shutters drawn on top, as in ``plot_cutout``.

The cutout PNG travels as one binary buffer; the shutters as footprints computed here with
:func:`campfire.views.imaging.shutter_footprints` (east/north offsets in arcsec, categories
``target``/``other``/``stuck_closed``), styled like :func:`campfire.views.imaging.plot_cutout`
(``DEFAULT_SHUTTER_STYLE`` merged with ``shutter_style``; ``box`` outlines or ``corners``
marks). The browser (``widgets/cutout_panel.js``) draws north up, east left, with a scale bar,
north/east arrows and a field-of-view control; bound to a client, a field wider than the image
fetches a wider cutout.

Examples
--------
>>> from campfire.widgets import CutoutPanel  # doctest: +SKIP
>>> panel = CutoutPanel.from_client(cf, "J021737.42-051208.5", fov=3.2)  # doctest: +SKIP
>>> panel.shutters_mode = "target"  # only the object's own shutters  # doctest: +SKIP
"""

from __future__ import annotations

import html
import logging
import math
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import traitlets as t

from campfire.errors import CampfireError, ValidationError
from campfire.views.widgets._assets import asset
from campfire.views.widgets._base import CampfireWidget, figure_png, new_figure, png_html

if TYPE_CHECKING:
    from campfire.client import Campfire

__all__ = ["CutoutPanel", "css_styles"]

log = logging.getLogger(__name__)
MAX_FOV = 30.0  # the archive's largest cutout, arcsec
_DASHES: dict[str, list[float]] = {
    "--": [5, 3], "dashed": [5, 3], ":": [1.5, 2.5], "dotted": [1.5, 2.5],
    "-.": [5, 2, 1.5, 2], "dashdot": [5, 2, 1.5, 2],
}  # fmt: skip


_HEX = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
# colours matplotlib and CSS name alike, so the common styles need no matplotlib import
_NAMED = {
    "white": "#ffffff", "black": "#000000", "red": "#ff0000", "green": "#008000",
    "lime": "#00ff00", "blue": "#0000ff", "yellow": "#ffff00", "cyan": "#00ffff",
    "magenta": "#ff00ff", "orange": "#ffa500", "gray": "#808080", "grey": "#808080",
}  # fmt: skip


def _css_color(color: Any) -> str:
    if isinstance(color, str) and (_HEX.match(color) or color.lower() in _NAMED):
        return _NAMED.get(color.lower(), color.lower())
    try:
        from matplotlib.colors import to_hex

        return str(to_hex(color, keep_alpha=False))
    except ImportError:  # pragma: no cover - matplotlib is optional
        return str(color)
    except ValueError as exc:
        raise ValidationError(f"shutter_style colour {color!r} is not a colour: {exc}") from exc


def css_styles(shutter_style: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """Shutter styles for the browser: ``plot_cutout``'s, merged and turned into canvas terms.

    Examples
    --------
    >>> css_styles()["stuck_closed"]
    {'marker': 'box', 'color': '#a0a0a0', 'width': 1.0, 'dash': [5, 3], 'alpha': 0.85}
    >>> css_styles({"target": {"marker": "corners", "edgecolor": "C2"}})["target"]["color"]
    '#2ca02c'
    """
    from campfire.views.shutter_styles import merge_styles

    out = {}
    for category, style in merge_styles(shutter_style).items():
        width = float(style.get("linewidth", style.get("lw", 1.0)))
        dash = style.get("linestyle", style.get("ls", "-"))
        out[category] = {
            "marker": style.get("marker", "box"),
            "color": _css_color(style.get("edgecolor", style.get("color", "white"))),
            "width": round(width * 1.25, 3),  # points at 90 dpi, as px
            "dash": list(_DASHES.get(str(dash), [])),
            "alpha": float(style.get("alpha", 1.0)),
        }
    return out


def _png_bytes(image: Any) -> bytes:
    if image is None:
        return b""
    if isinstance(image, str | os.PathLike):
        path = Path(image)
        if not path.is_file():
            raise ValidationError(f"cutout image {os.fspath(path)!r} does not exist")
        image = path.read_bytes()
    if not isinstance(image, bytes | bytearray) or not bytes(image[:8]) == b"\x89PNG\r\n\x1a\n":
        raise ValidationError(
            "the cutout must be PNG bytes or the path of a PNG (cf.get_cutout(object_id))"
        )
    return bytes(image)


def _mode(mode: Any) -> str:
    """``'all'``, ``'target'`` or ``'none'``, by the rules of ``plot_cutout``'s shutters_mode."""
    from campfire.views.shutter_styles import check_mode

    return check_mode(mode)


class CutoutPanel(CampfireWidget):
    """An RGB cutout with MSA shutter footprints, a scale bar and north/east arrows.

    Parameters
    ----------
    image
        The ``/cutout`` PNG (bytes or a path), north up, east left, ``image_fov`` on a side.
    shutters
        The ``/shutters`` JSON (``cf.get_shutters``), or None.
    object_id
        The object whose shutters are drawn in the ``target`` style.
    fov
        Field of view shown, arcsec (default: the image's).
    image_fov
        Field of view the image spans, arcsec (default ``fov``).
    shutter_style
        Per-category overrides of :data:`campfire.views.imaging.DEFAULT_SHUTTER_STYLE`.
    shutters_mode
        True/``'all'``, ``'target'`` or False/``'none'``.

    Examples
    --------
    >>> png, shutters = cf.get_cutout(oid), cf.get_shutters(oid)  # doctest: +SKIP
    >>> panel = CutoutPanel(png, shutters, object_id=oid)  # doctest: +SKIP
    """

    _esm = asset("cutout_panel.js")
    _css = asset("cutout_panel.css")

    image = t.Bytes(b"").tag(sync=True)
    image_fov = t.Float(5.0).tag(sync=True)
    fov = t.Float(5.0).tag(sync=True)
    object_id = t.Unicode("").tag(sync=True)
    footprints = t.List(t.Dict()).tag(sync=True)
    styles = t.Dict().tag(sync=True)
    shutters_mode = t.Any("all").tag(sync=True)  # validated to "all", "target" or "none"
    scalebar = t.Bool(True).tag(sync=True)
    compass = t.Bool(True).tag(sync=True)
    size = t.Int(300).tag(sync=True)
    message = t.Unicode("").tag(sync=True)
    stretch = t.Unicode("asinh").tag(sync=True)
    center = t.List(t.Float()).tag(sync=True)

    def __init__(
        self,
        image: Any = None,
        shutters: dict[str, Any] | None = None,
        *,
        object_id: str | None = None,
        fov: float | None = None,
        image_fov: float | None = None,
        shutter_style: dict[str, dict[str, Any]] | None = None,
        shutters_mode: bool | str = True,
        cf: Campfire | None = None,
        **settings: Any,
    ) -> None:
        super().__init__(**settings)
        self._cf = cf
        self._shutters: dict[str, Any] | None = None
        self._shutter_style = shutter_style
        self.styles = css_styles(shutter_style)
        self.shutters_mode = _mode(shutters_mode)
        self.show(image, shutters, object_id=object_id, fov=fov, image_fov=image_fov)

    @classmethod
    def from_client(cls, cf: Campfire, object_id: str, fov: float = 5.0, **kw: Any) -> CutoutPanel:
        """A panel bound to a client: fetches (and caches) the cutout and shutters.

        Examples
        --------
        >>> CutoutPanel.from_client(cf, "J021737.42-051208.5", fov=3.2)  # doctest: +SKIP
        """
        panel = cls(cf=cf, **kw)
        panel.load(object_id, fov)
        return panel

    # -- validation ----------------------------------------------------------------------------
    @t.validate("fov", "image_fov")
    def _check_fov(self, proposal: Any) -> float:
        fov = float(proposal["value"])
        if not math.isfinite(fov) or not 0 < fov <= MAX_FOV:
            raise ValidationError(f"fov must be in (0, {MAX_FOV:g}] arcsec (got {fov!r})")
        return fov

    @t.validate("stretch")
    def _check_stretch(self, proposal: Any) -> str:
        if proposal["value"] not in ("linear", "sqrt", "asinh", "log"):
            raise ValidationError(
                f"stretch is 'linear', 'sqrt', 'asinh' or 'log' (got {proposal['value']!r})"
            )
        return str(proposal["value"])

    @t.validate("shutters_mode")
    def _check_mode(self, proposal: Any) -> str:
        return _mode(proposal["value"])

    @t.observe("fov")
    def _wider(self, change: Any) -> None:
        if self._cf is not None and self.object_id and change["new"] > self.image_fov + 1e-9:
            self.load(self.object_id, change["new"])

    # -- data ----------------------------------------------------------------------------------
    def show(
        self,
        image: Any,
        shutters: dict[str, Any] | None,
        *,
        object_id: str | None = None,
        fov: float | None = None,
        image_fov: float | None = None,
    ) -> None:
        """Show another cutout (and its shutters), replacing the current one."""
        png = _png_bytes(image)
        feet = []
        if shutters is not None:
            from campfire.views.imaging import shutter_footprints  # numpy: not for an empty panel

            for fp in shutter_footprints(shutters, object_id or None, True):
                row = fp["row"]
                feet.append(
                    {
                        "category": fp["category"],
                        "center": [round(v, 5) for v in fp["center"]],
                        "corners": [[round(float(v), 5) for v in c] for c in fp["corners"]],
                        "position_angle": fp["position_angle"],
                        "object_id": row.get("object_id"),
                        "observation": row.get("observation"),
                        "state": row.get("shutter_state", "open"),
                    }
                )
        spans = image_fov or fov or self.image_fov
        meta = shutters.get("meta") if isinstance(shutters, dict) else None
        center: list[float] = []
        if isinstance(meta, dict) and meta.get("center_ra") is not None:
            center = [float(meta["center_ra"]), float(meta["center_dec"])]
        with self.hold_sync():
            self.center = center
            self._shutters = shutters
            self.image = png
            self.object_id = object_id or ""
            self.image_fov = spans
            self.fov = fov or spans
            self.footprints = feet
            self.message = ""

    def load(self, object_id: str, fov: float | None = None) -> bool:
        """Fetch ``object_id``'s cutout and shutters through the bound client; False on failure.

        A failure (offline, unknown object, archive error) is shown in the panel, not raised.
        """
        if self._cf is None:
            raise ValidationError("this panel has no client: use CutoutPanel.from_client(cf, ...)")
        fov = float(fov or self.fov)
        try:
            path = self._cf.get_cutout(object_id, fov=fov)
            shutters = self._cf.get_shutters(object_id, fov=fov)
        except CampfireError as exc:
            log.info("cutout of %s unavailable: %s", object_id, exc)
            with self.hold_sync():
                self.image, self.footprints, self._shutters = b"", [], None
                self.object_id = object_id
                self.message = f"no cutout for {object_id}: {exc}"
            return False
        self.show(path, shutters, object_id=object_id, fov=fov, image_fov=fov)
        return True

    # -- static picture ------------------------------------------------------------------------
    def to_png(self, dpi: int = 80) -> bytes | None:
        """The cutout with its shutters, drawn by :func:`campfire.views.imaging.plot_cutout`."""
        if not self.image:
            return None
        from campfire.views.imaging import plot_cutout

        fig = new_figure(3.5, 3.5)
        ax = fig.add_subplot()
        mode = {"all": True, "none": False}.get(self.shutters_mode, self.shutters_mode)
        plot_cutout(
            self.image,
            shutters=self._shutters,
            object_id=self.object_id or None,
            fov=self.image_fov,
            ax=ax,
            shutters_mode=mode if self.object_id or mode != "target" else True,
            shutter_style=self._shutter_style,
            scalebar=self.scalebar,
        )
        half = self.fov / 2
        ax.set_xlim(half, -half)
        ax.set_ylim(-half, half)
        ax.set_title(self.object_id, fontsize=9)
        return figure_png(fig, dpi)

    def _static_bundle(self) -> dict[str, Any]:
        png = self.to_png()
        text = html.escape(f"{self.object_id or 'cutout'} ({self.fov:g}″, north up, east left)")
        out: dict[str, Any] = {
            "text/html": f"<div class='cf-static'><p>{text}</p>{png_html(png, text, 320)}"
            f"{html.escape(self.message)}</div>"
        }
        if png:
            out["image/png"] = png
        return out
