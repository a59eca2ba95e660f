"""What the generator tells the ingest about each file equals what the ingest reads from it.

The demo deploy reads no spectrum or fit file again (``generate_products(contents=...)``); the
reference here is the ingest's own reading of each file's bytes (``read_spec_file``'s
measure of the file, through astropy).
"""

from __future__ import annotations

from campfire.server.demo import catalog as demo_catalog
from campfire.server.demo.observations import build_observation
from campfire.server.demo.scales import SCALES
from campfire.server.ingest.spectrumfile import ContentCache, _measure_spec, _measure_zfit


def test_seeded_contents_equal_what_the_ingest_reads(tmp_path):
    spec = SCALES["tiny"]
    obs = next(o for o in spec.observations if o.name == "ember_uds_p4")  # PRISM and gratings
    skies = demo_catalog.build_skies(spec, 42)
    plan, sids = demo_catalog.plan_observations(spec, skies, 42)[obs.name]
    cache = ContentCache()
    build_observation(tmp_path, obs, skies[obs.field], plan, sids, 42, contents=cache)
    files = sorted((tmp_path / obs.name).glob("*.fits"))
    assert len(files) >= 20 and any("_g395m_" in f.name for f in files)
    for path in files:
        kind, measure = ("spec", _measure_spec) if path.name.endswith("_spec.fits") else (
            "zfit", _measure_zfit)  # fmt: skip
        seeded = cache.get(kind, path, lambda data: None)
        assert seeded is not None, f"{path.name} was not seeded"
        read = measure(path.read_bytes())
        if kind == "zfit":
            assert (seeded.redshift, seeded.file_hash, seeded.zfit_json) == (
                read.redshift, read.file_hash, read.zfit_json)  # fmt: skip
        else:
            assert seeded == read, path.name


def test_observations_built_in_processes_give_the_same_bytes(tmp_path, tiny_products):
    """Two worker processes (as the small scale uses) write exactly the session's serial build."""
    from campfire.server.demo.generate import generate_products

    cache = ContentCache()
    generate_products(tmp_path / "p", scale="tiny", seed=42, contents=cache, workers=2)
    mine = sorted(p.relative_to(tmp_path / "p") for p in (tmp_path / "p").rglob("*") if p.is_file())
    theirs = sorted(p.relative_to(tiny_products) for p in tiny_products.rglob("*") if p.is_file())
    assert mine == theirs and len(mine) > 100
    for rel in mine:
        assert (tmp_path / "p" / rel).read_bytes() == (tiny_products / rel).read_bytes(), rel
    spec = next((tmp_path / "p").glob("*/*/*_spec.fits"))
    assert cache.get("spec", spec, lambda data: None) == _measure_spec(spec.read_bytes())
