"""The HTML around a page's Bokeh roots: the introduction, the notes, where each root goes.

The page is one Bokeh document with several roots (the linked views, the object's title, the
spectrum pane, the cutout, the inspection form), placed by this template rather than by one
Bokeh layout. Bokeh lays out a root as a whole whenever any text in it changes (a
:class:`~bokeh.models.Div`'s new text measures and repaints every plot of its root), so the
texts a selection changes live in roots of their own; static text is plain HTML here.

Examples
--------
>>> "roots.views" in TEMPLATE and "roots.form" in TEMPLATE
True
"""

from __future__ import annotations

import html
from typing import Any

__all__ = ["ROOTS", "TEMPLATE", "intro_html", "notes_html", "template_variables"]

#: The names of the document's roots, in page order (the template places each by name).
ROOTS = ("views", "object_title", "spectrum_pane", "cutout", "form")

#: A Jinja template extending Bokeh's own file template (``file_html(template=...)``).
TEMPLATE = """
{% block contents %}
{% from macros import embed %}
<div style="width: 1190px; padding: 4px 8px; font-family: sans-serif; font-size: 14px">
{{ intro }}
{{ embed(roots.views) }}
{{ embed(roots.object_title) }}
<div style="display: flex; gap: 10px; align-items: flex-start">
<div>{{ embed(roots.spectrum_pane) }}</div>
<div style="display: flex; flex-direction: column; gap: 4px">
<div>{{ cutout_head }}</div>
{{ embed(roots.cutout) }}
<div><b>Inspection</b></div>
{{ embed(roots.form) }}
</div>
</div>
{{ notes }}
</div>
{% endblock %}
"""


def intro_html(title: str, n_objects: int, n_spectra: int, max_bins: int) -> str:
    """The page's heading and how to read it.

    Examples
    --------
    >>> "3 objects, 4 spectra" in intro_html("t", 3, 4, 400)
    True
    """
    return (
        f"<h2 style='margin:0'>{html.escape(title)}</h2><p>{n_objects} objects, "
        f"{n_spectra} spectra. Select objects in the sky plot, the redshift–S/N plot or the "
        "table (they are linked); the first selected object is shown below. Spectra are "
        f"binned to at most {max_bins} points each (inverse-variance weighted means, errors "
        "propagated) and stored as float32: zoom in for the shape, not single pixels. "
        "Inspections are kept in this browser; <b>Export CSV</b> writes them in the format "
        "<code>campfire inspect --import</code> reads.</p>"
    )


def notes_html(problems: list[str], footer: str) -> str:
    """What could not be shown (the first 200 items), then ``footer``.

    Examples
    --------
    >>> notes_html(["J1: no spectra"], "")[:40]
    '<details><summary>1 item(s) not shown</s'
    """
    listed = "".join(f"<li>{html.escape(p)}</li>" for p in problems[:200])
    shown = (
        f"<details><summary>{len(problems)} item(s) not shown</summary><ul>{listed}</ul></details>"
        if problems
        else ""
    )
    return shown + footer


def template_variables(intro: str, notes: str, cutout_head: str) -> dict[str, Any]:
    """The variables :data:`TEMPLATE` fills in (all HTML)."""
    return {"intro": intro, "notes": notes, "cutout_head": cutout_head}
