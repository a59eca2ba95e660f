"""Where the widgets' ES modules and CSS live, in a wheel and in a checkout.

The source of truth is the checkout's top-level ``widgets/`` folder; the wheel carries a copy as
``campfire/views/widgets/static/`` (hatch ``force-include``). Editable installs do not get that copy,
so :func:`asset` falls back to ``<checkout>/widgets/``, which also lets
``ANYWIDGET_HMR=1 jupyter lab`` live-reload the JavaScript.

Examples
--------
>>> from campfire.views.widgets._assets import asset
>>> asset("spectrum_viewer.js").name
'spectrum_viewer.js'
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["asset", "asset_dirs"]

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
