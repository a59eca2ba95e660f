"""A displayed widget leaves two outputs: its live view, and a static picture beside it.

The picture is what GitHub, nbviewer and nbconvert HTML show when no widget manager runs (or,
with widget state saved, when it cannot load offline); ``tests/test_notebooks.py`` checks the
nbconvert HTML of an executed notebook, this module the outputs themselves.
"""

from __future__ import annotations

import base64
import io
import re

import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
from PIL import Image

from campfire.views.widgets._base import LIVE_CLASS, PICTURE_CLASS, picture_bundle, table_png
from campfire.widgets import ObjectBrowser

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


@pytest.fixture
def shell():
    sh = InteractiveShell.instance()
    yield sh
    InteractiveShell.clear_instance()


def test_display_gives_the_live_view_then_a_picture_of_the_same_rows(shell, cf200):
    cf, rows = cf200
    browser = ObjectBrowser(cf, page_size=4)
    assert LIVE_CLASS in browser._dom_classes  # what the picture's stylesheet looks for
    with capture_output() as cap:
        shell.display_formatter.format(browser)  # as a cell ending in `browser` does
    live, picture = (o.data for o in cap.outputs)
    assert WIDGET_VIEW in live and set(live) == {WIDGET_VIEW, "text/plain"}
    html = picture["text/html"]
    assert f"class='{PICTURE_CLASS}'" in html and f".{PICTURE_CLASS}" in html  # hidden if live
    png = base64.b64decode(picture["image/png"]) if isinstance(picture["image/png"], str) \
        else picture["image/png"]  # fmt: skip
    img = Image.open(io.BytesIO(png))
    assert img.format == "PNG" and img.width > img.height > 40  # a 5-row table
    assert re.search(r"<img [^>]*src=\"data:image/png;base64,", html)
    first = sorted(rows, key=lambda r: r["object_id"])[0]["object_id"]
    assert first in html  # the table as text, folded under the picture


def test_a_table_becomes_a_picture_and_a_picture_is_kept():
    table = "<table><tr><th>z</th><th>id</th></tr><tr><td>3.4</td><td>a</td></tr></table>"
    png = table_png(table)
    assert png is not None and png.startswith(b"\x89PNG")
    assert table_png("<p>no table</p>") is None
    pic = picture_bundle({"text/html": table}, "t")
    assert pic is not None and pic["image/png"] == png and "<details>" in pic["text/html"]
    kept = picture_bundle({"text/html": "<img src='x'/>", "image/png": b"\x89PNGx"}, "t")
    assert kept is not None and kept["image/png"] == b"\x89PNGx"
    assert "<details>" not in kept["text/html"]
    assert picture_bundle({}, "t") is None
