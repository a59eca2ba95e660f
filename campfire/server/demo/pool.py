"""The ``large`` demo scale: ≥100,000 objects and ≥300,000 spectra from a pool of real files.

Simulating 300,000 spectra would take hours and hundreds of GB, so the large scale simulates a
*pool* (two observations of 100 targets, each with PRISM, G140M and G395M spectra and their
redshift fits, written under ``<out>/_pool/``) and clones it: every large-scale target takes the
SED of a randomly chosen pool member (so its photometry, inspection and DQ flags agree with the
spectra), and each of its spectrum rows is the pool member's file **hard-linked** under the
target's own name (``<obs>_<grating>_<filter>_<source_id>_spec.fits``) — no format change, and
the catalog sees 300,000 distinct spectra. The bytes of a pooled file (``SOURCEID``, ``SRCRA``
in its header, its 2D data) belong to the pool member; the ingest takes the source id from the
file name. Positions, shutters, photometry and cutouts are the large target's own.

Examples
--------
>>> from campfire.server.demo.generate import generate_products
>>> generate_products(Path("bench-products"), scale="large")  # doctest: +SKIP
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from campfire.server.demo.observations import (
    TargetRecord,
    rng_for,
    write_observation_tables,
)
from campfire.server.demo.scales import POOL, Scale
from campfire.server.demo.shutters import MsaPlan
from campfire.server.demo.sky import Sky
from campfire.server.demo.workers import Job, build_observations

if TYPE_CHECKING:
    from campfire.server.ingest.spectrumfile import ContentCache

__all__ = ["Pool", "build_pool", "clone_into", "link_observations"]

Progress = Callable[[str, int, int], None]


@dataclass
class Pool:
    """The simulated pool: each member's SED row, size and spectra (with their file paths)."""

    cols: dict[str, np.ndarray]
    re_arcsec: np.ndarray
    members: list[tuple[Path, TargetRecord]]
    assign: dict[str, np.ndarray]  # field -> pool member of each sky galaxy (-1: none)


def build_pool(
    folder: Path,
    seed: int,
    progress: Progress | None = None,
    scale: Scale = POOL,
    contents: ContentCache | None = None,
    workers: int = 1,
) -> Pool:
    """Simulate the pool observations of ``scale`` under ``folder`` (real spectra and fits).

    Only targets observed with every disperser of their observation become members.
    """
    from campfire.server.demo import catalog as demo_catalog

    skies = demo_catalog.build_skies(scale, seed)
    plans = demo_catalog.plan_observations(scale, skies, seed)
    reduced = demo_catalog.reduction_times(scale, seed)
    members: list[tuple[Path, TargetRecord]] = []
    rows: list[tuple[str, int]] = []
    jobs: dict[str, Job] = {
        obs.name: (folder, obs, skies[obs.field], *plans[obs.name], seed, reduced[obs.name])
        for obs in scale.observations
    }
    built = build_observations(jobs, workers, progress, contents)
    for obs in scale.observations:
        recs = built[obs.name]
        full = [r for r in recs if len(r.spectra) == len(obs.dispersers)]
        members += [(folder / obs.name, r) for r in full]
        rows += [(obs.field, r.sky_index) for r in full]
    keys = skies[rows[0][0]].pop.cols.keys()
    cols = {k: np.array([skies[f].pop.cols[k][g] for f, g in rows]) for k in keys}
    re = np.array([skies[f].re_arcsec[g] for f, g in rows])
    return Pool(cols, re, members, {})


def clone_into(skies: dict[str, Sky], pool: Pool, seed: int) -> None:
    """Give every candidate target of the large skies the SED of a random pool member."""
    n = len(pool.members)
    for fld, sky in skies.items():
        rng = rng_for(seed, "pool-clone", fld)
        targets = np.nonzero(sky.is_target)[0]
        pick = rng.integers(0, n, targets.size)
        for key, values in pool.cols.items():
            sky.pop.cols[key][targets] = values[pick]
        sky.re_arcsec[targets] = pool.re_arcsec[pick]
        assign = np.full(len(sky), -1)
        assign[targets] = pick
        pool.assign[fld] = assign
        sky.priority[targets] = 0.5 * (28.0 - sky.pop["mag"][targets]) + rng.random(targets.size)


def _link(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:  # another file system, or links not allowed: copy the bytes
        shutil.copyfile(src, dst)


def link_observations(
    spec: Scale,
    plans: dict[str, tuple[MsaPlan, np.ndarray]],
    pool: Pool,
    products: dict[str, Path],
    reduced: dict[str, str],
    progress: Progress | None = None,
) -> dict[str, list[TargetRecord]]:
    """Write every large observation's tables and hard-link its targets' pooled spectra."""
    records: dict[str, list[TargetRecord]] = {}
    for n, obs in enumerate(spec.observations):
        plan, sids = plans[obs.name]
        folder = products[obs.program] / obs.name
        member_of = pool.assign[obs.field][plan.index]
        for t, m in enumerate(member_of):  # shutters agree with the pooled file's DQ
            dq = pool.members[m][1].spectra[0]["dq"]
            plan.stuck[t] = [bool(dq & 4), False, False]
        write_observation_tables(folder, obs, plan, sids, reduced[obs.name])
        recs = []
        for t, m in enumerate(member_of):
            src_dir, member = pool.members[m]
            rec = TargetRecord(int(sids[t]), int(plan.index[t]), float(plan.ra[t]),
                               float(plan.dec[t]))  # fmt: skip
            for s in member.spectra:
                stem = f"{obs.name}_{s['grating']}_{s['filter']}_{rec.source_id}".lower()
                for suffix in ("_spec.fits", "_zfit.fits"):
                    _link(src_dir / f"{s['spectrum_id']}{suffix}", folder / f"{stem}{suffix}")
                rec.spectra.append({**s, "spectrum_id": stem})
            recs.append(rec)
        records[obs.name] = recs
        if progress is not None:
            progress("linking pooled spectra", n + 1, len(spec.observations))
    return records
