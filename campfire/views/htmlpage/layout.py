"""The bokeh document of a standalone page: linked views over one shared data source.

One :class:`~bokeh.models.ColumnDataSource` holds a row per object; the sky plot (RA/Dec,
east to the left, coloured by redshift), the redshift against S/N plot and the sortable table
all draw from it, so selecting in any one selects in all. Choosing an object fills the
spectrum pane (fν or fλ, error band, smoothing, emission lines at the redshift in the box or
on the slider), the cutout pane and the inspection form, in the browser: the callbacks are
``page.js``, loaded into each :class:`~bokeh.models.CustomJS`. BokehJS is inlined
(``INLINE`` resources), so the page makes no request.

The page is built to be usable soon after it opens: spectra stay encoded until their object is
shown (``data.py``), the first object is drawn here rather than by the browser after its first
paint (``initial.py``), and the cutout is a :class:`~bokeh.models.Div` of an image and SVG
outlines rather than a fourth plot.

Examples
--------
>>> html = page_html([], title="empty")  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import math
from importlib.resources import files
from typing import Any

import numpy as np

from campfire.views.htmlpage.data import (
    MAX_BINS,
    PageObject,
    imaging_columns,
    line_columns,
    object_columns,
    shutter_columns,
    spectrum_columns,
)
from campfire.views.htmlpage.initial import (
    CUTOUT_PX,
    cutout_frame,
    cutout_html,
    line_markers,
    object_title,
    spectrum_sources,
)
from campfire.views.htmlpage.template import (
    ROOTS,
    TEMPLATE,
    intro_html,
    notes_html,
    template_variables,
)

__all__ = ["QUALITY_LABELS", "page_html"]

#: The inspection grades 0-4 (campfire.flags.RedshiftQuality), as the form's buttons show them.
QUALITY_LABELS = ["0 none", "1 impossible", "2 tentative", "3 probable", "4 secure"]


def page_js() -> str:
    """The page's JavaScript (``page.js`` beside this module)."""
    return files("campfire.views.htmlpage").joinpath("page.js").read_text(encoding="utf-8")


def _callback(args: dict[str, Any], call: str) -> Any:
    from bokeh.models import CustomJS

    names = ", ".join(f"{k}: {k}" for k in args)
    return CustomJS(args=args, code=f"{page_js()}\nconst a = {{{names}}};\n{call};\n")


def _page_key(ids: list[str], title: str) -> str:
    return hashlib.sha256("\n".join([title, *ids]).encode()).hexdigest()[:16]


def _range(values: np.ndarray, pad: float) -> tuple[float, float]:
    ok = values[np.isfinite(values)]
    if not len(ok):
        return 0.0, 1.0
    lo, hi = float(ok.min()), float(ok.max())
    span = max(hi - lo, 1e-3)
    return lo - pad * span, hi + pad * span


def _views(objects: Any, cols: dict[str, Any]) -> list[Any]:
    """The sky plot, redshift against S/N, and the table, all over ``objects``."""
    from bokeh.models import (
        ColorBar,
        DataTable,
        HoverTool,
        LinearColorMapper,
        NumberFormatter,
        Range1d,
        TableColumn,
    )
    from bokeh.palettes import Viridis256
    from bokeh.plotting import figure

    z = cols["redshift"]
    zlo, zhi = _range(z, 0.0)
    mapper = LinearColorMapper(palette=Viridis256, low=zlo, high=zhi, nan_color="#bbbbbb")
    tools = "tap,box_select,lasso_select,pan,wheel_zoom,reset"
    hover = [("object", "@object_id"), ("z", "@redshift{0.0000}"), ("S/N", "@snr{0.0}")]
    ra0, ra1 = _range(cols["ra"], 0.05)
    dec0, dec1 = _range(cols["dec"], 0.05)
    sky = figure(
        title="Sky (east to the left)", tools=tools, width=380, height=340, name="sky",
        x_range=Range1d(ra1, ra0), y_range=Range1d(dec0, dec1),
        x_axis_label="RA [deg]", y_axis_label="Dec [deg]",
    )  # fmt: skip
    marks = {"size": 7, "line_color": None, "nonselection_fill_alpha": 0.35,
             "selection_line_color": "#d62728", "selection_line_width": 2,
             "fill_color": {"field": "redshift", "transform": mapper}}  # fmt: skip
    sky.scatter("ra", "dec", source=objects, **marks)
    sky.add_tools(HoverTool(tooltips=hover))
    sky.add_layout(ColorBar(color_mapper=mapper, title="z", width=8), "right")
    snr_ok = cols["snr"][np.isfinite(cols["snr"])]
    log = bool(len(snr_ok)) and bool((snr_ok > 0).all())
    zs = figure(
        title="Redshift and S/N", tools=tools, width=380, height=340, name="z_snr",
        x_axis_label="redshift", y_axis_label="max S/N", y_axis_type="log" if log else "linear",
    )  # fmt: skip
    zs.scatter("redshift", "snr", source=objects, **marks)
    zs.add_tools(HoverTool(tooltips=hover))
    num = NumberFormatter(format="0.0000", nan_format="")
    snr = NumberFormatter(format="0.0", nan_format="")
    deg = NumberFormatter(format="0.00000")
    columns = [
        TableColumn(field="object_id", title="object", width=190),
        TableColumn(field="field", title="field", width=60),
        TableColumn(field="ra", title="RA", formatter=deg, width=85),
        TableColumn(field="dec", title="Dec", formatter=deg, width=85),
        TableColumn(field="redshift", title="z", formatter=num, width=70),
        TableColumn(field="quality", title="q", width=30),
        TableColumn(field="snr", title="S/N", formatter=snr, width=55),
        TableColumn(field="gratings", title="gratings", width=120),
        TableColumn(field="tags", title="tags", width=120),
        TableColumn(field="my_redshift", title="my z", width=70),
        TableColumn(field="my_quality", title="my q", width=45),
        TableColumn(field="my_comment", title="my comment", width=230),
    ]
    table = DataTable(
        source=objects, columns=columns, sortable=True, selectable=True, index_position=None,
        reorderable=False, width=1180, height=280, name="table", autosize_mode="none",
    )  # fmt: skip
    # fixed widths: no autosizing pass that measures every column (SlickGrid through jQuery)
    return [sky, zs, table]


def _spectrum_pane(store: dict[str, Any], rest: dict[str, Any], z0: float) -> dict[str, Any]:
    """The spectrum figure, its sources and controls, showing object row 0 (``initial.py``);
    ``cfDraw`` in the browser fills them for every later selection.
    """
    from bokeh.models import (
        ColumnDataSource,
        LabelSet,
        NumericInput,
        RadioButtonGroup,
        Slider,
    )
    from bokeh.plotting import figure

    z = round(z0, 4) if math.isfinite(z0) else 0.0
    first, first_band, span = spectrum_sources(store, 0)
    spec = ColumnDataSource(first, name="spectrum", tags=[0] if store["obj"] else [])
    band = ColumnDataSource(first_band, name="band")
    marks = line_markers(rest, z, *span) if span else line_markers(rest, z, 1.0, 0.0)
    lines = ColumnDataSource(marks, name="lines", tags=span)
    fig = figure(
        width=900, height=360, name="spectrum_figure", tools="pan,wheel_zoom,box_zoom,reset,save",
        x_axis_label="observed wavelength [µm]", y_axis_label="fν [µJy]",
    )  # fmt: skip
    fig.patches("xs", "ys", source=band, fill_color="color", fill_alpha=0.2, line_alpha=0)
    fig.multi_line("xs", "ys", source=spec, line_color="color", line_width=1.2,
                   legend_field="name")  # fmt: skip
    fig.vspan(x="x", source=lines, line_color="color", line_dash="dashed", line_alpha=0.7)
    fig.add_layout(
        LabelSet(
            x="x",
            y="y",
            y_units="screen",
            text="label",
            source=lines,
            x_offset=3,
            text_font_size="11px",
            text_color="color",
            background_fill_color="white",
            background_fill_alpha=0.7,
        )
    )
    fig.legend.location = "top_right"
    return {
        "specfig": fig,
        "spec": spec,
        "band": band,
        "lines": lines,
        "zbox": NumericInput(
            value=z, mode="float", low=0, high=30, title="redshift", width=120, name="zbox"
        ),
        "zslider": Slider(
            start=0,
            end=15,
            step=0.0005,
            value=min(15.0, max(0.0, z)),
            title="redshift",
            width=420,
            name="zslider",
        ),
        "smooth": Slider(
            start=1, end=15, step=2, value=1, title="smoothing (bins)", width=200, name="smooth"
        ),
        "unit": RadioButtonGroup(labels=["fν [µJy]", "fλ"], active=0, name="unit"),
    }


def page_html(
    objects: list[PageObject],
    title: str,
    *,
    max_bins: int = MAX_BINS,
    fov: float = 5.0,
    footer: str = "",
) -> str:
    """The standalone page of ``objects``: one HTML file, BokehJS and all data inline.

    Parameters
    ----------
    objects
        The objects in table order, with their opened spectra and cached imaging.
    title
        The page's title (also keys its inspections in the browser's localStorage).
    max_bins
        Most bins per spectrum (see :func:`~campfire.views.htmlpage.data.bin_spectrum`).
    fov
        Field of view of the cutouts, in arcsec.
    footer
        Extra HTML under the page (provenance).

    Returns
    -------
    str
        The HTML document.

    Examples
    --------
    >>> text = page_html([], "nothing")  # doctest: +SKIP
    >>> "Bokeh" in text  # doctest: +SKIP
    True
    """
    from bokeh.document import Document
    from bokeh.embed import file_html
    from bokeh.layouts import column, row
    from bokeh.models import Button, ColumnDataSource, Div, RadioButtonGroup, TextInput
    from bokeh.resources import INLINE

    from campfire.science.units import FLAM_PER_UJY_UM2

    cols = object_columns(objects)
    shared = ColumnDataSource(cols, name="objects")
    index = spectrum_columns(objects, max_bins)
    store = ColumnDataSource(index, name="spectra_store")
    shutter_cols = shutter_columns(objects)
    shutter_store = ColumnDataSource(shutter_cols, name="shutter_store")
    imaging_cols = imaging_columns(objects)
    imaging = ColumnDataSource(imaging_cols, name="imaging")
    rest_cols = line_columns()
    rest = ColumnDataSource(rest_cols, name="line_list")
    sky, zs, table = _views(shared, cols)
    z0 = float(cols["redshift"][0]) if len(objects) else 0.0
    sp = _spectrum_pane(index, rest_cols, z0)
    frame = cutout_frame(fov)
    first = bool(objects)
    cutout = Div(
        text=cutout_html(imaging_cols, shutter_cols, 0, frame) if first else "",
        width=CUTOUT_PX, height=CUTOUT_PX + 20, name="cutout",
    )  # fmt: skip
    if first:
        shared.selected.indices = [0]
    quality = RadioButtonGroup(labels=QUALITY_LABELS, active=None, name="quality")
    comment = TextInput(title="comment", width=420, name="comment")
    save = Button(label="Save inspection", button_type="primary", name="save")
    export = Button(label="Export CSV", button_type="success", name="export")
    status = Div(text="", name="status", width=600)
    head = Div(text=object_title(cols, 0) if first else "", name="object_title", width=900)
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in title) or "campfire"
    args: dict[str, Any] = {
        "objects": shared, "store": store, "rest": rest, "imaging": imaging,
        "shutter_store": shutter_store, "spec": sp["spec"], "band": sp["band"],
        "lines": sp["lines"], "yaxis": sp["specfig"].yaxis[0],
        "zbox": sp["zbox"], "zslider": sp["zslider"], "smooth": sp["smooth"],
        "unit": sp["unit"], "cutout": cutout, "frame": frame, "quality": quality,
        "comment": comment, "status": status, "title": head,
        "flam_factor": FLAM_PER_UJY_UM2 * 1e20, "csv_name": f"{safe}-inspections.csv",
        "page_key": _page_key(list(cols["object_id"]), title),
    }  # fmt: skip
    shared.selected.js_on_change("indices", _callback(args, "cfSelect(a)"))
    sp["zslider"].js_on_change("value", _callback(args, "cfRedshift(a, 'slider')"))
    sp["zbox"].js_on_change("value", _callback(args, "cfRedshift(a, 'box')"))
    sp["smooth"].js_on_change("value", _callback(args, "cfDraw(a)"))
    sp["unit"].js_on_change("active", _callback(args, "cfDraw(a)"))
    save.js_on_event("button_click", _callback(args, "cfSave(a)"))
    export.js_on_event("button_click", _callback(args, "cfExport(a)"))

    problems = [f"{po.obj.object_id}: {p}" for po in objects for p in po.problems]
    roots = {
        "views": column(row(sky, zs), table),
        "object_title": head,
        "spectrum_pane": column(
            sp["specfig"], row(sp["zbox"], sp["zslider"], sp["smooth"], sp["unit"])
        ),
        "cutout": cutout,
        "form": column(quality, comment, row(save, export), status),
    }
    doc = Document()
    for name in ROOTS:
        roots[name].name = name
        doc.add_root(roots[name])
    doc.title = title
    doc.js_on_event("document_ready", _callback(args, "cfInit(a)"))
    variables = template_variables(
        intro_html(title, len(objects), len(index["blob"]), max_bins),
        notes_html(problems, footer),
        f"<b>Cutout {fov:g}″</b> (north up, east left)",
    )
    return str(
        file_html(
            doc, resources=INLINE, title=title, template=TEMPLATE, template_variables=variables
        )
    )
