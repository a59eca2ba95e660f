"""The cutout's shutter styles, apart from :mod:`campfire.views.imaging` so the live cutout
panel gets them without importing numpy (a kernel's first cell).

Examples
--------
>>> merge_styles({"target": {"edgecolor": "lime"}})["target"]["edgecolor"]
'lime'
"""

from __future__ import annotations

from typing import Any

from campfire.errors import ValidationError

__all__ = ["CATEGORIES", "DEFAULT_SHUTTER_STYLE", "MARKERS", "check_mode", "merge_styles"]

CATEGORIES = ("target", "other", "stuck_closed")
MARKERS = ("box", "corners")

DEFAULT_SHUTTER_STYLE: dict[str, dict[str, Any]] = {
    "target": {"marker": "box", "edgecolor": "#ff3b30", "linewidth": 1.4, "alpha": 1.0},
    "other": {"marker": "box", "edgecolor": "white", "linewidth": 0.8, "alpha": 0.85},
    "stuck_closed": {
        "marker": "box",
        "edgecolor": "#a0a0a0",
        "linewidth": 0.8,
        "linestyle": "--",
        "alpha": 0.85,
    },
}


def merge_styles(shutter_style: dict[str, dict[str, Any]] | None) -> dict[str, dict[str, Any]]:
    """The default styles with ``shutter_style``'s per-category overrides (checked)."""
    styles = {k: dict(v) for k, v in DEFAULT_SHUTTER_STYLE.items()}
    for cat, over in (shutter_style or {}).items():
        if cat not in styles:
            raise ValidationError(
                f"unknown shutter category {cat!r} in shutter_style; use {list(CATEGORIES)}"
            )
        if not isinstance(over, dict):
            raise ValidationError(f"shutter_style[{cat!r}] must be a dict of style keys")
        styles[cat].update(over)
    for cat, st in styles.items():
        if st.get("marker", "box") not in MARKERS:
            raise ValidationError(
                f"shutter_style[{cat!r}]['marker'] must be 'box' or 'corners', "
                f"got {st.get('marker')!r}"
            )
    return styles


def check_mode(mode: Any) -> str:
    """``shutters_mode`` as ``'all'``, ``'target'`` or ``'none'`` (True, False, None allowed)."""
    if mode is True or mode == "all":
        return "all"
    if mode is False or mode is None or mode == "none":
        return "none"
    if mode == "target":
        return "target"
    raise ValidationError(f"shutters_mode must be True/'all', 'target' or False, got {mode!r}")
