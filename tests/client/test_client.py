"""The Campfire client against the real archive server on loopback, over the tiny demo archive.

The server serves this module's private copy of the session's tiny demo archive
(``tiny_server`` in ``tests/conftest.py``), synced once into a client data directory. "No
network call" is proven by repeating an operation with a second client on the same data
directory and ``CAMPFIRE_OFFLINE=1``, where any network attempt raises ``OfflineError``.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from click.testing import CliRunner

from campfire import Campfire
from campfire.errors import NotFoundError, OfflineError, ValidationError


def client(base_url: str, data_dir: Path, api_key: str, **env: str) -> Campfire:
    """A client whose settings hold ``api_key`` (the per-test environment is cleaned)."""
    saved = {k: os.environ.get(k) for k in ("CAMPFIRE_API_KEY", *env)}
    os.environ.update({"CAMPFIRE_API_KEY": api_key, **env})
    try:
        return Campfire(base_url=base_url, data_dir=data_dir)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def offline_twin(cf: Campfire) -> Campfire:
    """A client on the same data directory that cannot reach the network."""
    return client(cf.settings.base_url, cf.data_dir, "sk_live_none", CAMPFIRE_OFFLINE="1")


@pytest.fixture(scope="module")
def server(tiny_server):
    return tiny_server


@pytest.fixture(scope="module")
def synced(server, tmp_path_factory):
    cf = client(server.base_url, tmp_path_factory.mktemp("client"), server.users[0]["api_key"])
    result = cf.sync()
    return cf, result


@pytest.fixture
def remote_only(server, tmp_path):
    return client(server.base_url, tmp_path / "empty", server.users[0]["api_key"])


# -- sync ----------------------------------------------------------------------------------------


def test_sync_makes_the_client_local_with_the_archive_counts(synced, server):
    import requests

    cf, result = synced
    head = server.auth_headers(0)
    objects = requests.get(server.base_url + "/objects?limit=1", headers=head, timeout=10).json()
    spectra = requests.get(server.base_url + "/spectra/list?limit=1", headers=head, timeout=10)
    assert cf.is_local and cf.last_synced is not None
    assert result["objects"] == objects["pagination"]["total"] == len(cf.query_objects())
    assert result["spectra"] == spectra.json()["pagination"]["total"] == len(cf.query_spectra())


def test_after_sync_queries_need_no_network(synced):
    cf, _ = synced
    off = offline_twin(cf)
    assert off.is_local
    oid = str(cf.query_objects(limit=1)["object_id"][0])
    assert len(off.query_objects(fields=["uds"], gratings=["PRISM"])) > 0
    assert off.get_object(oid).object_id == oid
    assert sum(1 for _ in off.iter_spectra()) == len(cf.query_spectra())
    assert off.get_fields() == cf.get_fields(remote=True)
    assert list(off.get_tags()["slug"]) == list(cf.get_tags(remote=True)["slug"])
    with pytest.raises(OfflineError):
        off.query_objects(remote=True)


# -- single records ------------------------------------------------------------------------------


def test_get_object_locally_and_remotely(synced):
    cf, _ = synced
    tagged = cf.query_objects(tags=cf.get_tags()["slug"].tolist())
    oid = str(tagged["object_id"][0])
    local, remote = cf.get_object(oid), cf.get_object(oid, remote=True)
    assert local.object_id == remote.object_id == oid
    assert list(local.spectra.spectrum_id) == list(remote.spectra.spectrum_id)
    assert len(local.spectra) == int(tagged["n_spectra"][0]) > 0
    assert local.tags == remote.tags == list(tagged["tags"][0]) != []
    assert local.photometry is not None and len(local.photometry.bands) > 0
    assert local.redshift == pytest.approx(remote.redshift)
    assert cf.get_object("J000000.00+000000.0") is None
    assert cf.get_object("J000000.00+000000.0", remote=True) is None


def test_get_object_by_target_id_resolves_to_its_sky_object(synced):
    cf, _ = synced
    spectra = cf.query_spectra(limit=5)
    target, owner = str(spectra["target_id"][0]), str(spectra["object_id"][0])
    assert target != owner  # target ids are <observation>_<source_id>, objects are J-names
    for remote in (False, True):
        obj = cf.get_object(target, remote=remote)
        assert obj is not None and obj.object_id == owner
        assert target in {s.target_id for s in cf.get_object(owner).spectra}
    assert cf.get_object(target + "9999") is None


def test_get_spectrum_row(synced):
    cf, _ = synced
    sid = str(cf.query_spectra(limit=1)["spectrum_id"][0])
    local, remote = cf.get_spectrum(sid), cf.get_spectrum(sid, remote=True)
    for key in ("spectrum_id", "grating", "fits_path", "file_hash", "object_id", "dq_flags"):
        assert local[key] == remote[key]
    assert cf.get_spectrum("nope_prism_clear_1") is None


# -- opening spectra -----------------------------------------------------------------------------


def test_open_spectrum_fetches_verifies_records_then_opens_locally(synced):
    cf, _ = synced
    row = cf.query_spectra(gratings=["PRISM"], limit=1)
    sid = str(row["spectrum_id"][0])
    with pytest.raises(OfflineError, match="not downloaded"):
        offline_twin(cf).open_spectrum(sid)
    spec = cf.open_spectrum(sid)
    path = cf.data_dir / "products" / str(row["observation"][0]) / f"{sid}_spec.fits"
    assert path.is_file()
    digest = "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
    assert digest == str(row["file_hash"][0])  # the bytes the archive published
    with fits.open(path) as hdul:
        np.testing.assert_allclose(spec.wavelength, hdul["SPEC1D"].data["wave"])
    again = offline_twin(cf).open_spectrum(sid)  # now local: no network needed
    np.testing.assert_array_equal(again.fnu, spec.fnu)
    assert cf.query_spectra(search=sid)["local_path"][0] == f"{row['observation'][0]}/{path.name}"


def test_open_spectrum_without_a_catalog_and_of_unknown_ids(remote_only, synced):
    cf, _ = synced
    sid = str(cf.query_spectra(limit=1, offset=1)["spectrum_id"][0])
    spec = remote_only.open_spectrum(sid)
    assert len(spec.wavelength) > 10 and not remote_only.is_local
    assert remote_only.open_spectrum(sid).spectrum_id == sid  # reused, not fetched again
    with pytest.raises(NotFoundError):
        remote_only.open_spectrum("capers_cosmos_p1_prism_clear_999999")
    with pytest.raises(NotFoundError):
        cf.open_spectrum("capers_cosmos_p1_prism_clear_999999")


def test_spectrum_and_redshift_fit_json(synced):
    cf, _ = synced
    sid = str(cf.query_spectra(gratings=["PRISM"], limit=1)["spectrum_id"][0])
    data = cf.get_spectrum_data(sid)
    assert len(data["wave"]) == len(data["fnu"]) > 10
    fit = cf.get_redshift_fit_data(sid)
    assert {"redshift", "z_grid", "chi2_grid"} <= set(fit)


def test_download_by_observation_marks_files_local(synced):
    cf, _ = synced
    obs = "capers_cosmos_p1"
    result = cf.download(observations=[obs])
    assert result["failed"] == 0 and result["downloaded"] > 0
    t = cf.query_spectra(observations=[obs])
    assert all(p for p in t["local_path"])
    assert all((cf.data_dir / "products" / p).is_file() for p in t["local_path"])
    with pytest.raises(ValidationError, match="capers_cosmos_p1"):
        cf.download(observations=["capers_cosmos_p9"])


# -- imaging -------------------------------------------------------------------------------------


def test_cutouts_and_shutters_are_cached(synced):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cf, _ = synced
    oid = str(cf.query_objects(fields=["uds"], limit=1)["object_id"][0])
    path = cf.get_cutout(oid, fov=3.0, size=64)
    assert (
        path.parent == (cf.data_dir / "cutouts").resolve() and path.read_bytes()[:4] == b"\x89PNG"
    )
    from PIL import Image

    assert Image.open(path).size == (64, 64)
    data = cf.get_shutters(oid, fov=3.0)
    assert data["meta"]["radius_arcsec"] == 3.0 and data["shutters"]
    off = offline_twin(cf)
    assert off.get_cutout(oid, fov=3.0, size=64) == path  # cached: no network
    assert off.get_shutters(oid, fov=3.0) == data
    reg = off.get_shutters_region(oid, fov=3.0)
    boxes = [line for line in reg.read_text().splitlines() if line.startswith("box(")]
    assert len(boxes) == len(data["shutters"])
    fig, ax = plt.subplots()
    cf.plot_cutout(oid, fov=3.0, shutters="target", ax=ax)
    assert any(str(p.get_gid()).startswith("shutter:target") for p in ax.patches)
    plt.close(fig)


# -- metadata, remote validation, paging ---------------------------------------------------------


def test_metadata_accessors_agree_locally_and_remotely(synced):
    cf, _ = synced
    local, remote = cf.get_metadata(), cf.get_metadata(remote=True)
    for key in ("fields", "gratings", "observations"):
        assert local[key] == remote[key]
    assert [p["slug"] for p in local["programs"]] == [p["slug"] for p in remote["programs"]]
    assert local["programs"] == remote["programs"]  # names filled from /metadata
    progs = cf.get_programs()
    assert set(progs.colnames) >= {"slug", "program_name", "pi_name", "is_public"}
    tags = cf.get_tags()
    assert list(tags["slug"]) == list(cf.get_tags(remote=True)["slug"])
    assert {"slug", "name", "member_count"} <= set(tags.colnames)


def test_remote_queries_validate_names_against_the_archive(remote_only):
    with pytest.raises(ValidationError, match=r"unknown field 'udss'.*'uds'"):
        remote_only.query_objects(fields=["udss"])
    with pytest.raises(ValidationError, match=r"unknown tag 'lrdd'.*'lrd'"):
        remote_only.query_spectra(tags=["lrdd"])
    with pytest.raises(ValidationError, match="local-only"):
        remote_only.query_objects(staleness=True, remote=True)
    with pytest.raises(ValidationError, match=r"only locally"):
        remote_only.query_objects(sort="updated_at", remote=True)


def test_remote_iteration_pages_through_everything(synced, remote_only):
    cf, _ = synced
    remote_only.page_size = 7
    local = [r["object_id"] for r in cf.iter_objects(sort="max_snr", sort_dir="desc")]
    remote = [r["object_id"] for r in remote_only.iter_objects(sort="max_snr", sort_dir="desc")]
    assert remote == local and len(local) > 21
    part = remote_only.iter_spectra(offset=5, limit=17)
    assert [r["spectrum_id"] for r in part] == list(cf.query_spectra()["spectrum_id"][5:22])
    # an unaligned window through /objects paging gives exactly the requested rows
    t = remote_only.query_objects(offset=9, limit=6, sort="redshift")
    assert list(t["object_id"]) == list(cf.query_objects(sort="redshift")["object_id"][9:15])
    # a limit larger than a page is gathered over several requests
    t = remote_only.query_objects(offset=3, limit=20, sort="max_snr")
    assert list(t["object_id"]) == list(cf.query_objects(sort="max_snr")["object_id"][3:23])


def test_campfire_sql_command_prints_the_catalog(synced, monkeypatch):
    from campfire.cli import main

    cf, _ = synced
    monkeypatch.setenv("CAMPFIRE_ROOT", str(cf.data_dir))
    monkeypatch.setenv("CAMPFIRE_OFFLINE", "1")
    runner = CliRunner()
    out = runner.invoke(main, ["sql", "SELECT field, count(*) AS n FROM objects GROUP BY 1 "
                                      "ORDER BY 1"])  # fmt: skip
    assert out.exit_code == 0, out.output
    counts = {f: int(n) for f, n in zip(*_column_pairs(cf), strict=True)}
    for field, n in counts.items():
        assert any(line.split() == [field, str(n)] for line in out.output.splitlines())
    csv = runner.invoke(main, ["sql", "--format", "csv", "SELECT object_id FROM objects"])
    assert csv.output.splitlines()[0] == "object_id" and len(csv.output.splitlines()) == 1 + sum(
        counts.values()
    )
    bad = runner.invoke(main, ["sql", "DELETE FROM objects"])
    assert bad.exit_code != 0 and "only SELECT" in bad.output


def _column_pairs(cf: Campfire) -> tuple[list[str], list[int]]:
    t = cf.query_objects()
    fields = sorted(set(t["field"]))
    return fields, [int((t["field"] == f).sum()) for f in fields]
