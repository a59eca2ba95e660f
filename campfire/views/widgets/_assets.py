"""Where the widgets' ES modules and CSS live, in a wheel and in a checkout.

The source of truth is the checkout's top-level ``widgets/`` folder; the wheel carries a copy as
``campfire/views/widgets/static/`` (hatch ``force-include``). Editable installs do not get that
copy, so :func:`asset` falls back to ``<checkout>/widgets/``, which also lets
``ANYWIDGET_HMR=1 jupyter lab`` live-reload the JavaScript.

Examples
--------
>>> from campfire.views.widgets._assets import asset
>>> asset("spectrum_viewer.js").name
'spectrum_viewer.js'

A widget written as several ES modules (the SpectrumViewer: ``palette.js``, ``sv_data.js`` …)
is joined into one by :func:`esm`, in the order :data:`BUNDLES` lists, with the relative
``import``/``export … from`` lines between them taken out: anywidget loads one module, and
``node --test`` imports the parts themselves. A bundled widget's ``_esm`` is therefore text,
not a path (``ANYWIDGET_HMR`` does not live-reload it; re-run the cell after an edit).
"""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["BUNDLES", "asset", "asset_dirs", "esm"]

#: Widgets written as several modules: the parts, dependencies first, the widget last.
BUNDLES: dict[str, tuple[str, ...]] = {
    "spectrum_viewer.js": (
        "palette.js",
        "files.js",
        "sv_data.js",
        "sv_view.js",
        "sv_draw.js",
        "sv_controls.js",
        "spectrum_viewer.js",
    ),
    "object_browser.js": ("files.js", "ob_data.js", "object_browser.js"),
}
# `import {a, b} from "./x.js";` (over several lines too) and `export * from "./x.js";`
_LOCAL_IMPORT = re.compile(
    r'^(?:import\s*\{[^}]*\}\s*from|export\s*\*\s*from)\s*"\./[^"]+";[ \t]*\n?', re.M
)

_HERE = Path(__file__).resolve().parent


def asset_dirs() -> list[Path]:
    """The folders searched for widget assets, in order: the wheel's, then the checkout's."""
    return [_HERE / "static", _HERE.parents[2] / "widgets"]


def asset(name: str) -> Path:
    """The path of a widget asset (``'spectrum_viewer.js'``, ``'cutout_panel.css'`` …).

    Raises
    ------
    FileNotFoundError
        When neither the wheel's ``static/`` nor the checkout's ``widgets/`` holds it, with
        the folders looked in.
    """
    for folder in asset_dirs():
        path = folder / name
        if path.is_file():
            return path
    looked = ", ".join(str(d) for d in asset_dirs())
    raise FileNotFoundError(
        f"widget asset {name!r} not found (looked in {looked}); reinstall campfire "
        "(pip install 'campfire[jupyter]') or run from a checkout that has widgets/"
    )


def esm(name: str) -> Path | str:
    """A widget's ES module: the file's path, or for a widget in :data:`BUNDLES` its parts
    joined into one module's text.

    Examples
    --------
    >>> text = esm("spectrum_viewer.js")
    >>> 'from "./' in text, text.count("export default")
    (False, 1)
    """
    parts = BUNDLES.get(name)
    if parts is None:
        return asset(name)
    chunks = []
    for part in parts:
        text = asset(part).read_text(encoding="utf-8")
        chunks.append(f"// ---- {part}\n" + _LOCAL_IMPORT.sub("", text))
    return "\n".join(chunks)
