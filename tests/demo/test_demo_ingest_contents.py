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
