"""What every campfire widget shares: the anywidget import, strict keywords, static pictures.

A widget shown where no kernel runs (GitHub, nbviewer, a saved notebook opened later) cannot
draw itself, so each widget adds a static picture to its MIME bundle: ``text/html`` always and
``image/png`` where a picture says more. Front ends with the widget manager still show the live
widget (its MIME type ranks first); the others fall back to the picture.
"""

from __future__ import annotations

import base64
import html
import io
import logging
from typing import Any

import numpy as np

try:
    import anywidget
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "campfire's widgets need anywidget and ipywidgets: pip install 'campfire[jupyter]'"
    ) from exc

__all__ = ["CampfireWidget", "figure_png", "float32_bytes", "new_figure", "png_html"]

log = logging.getLogger(__name__)


def float32_bytes(values: Any) -> bytes:
    """The values as little-endian float32 bytes (a binary buffer on the wire, not JSON).

    Examples
    --------
    >>> np.frombuffer(float32_bytes([1.0, float("nan")]), "<f4").tolist()[0]
    1.0
    """
    return np.ascontiguousarray(np.asarray(values, dtype="<f4")).tobytes()


def new_figure(width: float, height: float) -> Any:
    """A matplotlib Figure made without pyplot (so the inline backend never shows it twice)."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height))


def figure_png(fig: Any, dpi: int = 80) -> bytes:
    """Render a matplotlib Figure to PNG bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    return buf.getvalue()


def png_html(png: bytes | None, alt: str, width: int | None = None) -> str:
    """An ``<img>`` tag with the PNG inlined (or an empty string without one)."""
    if not png:
        return ""
    size = f' width="{width}"' if width else ""
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{html.escape(alt)}"{size} src="data:image/png;base64,{data}"/>'


class CampfireWidget(anywidget.AnyWidget):
    """An anywidget that rejects unknown keywords and adds a static picture to its bundle."""

    def __init__(self, **kwargs: Any) -> None:
        unknown = sorted(k for k in kwargs if not self.has_trait(k))
        if unknown:
            names = sorted(n for n in self.trait_names(sync=True) if not n.startswith("_"))
            raise TypeError(
                f"{type(self).__name__} got unknown keyword(s) {', '.join(unknown)}; "
                f"its settings are: {', '.join(names)}"
            )
        super().__init__(**kwargs)

    def _static_bundle(self) -> dict[str, Any]:
        """``{'text/html': ..., 'image/png': ...}`` for front ends without a kernel."""
        return {}

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is None:
            return None
        data, meta = bundle
        try:
            data.update(self._static_bundle())
        except Exception as exc:  # a picture is a courtesy: never break the live widget
            log.warning("no static picture for %s: %s", type(self).__name__, exc)
        return data, meta
