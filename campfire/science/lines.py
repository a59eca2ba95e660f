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

__all__ = ["EMISSION_LINES", "LINES", "EmissionLine", "get_emission_lines"]

_LINELIST = Path(__file__).parents[1] / "data" / "linelist.ecsv"
#: NIST / Reader (2004) vacuum wavelength of Lyα, preferred to the line list's 1215.2 Å.
LYA_VACUUM = 1215.67
#: Components closer than this (Å) to a line already listed are the same line.
_SAME_LINE_A = 1.0

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
        Plain-text label with Unicode Greek letters, e.g. ``'[OIII]'``, ``'Hα'``.
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
