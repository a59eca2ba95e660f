"""The demo's sky catalog and everything written per program besides the spectra.

Builds each field's galaxies (with the reference docs' object placed in ``ember_uds_p4``),
plans every observation's MSA configuration, and writes inspections, the photometric catalog
(``photometry/UVCANDELS.ecsv``), the cutout tiles and the truth table.

Examples
--------
>>> from campfire.server.demo.scales import SCALES
>>> skies = build_skies(SCALES["tiny"], seed=42)
>>> sorted(skies), len(skies["uds"]) > 100
(['cosmos', 'uds'], True)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from campfire.server.demo.files import write_ecsv
from campfire.server.demo.inspections import inspect_target
from campfire.server.demo.observations import ObservationDef, TargetRecord, rng_for
from campfire.server.demo.scales import HERO, ProgramDef, Scale
from campfire.server.demo.sed import KINDS
from campfire.server.demo.shutters import (
    GAP_X,
    GAP_Y,
    PITCH_X,
    PITCH_Y,
    MsaPlan,
    msa_to_tangent,
    plan_msa,
)
from campfire.server.demo.sky import FIELDS, Sky, field_sky, tangent_to_sky
from campfire.server.ingest.products import INSPECTION_COLUMNS

__all__ = [
    "CATALOG_NAME",
    "build_skies",
    "cutout_targets",
    "photometry_columns",
    "plan_observations",
    "reduction_times",
    "write_cutout_tiles",
    "write_inspections",
    "write_photometry",
    "write_truth",
]

CATALOG_NAME = "UVCANDELS"
FOOTPRINT_ARCSEC2 = 216.0 * 204.0
Progress = Callable[[str, int, int], None]
_EPOCH = datetime(2026, 2, 20, 12, 0, 0, tzinfo=UTC)


def _iso(t: datetime) -> str:
    return t.isoformat(timespec="seconds")


def _fields(spec: Scale) -> list[str]:
    return list(dict.fromkeys(o.field for o in spec.observations))


def build_skies(spec: Scale, seed: int) -> dict[str, Sky]:
    """Each field's galaxies, sized so every observation finds enough targets."""
    skies: dict[str, Sky] = {}
    for fld in _fields(spec):
        obs = [o for o in spec.observations if o.field == fld]
        off = np.array([o.offset for o in obs])
        centre = off.mean(axis=0)
        half = np.abs(off - centre).max(axis=0) + 150.0
        area = 4.0 * half[0] * half[1]
        n_cand = math.ceil(
            spec.candidates_per_target * max(o.n_targets for o in obs) * area / FOOTPRINT_ARCSEC2
        )
        n_bg = round(spec.background_per_arcmin2 * area / 3600.0)
        sky = field_sky(
            rng_for(seed, "sky", fld),
            fld,
            (float(half[0]), float(half[1])),
            n_cand,
            n_bg,
            (float(centre[0]), float(centre[1])),
        )
        hero_obs = [o for o in obs if o.name == HERO["observation"]]
        if hero_obs:
            _place_hero(sky, hero_obs[0])
        skies[fld] = sky
    return skies


def _place_hero(sky: Sky, obs: ObservationDef) -> None:
    """Put the reference docs' object at index 0, well inside a shutter of its observation."""
    x = GAP_X / 2 + 120.5 * PITCH_X + 0.01
    y = GAP_Y / 2 + 50.5 * PITCH_Y + 0.03
    xi, eta = msa_to_tangent(np.array([x]), np.array([y]), obs.pa)
    ra0, dec0 = obs.pointing()
    ra, dec = tangent_to_sky(ra0, dec0, xi, eta)
    sky.ra[0], sky.dec[0] = ra[0], dec[0]
    for key, value in HERO["params"].items():
        sky.pop.cols[key][0] = value
    sky.re_arcsec[0] = HERO["re_arcsec"]
    clash = np.nonzero(sky.catalog_id == HERO["catalog_id"])[0]
    sky.catalog_id[clash] = sky.catalog_id[0]
    sky.catalog_id[0] = HERO["catalog_id"]
    sky.priority[0] = 100.0


def plan_observations(
    spec: Scale, skies: dict[str, Sky], seed: int
) -> dict[str, tuple[MsaPlan, np.ndarray]]:
    """Every observation's MSA plan and its targets' source ids."""
    programs = {p.slug: p for p in spec.programs}
    out: dict[str, tuple[MsaPlan, np.ndarray]] = {}
    for obs in spec.observations:
        sky = skies[obs.field]
        prog = programs[obs.program]
        rng = rng_for(seed, "priority", obs.program, obs.field)
        kind = sky.pop["kind"].astype(int)
        taste = np.zeros(len(sky))
        if obs.program == "RUBIES":  # red sources first
            taste += np.isin(kind, [KINDS.index(k) for k in ("lrd", "qg", "dusty")]) * 1.5
        elif obs.program == "CAPERS":  # the epoch of reionization
            taste += (sky.pop["z"] > 6.0) * 1.5
        priority = sky.priority + taste + 0.8 * rng.standard_normal(len(sky))
        required = np.array([0]) if obs.name == HERO["observation"] else None
        ra0, dec0 = obs.pointing()
        plan = plan_msa(
            sky,
            ra0,
            dec0,
            obs.pa,
            obs.n_targets,
            rng_for(seed, "msa", obs.name),
            required=required,
            priority=priority,
        )
        if required is not None and plan.index.size and plan.index[0] == 0:
            plan.stuck[0] = False  # keep the reference docs' object clean
        out[obs.name] = (plan, prog.source_base + sky.catalog_id[plan.index])
    return out


def reduction_times(spec: Scale, seed: int) -> dict[str, str]:
    """A reduction timestamp per observation, drawn from the seed (never the clock)."""
    out = {}
    for obs in spec.observations:
        rng = rng_for(seed, "reduced", obs.name)
        out[obs.name] = _iso(
            _EPOCH + timedelta(days=int(rng.integers(0, 20)), minutes=int(rng.integers(0, 1440)))
        )
    return out


def write_inspections(
    spec: Scale,
    skies: dict[str, Sky],
    records: dict[str, list[TargetRecord]],
    products: dict[str, Path],
    reduced: dict[str, str],
    seed: int,
) -> None:
    """``inspections.ecsv`` per observation; each object is inspected at most once."""
    seen: set[tuple[str, int]] = set()
    for obs in spec.observations:
        sky = skies[obs.field]
        cols: dict[str, list[Any]] = {k: [] for k in INSPECTION_COLUMNS}
        for rec in records.get(obs.name, []):
            key = (obs.field, rec.sky_index)
            if key in seen:
                continue
            seen.add(key)
            rng = rng_for(seed, "inspect", obs.field, rec.sky_index)
            when = datetime.fromisoformat(reduced[obs.name]) + timedelta(
                days=int(rng.integers(1, 30)), minutes=int(rng.integers(0, 1440))
            )
            truth = {
                k: float(sky.pop[k][rec.sky_index]) for k in ("z", "kind", "lya_fesc", "ew_ha")
            }
            row = inspect_target(rec.spectra, truth, rng, _iso(when))
            if obs.name == HERO["observation"] and rec.source_id == HERO["source_id"]:
                row = {
                    "redshift_inspected": HERO["params"]["z"],
                    "redshift_quality": 4,
                    "inspected_by": "alice@campfire.demo",
                    "inspected_at": _iso(when),
                    "tags": "lrd",
                }
            if row is None:
                continue
            cols["source_id"].append(rec.source_id)
            for k in (
                "redshift_inspected",
                "redshift_quality",
                "inspected_by",
                "inspected_at",
                "tags",
            ):
                cols[k].append(row[k])
        arrays = {
            "source_id": np.array(cols["source_id"], dtype=np.int64),
            "redshift_inspected": np.array(cols["redshift_inspected"], dtype=float),
            "redshift_quality": np.array(cols["redshift_quality"], dtype=np.int64),
            "inspected_by": np.array(cols["inspected_by"], dtype=str),
            "inspected_at": np.array(cols["inspected_at"], dtype=str),
            "tags": np.array(cols["tags"], dtype=str),
        }
        write_ecsv(products[obs.program] / obs.name / "inspections.ecsv", arrays)


def _catalog_id(field: str, local: np.ndarray) -> np.ndarray:
    return (list(FIELDS).index(field) + 1) * 10_000_000 + np.asarray(local, dtype=np.int64)


def photometry_columns(sky: Sky, fld: str, seed: int) -> dict[str, np.ndarray]:
    """The photometric catalog's columns of every galaxy of one field's sky."""
    from campfire.server.demo.photometry import catalog_columns

    cols = {
        "catalog_id": _catalog_id(fld, sky.catalog_id),
        "field": np.full(len(sky), fld),
        "ra": sky.ra,
        "dec": sky.dec,
    }
    cols.update(catalog_columns(sky.pop, rng_for(seed, "photometry", fld)))
    hero = sky.catalog_id == HERO["catalog_id"]
    cols["photo_z"][hero] = HERO["photo_z"]  # as the reference docs show it
    return cols


def write_photometry(
    spec: Scale,
    skies: dict[str, Sky],
    program: ProgramDef,
    folder: Path,
    seed: int,
    progress: Progress | None = None,
    cache: dict[tuple[str, str], Any] | None = None,
) -> None:
    """``photometry/UVCANDELS.ecsv``: every galaxy of the program's fields, targets or not.

    ``cache[("phot", field)]`` holds a field's :func:`photometry_columns` once made.
    """
    cache = {} if cache is None else cache
    fields = list(dict.fromkeys(o.field for o in spec.observations if o.program == program.slug))
    parts = []
    for i, fld in enumerate(fields):
        if progress is not None:
            progress(f"photometry {program.slug}", i, len(fields))
        key = ("phot", fld)
        if key not in cache:
            cache[key] = photometry_columns(skies[fld], fld, seed)
        parts.append(cache[key])
    table = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    units = {k: "uJy" for k in table if k[:2] in ("f_", "e_")}
    units.update({"ra": "deg", "dec": "deg"})
    write_ecsv(folder / "photometry" / f"{CATALOG_NAME}.ecsv", table, units=units)


def cutout_targets(
    spec: Scale, plans: dict[str, tuple[MsaPlan, np.ndarray]], program: ProgramDef
) -> list[tuple[str, int]]:
    """(field, sky index) of each target object of the program that gets a cutout tile."""
    wanted: list[tuple[str, int]] = []
    for obs in spec.observations:
        if obs.program == program.slug and obs.name in plans:
            wanted += [(obs.field, int(g)) for g in plans[obs.name][0].index]
    return list(dict.fromkeys(wanted))[: spec.max_cutouts]


def write_cutout_tiles(
    spec: Scale, skies: dict[str, Sky], wanted: list[tuple[str, int]], folder: Path, seed: int
) -> int:
    """One RGB tile per (field, sky index) of ``wanted`` into ``folder/cutouts``; the count."""
    from campfire.server.demo.images import CHANNELS, render_tile, write_tile
    from campfire.server.demo.photometry import band_fluxes
    from campfire.server.demo.sky import sky_to_tangent

    half = spec.cutout_size * 0.04 / 2 + 4.0
    for fld, g in wanted:
        sky = skies[fld]
        xi, eta = sky_to_tangent(sky.ra[g], sky.dec[g], sky.ra, sky.dec)
        near = np.nonzero((np.abs(xi) < half) & (np.abs(eta) < half))[0]
        fluxes = np.zeros((len(sky), len(CHANNELS)))
        fluxes[near] = band_fluxes(sky.pop.take(near), [b for b, _ in CHANNELS])
        rgb = render_tile(
            sky,
            float(sky.ra[g]),
            float(sky.dec[g]),
            spec.cutout_size,
            fluxes,
            rng_for(seed, "cutout", fld, g),
        )
        name = f"{fld}_{int(_catalog_id(fld, sky.catalog_id[g]))}"
        write_tile(folder / "cutouts", name, fld, rgb, float(sky.ra[g]), float(sky.dec[g]))
    return len(wanted)


def write_truth(
    path: Path, spec: Scale, skies: dict[str, Sky], records: dict[str, list[TargetRecord]]
) -> None:
    """``demo-truth.ecsv``: the true parameters behind every target (for tests and docs)."""
    rows: list[dict[str, Any]] = []
    for obs in spec.observations:
        sky = skies[obs.field]
        for r in records.get(obs.name, []):
            g = r.sky_index
            rows.append({
                "observation": obs.name, "program": obs.program, "source_id": r.source_id,
                "field": obs.field, "catalog_id": int(_catalog_id(obs.field, sky.catalog_id[g])),
                "ra": float(sky.ra[g]), "dec": float(sky.dec[g]), "z": float(sky.pop["z"][g]),
                "kind": KINDS[int(sky.pop["kind"][g])], "mag": float(sky.pop["mag"][g]),
                "re_arcsec": float(sky.re_arcsec[g]), "ew_ha": float(sky.pop["ew_ha"][g]),
                "lya_fesc": float(sky.pop["lya_fesc"][g]), "n_spectra": len(r.spectra),
            })  # fmt: skip
    table = {k: [row[k] for row in rows] for k in rows[0]} if rows else {"source_id": []}
    write_ecsv(path, {k: np.array(v) for k, v in table.items()}, units={"ra": "deg", "dec": "deg"})
