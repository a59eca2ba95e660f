"""What every campfire widget shares: the anywidget import, strict keywords, static pictures.

A widget shown where no kernel runs (GitHub, nbviewer, nbconvert HTML, a saved notebook opened
later) cannot draw itself. nbconvert and nbviewer pick the widget view over any fallback in
the same output once the widget state is saved (``nbconvert --execute`` saves it), and show an
empty box offline. So a displayed widget leaves two outputs (:func:`display_with_picture`):
the live widget view, and beside it a static picture (``text/html`` with an inline PNG, and
``image/png``) marked ``cf-static-picture``. A stylesheet in the picture hides it wherever the
live widget renders in the same output area (the widget carries the ``cf-live`` class), so
JupyterLab shows the widget alone; everywhere else the picture shows.
"""

from __future__ import annotations

import base64
import html
import io
import logging
from html.parser import HTMLParser
from typing import Any

try:
    import anywidget
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "campfire's widgets need anywidget and ipywidgets: pip install 'campfire[jupyter]'"
    ) from exc

__all__ = [
    "PICTURE_CLASS",
    "CampfireWidget",
    "display_with_picture",
    "figure_png",
    "float32_bytes",
    "new_figure",
    "picture_bundle",
    "png_html",
    "static_table",
    "table_png",
]

#: The class of a widget's static picture, and the class its live view carries.
PICTURE_CLASS, LIVE_CLASS = "cf-static-picture", "cf-live"

# hide a picture where its widget is live (JupyterLab, Notebook 7, nbviewer with the widget
# manager); GitHub drops <style>, so there the picture shows, as it should
_HIDE_WHEN_LIVE = (
    f"<style>.jp-OutputArea:has(.{LIVE_CLASS}) .{PICTURE_CLASS},"
    f".output_area:has(.{LIVE_CLASS}) ~ .output_area .{PICTURE_CLASS}{{display:none}}</style>"
)

log = logging.getLogger(__name__)


def float32_bytes(values: Any) -> bytes:
    """The values as little-endian float32 bytes (a binary buffer on the wire, not JSON).

    Examples
    --------
    >>> import numpy as np
    >>> np.frombuffer(float32_bytes([1.0, float("nan")]), "<f4").tolist()[0]
    1.0
    """
    import numpy as np

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


class _Cells(HTMLParser):
    """The text of each cell of the first HTML table, row by row."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th") and self.rows:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def table_png(table_html: str, max_rows: int = 15, max_chars: int = 24) -> bytes | None:
    r"""A PNG of the first HTML table (header and up to ``max_rows`` rows), or None.

    Examples
    --------
    >>> table_png("<table><tr><th>z</th></tr><tr><td>3.4</td></tr></table>")[:4]
    b'\x89PNG'
    """
    parser = _Cells()
    parser.feed(table_html)
    rows = [r for r in parser.rows if r][: max_rows + 1]
    if len(rows) < 2:
        return None
    width = max(len(r) for r in rows)
    cells = [[(c if len(c) <= max_chars else c[: max_chars - 1] + "…") for c in r] for r in rows]
    cells = [r + [""] * (width - len(r)) for r in cells]
    fig = new_figure(min(1.1 * width + 1, 14), 0.28 * len(cells) + 0.2)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.axis("off")
    tab = ax.table(cellText=cells[1:], colLabels=cells[0], loc="upper center", cellLoc="left")
    tab.auto_set_font_size(False)
    tab.set_fontsize(8)
    tab.auto_set_column_width(list(range(width)))
    fig.canvas.draw()  # lay the table out, then keep only its box
    box = tab.get_window_extent().transformed(fig.dpi_scale_trans.inverted())
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches=box.padded(0.05))
    return buf.getvalue()


def picture_bundle(bundle: dict[str, Any], alt: str) -> dict[str, Any] | None:
    r"""The static picture of a widget's bundle: ``text/html`` with an image, and ``image/png``.

    The widget's own ``text/html`` is kept; where it holds no image (a table), a PNG of its
    table is added, so every picture is one. None when the bundle has no picture at all.

    Examples
    --------
    >>> picture_bundle({"text/html": "<p>hi</p>", "image/png": b"\x89PNG"}, "x")["image/png"]
    b'\x89PNG'
    """
    text = bundle.get("text/html") or ""
    png = bundle.get("image/png")
    if not text and not png:
        return None
    if "<img" not in text and "<svg" not in text:
        png = png or table_png(text)
        if png:  # the picture first; the table as text beneath it, folded
            text = f"{png_html(png, alt)}<details><summary>as text</summary>{text}</details>"
    out: dict[str, Any] = {
        "text/html": f"{_HIDE_WHEN_LIVE}<div class='{PICTURE_CLASS}'>{text}</div>",
        "text/plain": f"[static picture of {alt}]",
    }
    if png:
        out["image/png"] = png
    return out


def display_with_picture(widget: Any) -> None:
    """Display a widget as two outputs: its live view, and its static picture beside it.

    The ``_ipython_display_`` of campfire's widgets (IPython calls it for ``display(w)`` and
    for a widget that ends a cell).

    Examples
    --------
    >>> ex = Explorer(cf); ex  # a live explorer, and a picture for GitHub  # doctest: +SKIP
    """
    from IPython.display import display

    bundle = widget._repr_mimebundle_()
    if bundle is None:
        return
    data, meta = bundle if isinstance(bundle, tuple) else (bundle, {})
    picture = None
    try:
        picture = picture_bundle(data, type(widget).__name__)
    except Exception as exc:  # a picture is a courtesy: never break the live widget
        log.warning("no static picture for %s: %s", type(widget).__name__, exc)
    live = {k: v for k, v in data.items() if k not in ("text/html", "image/png")}
    live["text/plain"] = f"{type(widget).__name__}: a live widget (its picture is below)"
    display(live, metadata=meta, raw=True)  # type: ignore[no-untyped-call]
    if picture is not None:
        display(picture, raw=True)  # type: ignore[no-untyped-call]


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
        self.add_class(LIVE_CLASS)

    _ipython_display_ = display_with_picture

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


def static_table(
    columns: list[str], rows: list[dict[str, Any]], offset: int, total: int, selected: str | None
) -> str:
    """A table's shown rows as static HTML (what a notebook keeps without a kernel).

    Examples
    --------
    >>> "<td>J1</td>" in static_table(["object_id"], [{"object_id": "J1"}], 0, 1, None)
    True
    """

    def cell(v: Any) -> str:
        if isinstance(v, list):
            v = ", ".join(map(str, v))
        elif isinstance(v, float):
            v = f"{v:.4f}"
        return "" if v is None else html.escape(str(v))

    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{cell(r.get(c))}</td>" for c in columns) + "</tr>" for r in rows
    )
    shown = f"rows {offset + 1}-{offset + len(rows)} of {total:,}"
    return (
        f"<div class='cf-static'><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody>"
        f"</table><p>{shown}; selected: {html.escape(selected or 'none')}</p></div>"
    )
