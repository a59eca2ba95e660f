"""Jupyter widgets for exploring the CAMPFIRE archive (needs ``campfire[jupyter]``).

* :class:`ObjectBrowser`: the synced catalog as a paged, sortable, filterable table.
* :class:`SpectrumViewer`: an object's spectra overlaid, with lines at a draggable redshift.
* :class:`CutoutPanel`: the RGB cutout with the MSA shutters drawn on top.
* :class:`Explorer`: the three linked, fetching spectra on demand.

Each widget is an `anywidget <https://anywidget.dev>`_ class whose ES module sits in the
top-level ``widgets/`` folder (see :mod:`campfire.views.widgets._assets`). Names load on first use,
so ``import campfire.widgets`` does not import anywidget.

Examples
--------
>>> from campfire import Campfire  # doctest: +SKIP
>>> from campfire.widgets import Explorer  # doctest: +SKIP
>>> Explorer(Campfire())  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY: dict[str, str] = {
    "CutoutPanel": "campfire.views.widgets.cutout_panel",
    "Explorer": "campfire.views.widgets.explorer",
    "ObjectBrowser": "campfire.views.widgets.object_browser",
    "SpectrumViewer": "campfire.views.widgets.spectrum_viewer",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'campfire.widgets' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
