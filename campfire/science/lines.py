"""Rest-frame emission lines (vacuum wavelengths) and where they land at a redshift.

The list is the msaexp/grizli line list (``campfire/data/linelist.ecsv``, MIT, see
``campfire/data/README.md``), the one DJA uses for NIRSpec: every single line keeps its
msaexp name (``'Ha'``, ``'Hb'``, ``'OIII-5007'``, ``'NII-6584'``, ``'PaB'`` …); the components
of doublets and multiplets the file lists only together get ``'<ion>-<Å>'`` names
(``'CIV-1548'``, ``'CIV-1551'``, ``'MgII-2796'``, ``'MgII-2804'``). Lyα is 1215.67 Å (NIST;
the file has 1215.2). Template blends (priority 0 in the file) are left out.

Each line has a ``priority`` from the file (5 = the strongest, most used lines, 1 = faint or
rarely used); a component takes the highest priority of any entry that lists it. Plots show
``priority >= 4`` unless told otherwise.

Examples
--------
>>> from campfire.science.lines import EMISSION_LINES, get_emission_lines
>>> EMISSION_LINES["Ha"], EMISSION_LINES["Lya"]
(6564.697, 1215.67)
>>> [ln["name"] for ln in get_emission_lines(2.5, 1.73, 1.755)]
['OIII-4959', 'OIII-5007']
>>> round(get_emission_lines(2.5, 1.73, 1.755)[1]["wavelength"], 5)  # observed, µm
1.75288
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from campfire.errors import ValidationError

__all__ = ["EMISSION_LINES", "LINES", "EmissionLine", "get_emission_lines", "place_labels"]

_LINELIST = Path(__file__).parents[1] / "data" / "linelist.ecsv"
#: NIST / Reader (2004) vacuum wavelength of Lyα, preferred to the line list's 1215.2 Å.
LYA_VACUUM = 1215.67
#: Components closer than this (Å) to a line already listed are the same line.
_SAME_LINE_A = 1.0

# semi-forbidden (intercombination) and forbidden lines the file labels without their
# brackets, as the line table of the data-formats spec (section 5) names them
_SEMI_FORBIDDEN = {
    "OIII-1663": "OIII]", "NIII-1750": "NIII]", "NIII-1752": "NIII]", "NIV-1483": "NIV]",
    "NIV-1486": "NIV]", "SiIV+OIV-1398": "SiIV+OIV]", "SiIV+OIV-1400": "SiIV+OIV]",
    "CII-2324": "CII]", "CII-2326": "CII]", "CII-2328": "CII]", "CII-2329": "CII]",
    "NeIV-2423": "[NeIV]", "NeIV-2425": "[NeIV]", "ArIII-3110": "[ArIII]", "NeV-3346": "[NeV]",
    "NeV-3427": "[NeV]", "ArIII-7138": "[ArIII]", "ArIII-7753": "[ArIII]",
    "FeII-12570": "[FeII]", "FeII-16440": "[FeII]",
}  # fmt: skip

_GREEK = {
    "alpha": "α",
    "beta": "β",
    "gamma": "γ",
    "delta": "δ",
    "epsilon": "ε",
}


@dataclass(frozen=True)
class EmissionLine:
    """One rest-frame line.

    Attributes
    ----------
    name
        Identifier (msaexp naming), e.g. ``'OIII-5007'``.
    label
        Plain-text label with Unicode Greek letters, e.g. ``'[OIII]'``, ``'Hα'``; forbidden
        lines in brackets, semi-forbidden ones with the closing bracket (``'CIII]'``,
        ``'OIII]'``).
    rest_wavelength
        Vacuum rest wavelength in Å.
    priority
        Importance from the line list (5 = strongest and most used).
    color
        The line list's suggested (matplotlib/CSS) colour name.
    """

    name: str
    label: str
    rest_wavelength: float
    priority: float
    color: str


def _plain_label(label: str) -> str:
    """Turn the file's mathtext labels (``H$ alpha$`` with a backslash) into Unicode."""

    def greek(m: re.Match[str]) -> str:
        return _GREEK.get(m.group(1), m.group(1))

    return re.sub(r"\$\\([a-z]+)\$", greek, label).replace("$", "")


@lru_cache(maxsize=1)
def _load() -> dict[str, EmissionLine]:
    from astropy.table import Table

    table = Table.read(_LINELIST, format="ascii.ecsv")
    rows = [
        (
            round(float(r["priority"]), 1),
            str(r["name"]),
            _plain_label(str(r["label"])),
            [float(w) for w in r["wavelength"]],
            str(r["color"] or "gray"),
        )
        for r in table
        if float(r["priority"]) > 0
    ]
    lines: dict[str, EmissionLine] = {}

    def find(wave: float) -> str | None:
        for key, ln in lines.items():
            if abs(ln.rest_wavelength - wave) < _SAME_LINE_A:
                return key
        return None

    # single lines first, under their own names
    for prio, name, label, waves, color in rows:
        if len(waves) != 1:
            continue
        wave = LYA_VACUUM if name == "Lya" else waves[0]
        same = find(wave)
        if same is not None:
            if prio > lines[same].priority:
                lines[same] = EmissionLine(same, lines[same].label, wave, prio, color)
            continue
        key = name if name not in lines else f"{name.split('-')[0]}-{round(wave)}"
        lines[key] = EmissionLine(key, label, wave, prio, color)
    # then components of multiplets, strongest entries first
    for prio, name, label, waves, color in sorted(rows, key=lambda r: -r[0]):
        if len(waves) == 1:
            continue
        stem = name.split("-")[0]
        for wave in waves:
            same = find(wave)
            if same is None:
                key = f"{stem}-{round(wave)}"
                lines[key] = EmissionLine(key, label, wave, prio, color)
            elif prio > lines[same].priority:
                old = lines[same]
                lines[same] = EmissionLine(same, old.label, old.rest_wavelength, prio, old.color)
    for key, label in _SEMI_FORBIDDEN.items():
        if key in lines:
            old = lines[key]
            lines[key] = EmissionLine(key, label, old.rest_wavelength, old.priority, old.color)
    return dict(sorted(lines.items(), key=lambda kv: kv[1].rest_wavelength))


#: Every line, by name, sorted by wavelength.
LINES: dict[str, EmissionLine] = _load()

#: Rest-frame vacuum wavelength in Å of every line, by name (``EMISSION_LINES['Ha']``).
EMISSION_LINES: dict[str, float] = {k: v.rest_wavelength for k, v in LINES.items()}


def get_emission_lines(
    redshift: float,
    wave_min: float | None = None,
    wave_max: float | None = None,
    *,
    min_priority: float = 0.0,
    names: list[str] | None = None,
) -> list[dict[str, Any]]:
    """The lines that fall between ``wave_min`` and ``wave_max`` (observed, µm) at ``redshift``.

    Parameters
    ----------
    redshift
        Source redshift (≥ -0.01).
    wave_min, wave_max
        Observed-frame window in µm; None means unbounded.
    min_priority
        Keep lines of at least this priority (5 = the strongest lines; 4 gives a tidy plot).
    names
        Restrict to these line names (keys of :data:`EMISSION_LINES`).

    Returns
    -------
    list of dict
        Sorted by wavelength, each with ``name``, ``label``, ``rest_wavelength`` (Å, vacuum),
        ``wavelength`` (observed, µm) = rest × (1 + z) / 10⁴, ``priority`` and ``color``.

    Examples
    --------
    >>> [ln["name"] for ln in get_emission_lines(0.0, 0.65, 0.66, min_priority=5)]
    ['NII-6549', 'Ha', 'NII-6584']
    """
    z = float(redshift)
    if not math.isfinite(z) or z < -0.01:
        raise ValidationError(f"redshift must be a finite number ≥ 0, got {redshift!r}")
    lo = -math.inf if wave_min is None else float(wave_min)
    hi = math.inf if wave_max is None else float(wave_max)
    if lo > hi:
        raise ValidationError(
            f"wave_min ({wave_min}) is larger than wave_max ({wave_max}); both are in µm"
        )
    if names is not None:
        unknown = [n for n in names if n not in LINES]
        if unknown:
            import difflib

            hints = {n: difflib.get_close_matches(n, LINES, n=3) for n in unknown}
            raise ValidationError(
                f"unknown line name(s) {unknown}; close matches: {hints}. "
                "See campfire.EMISSION_LINES for every name."
            )
        pool = [LINES[n] for n in names]
    else:
        pool = list(LINES.values())
    out = []
    for ln in pool:
        if ln.priority < min_priority:
            continue
        obs = ln.rest_wavelength * (1.0 + z) / 1e4
        if lo <= obs <= hi:
            row = asdict(ln)
            row["wavelength"] = obs
            out.append(row)
    out.sort(key=lambda r: r["wavelength"])
    return out


#: Lines whose labels win a tie for room on a crowded plot, strongest first.
LABEL_RANK = ("OIII-5007", "Ha", "Lya", "Hb", "OII-3727", "MgII-2796", "PaA", "PaB", "CIV-1548")


def place_labels(
    items: list[dict[str, Any]], *, max_rows: int = 3, gap: float = 3.0
) -> list[dict[str, Any]]:
    """Place line labels in rows without overlaps (the explorer's rule, for static plots too).

    Labels with the same text closer than their width merge into one (doublets such as
    [OII] 3727/3729, or [OIII] 4959/5007); the groups then take, strongest first (the line
    list's priority, then :data:`LABEL_RANK`), the first row where they overlap nothing; a
    label that fits in no row is left out (its line is still drawn).

    Parameters
    ----------
    items
        One dict per line: ``x`` (position in any unit, e.g. pixels), ``width`` (label width
        in the same unit), ``label``, and optionally ``priority`` and ``name``.
    max_rows, gap
        Rows available, and the least room between two labels in a row.

    Returns
    -------
    list of dict
        One per group: ``x`` (mean of its members), ``label``, ``row`` (0 = first, -1 when
        left out), ``visible`` and ``members``.

    Examples
    --------
    >>> items = [{"x": 100, "width": 40, "label": "[OIII]", "priority": 5, "name": "OIII-4959"},
    ...          {"x": 104, "width": 40, "label": "[OIII]", "priority": 5, "name": "OIII-5007"},
    ...          {"x": 90, "width": 20, "label": "Hβ", "priority": 5, "name": "Hb"}]
    >>> [(g["label"], g["row"]) for g in place_labels(items)]
    [('Hβ', 1), ('[OIII]', 0)]
    """
    groups: list[dict[str, Any]] = []
    latest: dict[str, dict[str, Any]] = {}
    for it in sorted(items, key=lambda i: float(i["x"])):
        g = latest.get(it["label"])
        if g is not None and float(it["x"]) - float(g["members"][-1]["x"]) < float(it["width"]):
            g["members"].append(it)
            g["x"] = sum(float(m["x"]) for m in g["members"]) / len(g["members"])
            g["priority"] = max(g["priority"], float(it.get("priority", 0)))
            g["width"] = max(g["width"], float(it["width"]))
        else:
            g = {
                "x": float(it["x"]), "width": float(it["width"]), "label": it["label"],
                "priority": float(it.get("priority", 0)), "members": [it], "row": -1,
                "visible": False,
            }  # fmt: skip
            groups.append(g)
            latest[it["label"]] = g

    def rank(g: dict[str, Any]) -> tuple[float, int, float]:
        names = [m.get("name") for m in g["members"]]
        best = min((LABEL_RANK.index(n) for n in names if n in LABEL_RANK), default=99)
        return (-g["priority"], best, g["x"])

    rows: list[list[tuple[float, float]]] = [[] for _ in range(max_rows)]
    for g in sorted(groups, key=rank):
        left, right = g["x"] - g["width"] / 2, g["x"] + g["width"] / 2
        for r in range(max_rows):
            if all(right + gap <= lo or left >= hi + gap for lo, hi in rows[r]):
                rows[r].append((left, right))
                g["row"], g["visible"] = r, True
                break
    return groups
