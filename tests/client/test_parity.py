"""Local (DuckDB over the synced catalog) and remote (``/objects``, ``/spectra/list``) answers
to the same filters are the same rows in the same order, for a matrix of filter combinations,
for a user who sees every program and for one who sees only some.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_client import client

from campfire.flags import DQFlags


@pytest.fixture(scope="module")
def server(tiny_server):
    return tiny_server


@pytest.fixture(scope="module", params=[0, 2], ids=["all-programs", "rubies-only"])
def cf(request, server, tmp_path_factory):
    user = server.users[request.param]
    c = client(server.base_url, tmp_path_factory.mktemp("parity"), user["api_key"])
    c.sync()
    return c


def _gap_radius(distances: np.ndarray, lo: float, hi: float) -> float:
    """A radius in [lo, hi] arcsec at least 0.5" from every distance (no boundary cases)."""
    for r in np.arange(lo, hi, 0.25):
        if np.all(np.abs(distances - r) > 0.5):
            return float(r)
    pytest.skip("no clean radius")


def _object_cases(cf):
    t = cf.query_objects()
    ra, dec = float(t["ra"][len(t) // 2]), float(t["dec"][len(t) // 2])
    far = cf.query_objects(cone_search=(ra, dec, 3600.0))
    radius = _gap_radius(np.asarray(far["distance"]), 20.0, 120.0)
    tags = cf.get_tags()["slug"].tolist()
    return [
        {},
        {"fields": ["uds"]},
        {"fields": ["uds", "cosmos"], "gratings": ["PRISM"]},
        {"gratings": ["G395M"], "sort": "max_snr", "sort_dir": "desc"},
        {"programs": cf.get_metadata()["programs"][0]["slug"]},
        {"observations": [cf.get_observations()[0]]},
        {"redshift_range": (2.0, 6.0)},
        {"redshift_range": (None, 4.0), "sort": "redshift"},
        {"redshift_quality": ["probable", "secure"]},
        {"inspected_only": True, "sort": "redshift", "sort_dir": "desc"},
        {"inspected_only": False},
        {"max_snr_range": (5.0, 50.0), "has_photometry": True},
        {"tags": tags[:3]},
        {"search": str(t["object_id"][3])[:9].lower()},
        {"cone_search": (ra, dec, radius)},
        {"cone_search": (ra, dec, radius), "sort": "redshift"},
        {"fields": ["uds"], "redshift_range": (1.0, 9.0), "gratings": ["PRISM"],
         "cone_search": (ra, dec, radius)},
        {"dq_flags": DQFlags.SPECTRAL_OVERLAP | DQFlags.LOW_SNR},
        {"dq_flags": ~DQFlags.SPECTRAL_OVERLAP & ~DQFlags.CHIP_GAP},
        {"dq_flags": DQFlags.SPECTRAL_OVERLAP & DQFlags.LOW_SNR},
        {"sort": "dec", "limit": 7, "offset": 4},
        {"sort": "n_spectra", "sort_dir": "desc", "limit": 5, "offset": 11},
        {"sort": "photo_z"},
    ]  # fmt: skip


def _spectrum_cases(cf):
    t = cf.query_spectra()
    return [
        {},
        {"gratings": ["PRISM"], "inspected_only": True},
        {"fields": ["uds"], "observations": [str(t["observation"][0])]},
        {"programs": [str(t["program_slug"][0])]},
        {"redshift_range": (1.0, 5.0), "sort": "signal_to_noise", "sort_dir": "desc"},
        {"redshift_quality": [4]},
        {"max_snr_range": (2.0, 20.0), "sort": "exposure_time"},
        {"tags": cf.get_tags()["slug"].tolist()},
        {"search": str(t["spectrum_id"][2])[-6:]},
        {"dq_flags": ~DQFlags.SPECTRAL_OVERLAP & ~DQFlags.LOW_SNR},
        {"dq_flags": (DQFlags.CHIP_GAP | DQFlags.SPECTRAL_OVERLAP) & ~DQFlags.LOW_SNR},
        {"dq_flags": DQFlags.SPECTRAL_OVERLAP & DQFlags.LOW_SNR},
        {"sort": "redshift", "limit": 9, "offset": 3},
        {"sort": "grating", "sort_dir": "desc"},
        {"has_photometry": True, "sort": "redshift_auto"},
    ]


def _same(local, remote, key, cols):
    assert list(local[key]) == list(remote[key])
    for col in cols:
        a, b = local[col], remote[col]
        if a.dtype.kind == "f":
            np.testing.assert_allclose(np.ma.filled(a, np.nan), np.ma.filled(b, np.nan))
        else:
            assert [None if v is np.ma.masked else v for v in a] == [
                None if v is np.ma.masked else v for v in b
            ], col


def test_objects_local_and_remote_agree(cf):
    cases = _object_cases(cf)
    nonempty = 0
    for case in cases:
        local = cf.query_objects(**case)
        remote = cf.query_objects(**case, remote=True)
        cols = ["field", "redshift", "redshift_quality", "max_snr", "n_spectra", "ra", "dec"]
        if "cone_search" in case:
            cols.append("distance")
        try:
            _same(local, remote, "object_id", cols)
            assert [list(x) for x in local["tags"]] == [list(x) for x in remote["tags"]]
            assert [list(x) for x in local["programs"]] == [list(x) for x in remote["programs"]]
        except AssertionError as exc:
            raise AssertionError(f"objects differ for {case}: {exc}") from exc
        nonempty += len(local) > 0
    assert nonempty >= len(cases) - 4  # the matrix really selects rows


def test_spectra_local_and_remote_agree(cf):
    cases = _spectrum_cases(cf)
    nonempty = 0
    for case in cases:
        local = cf.query_spectra(**case)
        remote = cf.query_spectra(**case, remote=True)
        cols = ["object_id", "grating", "dq_flags", "signal_to_noise", "redshift", "file_hash"]
        try:
            _same(local, remote, "spectrum_id", cols)
        except AssertionError as exc:
            raise AssertionError(f"spectra differ for {case}: {exc}") from exc
        nonempty += len(local) > 0
    assert nonempty >= len(cases) - 4


def test_iterators_agree_with_their_tables(cf):
    kw = {"fields": ["uds"], "sort": "redshift"}
    assert [r["object_id"] for r in cf.iter_objects(**kw)] == list(
        cf.query_objects(**kw)["object_id"]
    )
    assert [r["object_id"] for r in cf.iter_objects(remote=True, **kw)] == list(
        cf.query_objects(**kw)["object_id"]
    )
    rows = list(cf.iter_spectra(gratings=["PRISM"]))
    assert [r["spectrum_id"] for r in rows] == list(
        cf.query_spectra(gratings=["PRISM"])["spectrum_id"]
    )
