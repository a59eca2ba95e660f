"""The demo archive's scales: programs, observations and sky densities.

``tiny`` (tests), ``small`` (the demo) and ``large`` (benchmarks; its spectrum files come from a
pool, see :mod:`campfire.server.demo.pool`). Observations are written as small text tables:
name, field, offset east and north of the field centre (arcsec), position angle of the slit
(deg E of N), targets, JWST observation number, then ``GRATING/FILTER:exposure [s]:fraction``
per disperser (the highest-priority fraction of the targets gets it).

Examples
--------
>>> [o.name for o in SCALES["tiny"].observations]
['ember_uds_p4', 'capers_cosmos_p1', 'rubies_uds_p1']
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from campfire.server.demo.observations import ObservationDef

__all__ = ["HERO", "LARGE", "POOL", "SCALES", "ProgramDef", "Scale"]


@dataclass(frozen=True)
class ProgramDef:
    """A program: ``program.json`` plus the base of its catalog source ids."""

    slug: str
    name: str
    pi: str
    public: bool
    jwst_id: int
    source_base: int


@dataclass(frozen=True)
class Scale:
    """A demo scale: its programs, observations and sky densities."""

    name: str
    programs: tuple[ProgramDef, ...]
    observations: tuple[ObservationDef, ...]
    background_per_arcmin2: float = 40.0
    candidates_per_target: float = 3.0
    cutout_size: int = 256
    max_cutouts: int | None = None
    pooled: bool = False  # spectrum files are hard links into a simulated pool


#: the object the reference docs use: ember_uds_p4_123456, a z=3.421 little red dot
HERO: dict[str, Any] = {
    "observation": "ember_uds_p4", "source_id": 123456, "catalog_id": 23456,
    "params": {"z": 3.421, "kind": 3.0, "mag": 24.3, "beta": -2.1, "av": 0.1, "agn_frac": 4.0,
               "agn_av": 2.5, "broad_fwhm": 2800.0, "broad_ratio": 5.0, "ew_ha": 100.0,
               "o3hb": 3.0, "balmer": 1.1, "lya_fesc": 0.02},
    "re_arcsec": 0.03, "photo_z": 3.51,
}  # fmt: skip

_EMBER = ProgramDef("EMBER-UDS", "EMBER: UDS deep field", "A. Astronomer", True, 6585, 100000)
_CAPERS = ProgramDef("CAPERS", "CAPERS: CANDELS-area prism epoch of reionization survey",
                     "B. Builder", True, 6368, 20000)  # fmt: skip
_RUBIES = ProgramDef("RUBIES", "RUBIES: red unknowns, bright infrared extragalactic survey",
                     "C. Curator", False, 4233, 40000)  # fmt: skip
_JADES = ProgramDef("JADES", "JADES: JWST advanced deep extragalactic survey", "D. Deepfield",
                    True, 1210, 200000)  # fmt: skip
_UNCOVER = ProgramDef("UNCOVER", "UNCOVER: the lensed cluster Abell 2744", "E. Lensing", True,
                      2561, 300000)  # fmt: skip
_POOLDEF = ProgramDef("POOL", "spectrum pool of the large scale", "-", True, 9999, 900000)
_PROGRAMS = {p.slug.split("-")[0].lower(): p for p in (_EMBER, _CAPERS, _RUBIES, _JADES,
                                                       _UNCOVER, _POOLDEF)}  # fmt: skip


def _plan(table: str) -> tuple[ObservationDef, ...]:
    """Observations from a text table (see the module docstring)."""
    out = []
    for line in table.strip().splitlines():
        name, field, east, north, pa, n, num, *disps = line.split()
        program = _PROGRAMS[name.split("_")[0]]
        dispersers = []
        for d in disps:
            config, exptime, fraction = d.split(":")
            grating, filt = config.split("/")
            dispersers.append((grating, filt, float(exptime), float(fraction)))
        offset = (float(east), float(north))
        out.append(ObservationDef(name, program.slug, field, offset, float(pa), int(n),
                                  tuple(dispersers), program.jwst_id, int(num)))  # fmt: skip
    return tuple(out)


# fmt: off
_TINY = Scale("tiny", (_EMBER, _RUBIES, _CAPERS), _plan("""
ember_uds_p4 uds 0 0 71.3 18 4 PRISM/CLEAR:6900:1 G140M/F100LP:3100:0.12 G395M/F290LP:3100:0.25
capers_cosmos_p1 cosmos   0    0 102.5 18 1 PRISM/CLEAR:5200:1
rubies_uds_p1    uds     40   25 251.0 16 1 PRISM/CLEAR:2900:1 G395M/F290LP:2900:0.3
"""), background_per_arcmin2=25.0, cutout_size=160)

_SMALL = Scale("small", (_EMBER, _CAPERS, _RUBIES), _plan("""
ember_uds_p4 uds 0 0 71.3 80 4 PRISM/CLEAR:6900:1 G140M/F100LP:3100:0.5 G395M/F290LP:3100:0.6
ember_uds_p1     uds   -150   60  71.3 80 1 PRISM/CLEAR:4400:1 G235M/F170LP:2200:0.6
capers_uds_p2    uds    120  -90 250.0 85 2 PRISM/CLEAR:5200:1
capers_cosmos_p1 cosmos   0    0 102.5 80 1 PRISM/CLEAR:5200:1 G395M/F290LP:5200:0.3
capers_cosmos_p2 cosmos 100   80 102.5 85 2 PRISM/CLEAR:5200:1
capers_egs_p3    egs      0    0 130.0 90 3 PRISM/CLEAR:5200:1 G395M/F290LP:5200:0.3
rubies_uds_p1    uds     60   40 251.0 75 1 PRISM/CLEAR:2900:1 G395M/F290LP:2900:1
rubies_egs_p2    egs     80  -60 310.0 75 2 PRISM/CLEAR:2900:1 G395M/F290LP:2900:1
"""), background_per_arcmin2=120.0)

_POOL_CONFIGS = "PRISM/CLEAR:4400:1 G140M/F100LP:3100:1 G395M/F290LP:3100:1"
#: the simulated spectra the large scale's files are hard links to
POOL = Scale("pool", (_POOLDEF,), _plan(f"""
pool_uds_p1    uds    0 0  71.3 100 1 {_POOL_CONFIGS}
pool_cosmos_p1 cosmos 0 0 102.5 100 2 {_POOL_CONFIGS}
"""), background_per_arcmin2=30.0, cutout_size=160)
# fmt: on

_LARGE_FIELDS = {"uds": ("ember", "capers", "rubies"), "cosmos": ("capers",),
                 "egs": ("capers", "rubies"), "gds": ("jades",), "gdn": ("jades",),
                 "abell2744": ("uncover",)}  # fmt: skip
_LARGE_PER_FIELD, _LARGE_TARGETS, _LARGE_SPACING = 100, 260, 215.0


def _large_plan() -> tuple[ObservationDef, ...]:
    """A grid of pointings per field, dealt round-robin to the field's programs."""
    rows = []
    side = int(np.ceil(np.sqrt(_LARGE_PER_FIELD)))
    for fld, progs in _LARGE_FIELDS.items():
        count = dict.fromkeys(progs, 0)
        for k in range(_LARGE_PER_FIELD):
            prog = progs[k % len(progs)]
            count[prog] += 1
            east = (k % side - (side - 1) / 2) * _LARGE_SPACING
            north = (k // side - (side - 1) / 2) * _LARGE_SPACING
            rows.append(f"{prog}_{fld}_p{count[prog]} {fld} {east} {north} {(37 * k) % 360} "
                        f"{_LARGE_TARGETS} {count[prog]} {_POOL_CONFIGS}")  # fmt: skip
    return _plan("\n".join(rows))


#: the benchmark scale: ≥100,000 objects, ≥300,000 spectra (pooled files)
LARGE = Scale("large", (_EMBER, _CAPERS, _RUBIES, _JADES, _UNCOVER), _large_plan(),
              background_per_arcmin2=0.0, candidates_per_target=2.2, cutout_size=160,
              max_cutouts=200, pooled=True)  # fmt: skip

#: the scale definitions
SCALES: dict[str, Scale] = {"tiny": _TINY, "small": _SMALL, "large": LARGE}
