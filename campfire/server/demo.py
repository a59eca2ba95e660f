"""The synthetic demo archive: deterministic, physically plausible pipeline products.

:func:`generate_products` writes one products directory per program (the layout of
``docs/products-format.md``, the same files ``campfire deploy`` ingests) for a *scale*:

* ``tiny`` — 3 observations, 3 programs (one private), 2 fields, ~50 objects; for tests.
* ``small`` — 8 observations, 3 programs, 3 fields, ~500 objects, ~1000 spectra; the demo.
* ``large`` — ≥100,000 objects and ≥300,000 spectra for benchmarks; spectrum files are a pool of
  real simulated files hard-linked under every spectrum's own name.

The same seed gives byte-identical files. :data:`DEMO_USERS` are the accounts the demo server
creates. See ``docs/demo-archive.md`` for the programs, fields and how realism is modelled.

Examples
--------
>>> from pathlib import Path
>>> dirs = generate_products(Path("demo-products"), scale="tiny", seed=42)  # doctest: +SKIP
>>> sorted(d.name for d in dirs)  # doctest: +SKIP
['capers', 'ember-uds', 'rubies']
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from campfire.errors import ValidationError
from campfire.server.synth_observations import (
    ObservationDef,
    TargetRecord,
    build_observation,
)

__all__ = ["DEMO_USERS", "HERO", "SCALES", "ProgramDef", "Scale", "generate_products"]

Progress = Callable[[str, int, int], None]


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
    pool_targets: int = 0  # >0: spectrum files come from a pool of this many targets


#: demo accounts; ``programs`` are grants beyond the public programs ("*" = every program)
DEMO_USERS: list[dict] = [
    {
        "email": "alice@campfire.demo",
        "password": "alice-campfire-demo",
        "full_name": "Alice Admin",
        "programs": "*",
        "admin": True,
    },
    {
        "email": "bob@campfire.demo",
        "password": "bob-campfire-demo",
        "full_name": "Bob Public",
        "programs": [],
        "admin": False,
    },
    {
        "email": "carol@campfire.demo",
        "password": "carol-campfire-demo",
        "full_name": "Carol Rubies",
        "programs": ["RUBIES"],
        "admin": False,
    },
]

#: the object the reference docs use: ember_uds_p4_123456, a z=3.421 little red dot
HERO = {
    "observation": "ember_uds_p4",
    "source_id": 123456,
    "catalog_id": 23456,
    "params": {
        "z": 3.421,
        "kind": 3.0,
        "mag": 24.3,
        "beta": -2.1,
        "av": 0.1,
        "agn_frac": 4.0,
        "agn_av": 2.5,
        "broad_fwhm": 2800.0,
        "broad_ratio": 5.0,
        "ew_ha": 100.0,
        "o3hb": 3.0,
        "balmer": 1.1,
        "lya_fesc": 0.02,
    },
    "re_arcsec": 0.03,
    "photo_z": 3.51,
}

_EMBER = ProgramDef("EMBER-UDS", "EMBER: UDS deep field", "A. Astronomer", True, 6585, 100000)
_CAPERS = ProgramDef(
    "CAPERS",
    "CAPERS: CANDELS-area prism epoch of reionization survey",
    "B. Builder",
    True,
    6368,
    20000,
)
_RUBIES = ProgramDef(
    "RUBIES",
    "RUBIES: red unknowns, bright infrared extragalactic survey",
    "C. Curator",
    False,
    4233,
    40000,
)
_PROGRAMS = {"ember": _EMBER, "capers": _CAPERS, "rubies": _RUBIES}


def _plan(table: str) -> tuple[ObservationDef, ...]:
    """Observations from a text table.

    Columns: name, field, offset east and north of the field centre (arcsec), position angle
    (deg), targets, JWST observation number, then ``GRATING/FILTER:exposure [s]:fraction`` per
    disperser (the highest-priority fraction of the targets gets it).
    """
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
"""), background_per_arcmin2=60.0)
# fmt: on

#: the scale definitions (``large`` is built by :mod:`campfire.server.synth_pool`)
SCALES: dict[str, Scale] = {"tiny": _TINY, "small": _SMALL}


def _scale(name: str) -> Scale:
    if name not in SCALES:
        raise ValidationError(f"unknown demo scale {name!r}; choose one of {', '.join(SCALES)}")
    return SCALES[name]


def _prepare(out_dir: Path) -> None:
    """Make ``out_dir`` ours: empty, or made by an earlier run (whose products are replaced)."""
    manifest = out_dir / "demo-manifest.json"
    if out_dir.exists() and any(out_dir.iterdir()) and not manifest.exists():
        raise ValidationError(
            f"{out_dir} is not empty and was not made by the demo generator; "
            "pass an empty or new folder (nothing was written)"
        )
    if manifest.exists():
        old = json.loads(manifest.read_text())
        for name in [*old.get("products", []), "_pool"]:
            shutil.rmtree(out_dir / name, ignore_errors=True)
    out_dir.mkdir(parents=True, exist_ok=True)


def generate_products(
    out_dir: Path, scale: str = "tiny", seed: int = 42, progress: Progress | None = None
) -> list[Path]:
    """Write one products directory per program under ``out_dir``; return their paths.

    Parameters
    ----------
    out_dir
        A new or empty folder, or one an earlier call wrote (its products are replaced).
    scale
        ``"tiny"``, ``"small"`` or ``"large"`` (see :data:`SCALES`).
    seed
        The same seed gives byte-identical files.
    progress
        Called as ``progress(stage, done, total)`` while spectra are made.

    Raises
    ------
    ValidationError
        For an unknown scale, or an ``out_dir`` holding something else.
    """
    from campfire.server import synth_catalog

    out_dir = Path(out_dir)
    if scale == "large":
        from campfire.server.synth_pool import LARGE

        spec = LARGE
    else:
        spec = _scale(scale)
    _prepare(out_dir)
    skies = synth_catalog.build_skies(spec, seed)
    plans = synth_catalog.plan_observations(spec, skies, seed)
    reduced = synth_catalog.reduction_times(spec, seed)
    records: dict[str, list[TargetRecord]] = {}
    products = {p.slug: out_dir / p.slug.lower() for p in spec.programs}
    if spec.pool_targets:
        from campfire.server.synth_pool import build_pooled_observations

        records = build_pooled_observations(
            out_dir, spec, skies, plans, seed, products, reduced, progress
        )
    else:
        for obs in spec.observations:
            plan, sids = plans[obs.name]
            records[obs.name] = build_observation(
                products[obs.program],
                obs,
                skies[obs.field],
                plan,
                sids,
                seed,
                reduced[obs.name],
                progress,
            )
    synth_catalog.write_inspections(spec, skies, records, products, reduced, seed)
    cache: dict = {}
    for program in spec.programs:
        folder = products[program.slug]
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "program.json").write_text(
            json.dumps(
                {
                    "slug": program.slug,
                    "program_name": program.name,
                    "pi_name": program.pi,
                    "is_public": program.public,
                },
                indent=1,
            )
            + "\n"
        )
        synth_catalog.write_photometry(spec, skies, program, folder, seed, progress, cache)
        synth_catalog.write_cutouts(spec, skies, records, program, folder, seed, progress)
    synth_catalog.write_truth(out_dir / "demo-truth.ecsv", spec, skies, records)
    (out_dir / "demo-manifest.json").write_text(
        json.dumps(
            {
                "generator": "campfire.server.demo",
                "scale": spec.name,
                "seed": int(seed),
                "products": sorted(p.name for p in products.values()),
                "observations": [o.name for o in spec.observations],
            },
            indent=1,
        )
        + "\n"
    )
    return [products[p.slug] for p in spec.programs]
