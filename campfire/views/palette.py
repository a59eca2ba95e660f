"""The colours the live widgets and the static pictures share.

The grating palette is colour-blind safe (Okabe-Ito hues: grey for PRISM, blue G140, bluish
green G235, vermillion G395) and every colour keeps a contrast of at least 3:1 against both
JupyterLab's light (``#ffffff``) and dark (``#111111``) backgrounds. The browser's copy is
``widgets/palette.js``; ``tests/views/test_palette.py`` keeps the two identical.

Examples
--------
>>> [s["color"] for s in grating_styles(["PRISM", "G395M", "PRISM"])]
['#7a7a7a', '#d55e00', '#8d6e63']
>>> grating_styles(["PRISM", "PRISM"])[1]["dash"]
[6, 3]
"""

from __future__ import annotations

import colorsys
from functools import lru_cache
from typing import Any

__all__ = [
    "DARK_BACKGROUND",
    "DASHES",
    "GRATING_PALETTE",
    "contrast",
    "grating_family",
    "grating_styles",
    "legible",
    "luminance",
]

#: The shades of each grating family, in the order a family's spectra take them.
GRATING_PALETTE: dict[str, list[str]] = {
    "PRISM": ["#7a7a7a", "#8d6e63"],
    "G140": ["#0072b2", "#3a8fd9"],
    "G235": ["#009e73", "#00897b"],
    "G395": ["#d55e00", "#b07800"],
    "OTHER": ["#cc79a7", "#8a6fd0", "#a68200", "#5c6bc0"],
}
#: Line dashes by how many spectra of the very same grating came before ([] = solid).
DASHES: list[list[int]] = [[], [6, 3], [2, 2], [8, 2, 2, 2]]
#: JupyterLab dark theme's background (``--jp-layout-color0``).
DARK_BACKGROUND = "#111111"
# the CSS names the line list uses, so that the first plot need not import matplotlib for them
_NAMED = {
    "cornflowerblue": "#6495ed", "darkblue": "#00008b", "darkgoldenrod": "#b8860b",
    "darkgray": "#a9a9a9", "darkgreen": "#006400", "darkkhaki": "#bdb76b", "darkred": "#8b0000",
    "deeppink": "#ff1493", "firebrick": "#b22222", "forestgreen": "#228b22",
    "goldenrod": "#daa520", "gray": "#808080", "khaki": "#f0e68c", "lightsteelblue": "#b0c4de",
    "mediumvioletred": "#c71585", "olivedrab": "#6b8e23", "orange": "#ffa500",
    "orchid": "#da70d6", "peru": "#cd853f", "purple": "#800080", "royalblue": "#4169e1",
    "seagreen": "#2e8b57", "silver": "#c0c0c0", "skyblue": "#87ceeb", "slategray": "#708090",
    "steelblue": "#4682b4", "teal": "#008080", "white": "#ffffff", "black": "#000000",
}  # fmt: skip


def grating_family(grating: str | None) -> str:
    """The palette key of a grating name (``'G395M'`` → ``'G395'``; unknown → ``'OTHER'``)."""
    name = (grating or "").upper()
    for key in GRATING_PALETTE:
        if key != "OTHER" and name.startswith(key):
            return key
    return "OTHER"


def grating_styles(gratings: list[str]) -> list[dict[str, Any]]:
    """A colour and dash for each spectrum, as the browser gives them.

    The spectra of a family take its shades in turn; a second spectrum of the very same
    grating is also dashed.

    Examples
    --------
    >>> [s["color"] for s in grating_styles(["G395M", "G395H"])]
    ['#d55e00', '#b07800']
    """
    per_grating: dict[str, int] = {}
    per_family: dict[str, int] = {}
    out = []
    for g in gratings:
        fam = grating_family(g)
        key = (g or "").upper()
        nth, shade = per_grating.get(key, 0), per_family.get(fam, 0)
        per_grating[key], per_family[fam] = nth + 1, shade + 1
        shades = GRATING_PALETTE[fam]
        out.append({"color": shades[shade % len(shades)], "dash": DASHES[min(nth, 3)], "nth": nth})
    return out


def _rgb(hex_color: str) -> tuple[float, float, float]:
    h = hex_color.lstrip("#")
    return int(h[0:2], 16) / 255, int(h[2:4], 16) / 255, int(h[4:6], 16) / 255


def luminance(hex_color: str) -> float:
    """WCAG relative luminance of a ``#rrggbb`` colour.

    Examples
    --------
    >>> luminance("#ffffff"), luminance("#000000")
    (1.0, 0.0)
    """

    def lin(x: float) -> float:
        return x / 12.92 if x <= 0.03928 else ((x + 0.055) / 1.055) ** 2.4

    r, g, b = (lin(c) for c in _rgb(hex_color))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two ``#rrggbb`` colours (1-21).

    Examples
    --------
    >>> round(contrast("#ffffff", "#000000"))
    21
    """
    lo, hi = sorted((luminance(a), luminance(b)))
    return (hi + 0.05) / (lo + 0.05)


@lru_cache(maxsize=512)
def legible(color: str, minimum: float = 3.0) -> str:
    """The colour, its lightness moved just enough to reach ``minimum`` contrast against both
    white and the dark theme's background (hue and saturation kept), as ``#rrggbb``.

    Examples
    --------
    >>> legible("silver") != "#c0c0c0" and contrast(legible("silver"), "#ffffff") >= 3
    True
    """
    named = _NAMED.get(str(color).lower())
    if named is not None or (str(color).startswith("#") and len(str(color)) == 7):
        start = (named or str(color)).lower()
    else:
        from matplotlib.colors import to_hex

        start = str(to_hex(color, keep_alpha=False))

    def ok(c: str) -> bool:
        return contrast(c, "#ffffff") >= minimum and contrast(c, DARK_BACKGROUND) >= minimum

    if ok(start):
        return start
    hue, light, sat = colorsys.rgb_to_hls(*_rgb(start))
    best = start
    for step in range(1, 101):  # nearest lightness first, either way
        for sign in (-1, 1):
            level = light + sign * step / 200
            if 0 <= level <= 1:
                r, g, b = colorsys.hls_to_rgb(hue, level, sat)
                cand = "#{:02x}{:02x}{:02x}".format(*(round(v * 255) for v in (r, g, b)))
                if ok(cand):
                    return cand
    return best
