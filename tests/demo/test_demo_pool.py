"""The large scale's pooled spectra, exercised on a miniature pool (the real one takes minutes)."""

from __future__ import annotations

import os

import numpy as np
from astropy.io import fits
from astropy.table import Table

from campfire.server.demo.catalog import build_skies, plan_observations, reduction_times
from campfire.server.demo.observations import ObservationDef
from campfire.server.demo.pool import build_pool, clone_into, link_observations
from campfire.server.demo.scales import LARGE, SCALES, ProgramDef, Scale

CONFIGS = (("PRISM", "CLEAR", 4400.0, 1.0), ("G395M", "F290LP", 3100.0, 1.0))
JADES = ProgramDef("JADES", "JADES", "D. Deepfield", True, 1210, 200000)


def _obs(name: str, field: str, east: float, n: int, pid: int) -> ObservationDef:
    return ObservationDef(
        name, name.split("_")[0].upper(), field, (east, 0.0), 40.0, n, CONFIGS, pid, 1
    )


def test_large_scale_definition_reaches_the_benchmark_sizes():
    assert SCALES["large"] is LARGE and LARGE.pooled
    targets = sum(o.n_targets for o in LARGE.observations)
    assert len(LARGE.observations) >= 300 and targets >= 110_000
    assert all(len(o.dispersers) == 3 for o in LARGE.observations)  # 3 spectra per target
    assert any(not p.public for p in LARGE.programs)


def test_pooled_spectra_are_hard_links_consistent_with_the_catalog(tmp_path):
    pool_program = ProgramDef("POOL", "pool", "-", True, 9999, 900000)
    pool_obs = (_obs("pool_uds_p1", "uds", 0.0, 6, 9999),)
    pool_scale = Scale("pool", (pool_program,), pool_obs, background_per_arcmin2=2.0)
    mini = Scale(
        "mini",
        (JADES,),
        (_obs("jades_gds_p1", "gds", 0.0, 12, 1210), _obs("jades_gds_p2", "gds", 150.0, 12, 1210)),
        background_per_arcmin2=0.0,
        pooled=True,
    )
    pool = build_pool(tmp_path / "_pool", seed=5, scale=pool_scale)
    assert 3 <= len(pool.members) <= 6
    skies = build_skies(mini, seed=5)
    clone_into(skies, pool, seed=5)
    plans = plan_observations(mini, skies, seed=5)
    products = {"JADES": tmp_path / "jades"}
    records = link_observations(mini, plans, pool, products, reduction_times(mini, 5))
    sky = skies["gds"]
    n_links = 0
    for obs in mini.observations:
        plan, sids = plans[obs.name]
        folder = products["JADES"] / obs.name
        targets = Table.read(folder / "targets.ecsv")
        assert sorted(targets["source_id"]) == sorted(sids)
        shutters = Table.read(folder / "shutters.ecsv")
        for t, rec in enumerate(records[obs.name]):
            member = pool.assign["gds"][rec.sky_index]
            src_dir, src = pool.members[member]
            # the target's SED is its pool member's, so catalogs and files agree
            assert sky.pop["z"][rec.sky_index] == pool.cols["z"][member]
            assert len(rec.spectra) == len(CONFIGS)
            for s, s_src in zip(rec.spectra, src.spectra, strict=True):
                ours = folder / f"{s['spectrum_id']}_spec.fits"
                assert (
                    ours.name
                    == f"{obs.name}_{s['grating']}_{s['filter']}_{rec.source_id}".lower()
                    + "_spec.fits"
                )
                assert os.path.samefile(ours, src_dir / f"{s_src['spectrum_id']}_spec.fits")
                assert (folder / f"{s['spectrum_id']}_zfit.fits").exists()
                n_links += 1
            dq = int(
                fits.getheader(folder / f"{rec.spectra[0]['spectrum_id']}_spec.fits")["CMPFRDQ"]
            )
            slit = shutters[shutters["slitlet_id"] == plan.slitlet_id[t]]
            assert bool(dq & 4) == bool(np.any(slit["shutter_state"] == "stuck_closed"))
    assert n_links == sum(len(r) for r in records.values()) * len(CONFIGS)
