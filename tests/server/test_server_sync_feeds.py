"""The /sync/* feeds: shapes, paging, incremental cursors, deletions and access changes."""

from __future__ import annotations

import gzip

import pytest
import requests
from server_products import ALPHA, BETA, api_get, write_spec

from campfire.server.archive import Archive
from campfire.server.auth.users import grant_program, revoke_program, set_program_public
from campfire.server.ingest.deploy import deploy_products
from campfire.server.storage.database import utc_now

SHARED = "J021736.00-051200.0"
BETA_ONLY = {"J021734.66-051200.0", "J021734.66-051220.0"}
OBJECT_KEYS = {
    "id", "object_id", "field", "ra", "dec", "n_targets", "n_spectra", "programs", "gratings",
    "max_snr", "max_exposure_time", "redshift", "redshift_quality", "redshift_inspected",
    "redshift_auto", "inspected_used_auto", "last_inspected_at", "last_inspected_by",
    "last_inspected_by_name", "last_data_change_at", "staleness_reason", "version", "is_active",
    "has_photometry",
    "photo_z", "photo_z_err_lo", "photo_z_err_hi", "created_at", "updated_at",
    "member_target_ids", "spectra", "lists", "observations",
}  # fmt: skip
SPECTRUM_KEYS = {
    "id", "spectrum_id", "target_id", "object_id", "grating", "fits_path", "file_hash",
    "file_size", "signal_to_noise", "exposure_time", "reduction_version", "redshift_auto",
    "dq_flags", "program_slug", "observation", "field", "created_at", "updated_at", "version",
}  # fmt: skip


def cursor(srv, feed, user="full"):
    return max(r["updated_at"] for r in api_get(srv, feed, user).json()["data"])


def test_sync_objects_rows_and_counts(server):
    body = api_get(server, "/sync/objects").json()
    assert body["pagination"] == {"total": 6, "limit": 1000, "offset": 0}
    assert body["total_accessible_count"] == 6
    assert all(set(o) == OBJECT_KEYS for o in body["data"])
    names = [o["object_id"] for o in body["data"]]
    assert names == sorted(names)
    shared = next(o for o in body["data"] if o["object_id"] == SHARED)
    assert shared["member_target_ids"] == ["alpha_uds_p1_1", "beta_uds_p1_7"]
    assert [(s["target_id"], s["grating"]) for s in shared["spectra"]] == [
        ("alpha_uds_p1_1", "G395M"),
        ("alpha_uds_p1_1", "PRISM"),
        ("beta_uds_p1_7", "PRISM"),
    ]
    assert shared["lists"] == ["blagn", "lrd"] and shared["observations"] == [
        "alpha_uds_p1",
        "beta_uds_p1",
    ]
    assert shared["updated_at"].endswith("+00:00") and len(shared["updated_at"]) == 32
    # product timestamps are normalised like every other one (the fixture wrote "…10:00:00+00:00")
    assert shared["last_inspected_at"] == "2026-03-02T10:00:00.000000+00:00"
    obs = api_get(server, "/observations").json()["observations"][0]
    assert obs["reduced_at"] == "2026-03-01T12:00:00.000000+00:00"


def test_partial_access_hides_private_members(server):
    body = api_get(server, "/sync/objects", "public").json()
    assert body["total_accessible_count"] == 4
    shared = next(o for o in body["data"] if o["object_id"] == SHARED)
    assert shared["member_target_ids"] == ["alpha_uds_p1_1"]
    assert {s["target_id"] for s in shared["spectra"]} == {"alpha_uds_p1_1"}
    assert shared["observations"] == ["alpha_uds_p1"]
    assert not BETA_ONLY & {o["object_id"] for o in body["data"]}


def test_sync_spectra_rows(server):
    body = api_get(server, "/sync/spectra").json()
    assert body["pagination"]["total"] == len(ALPHA["spectra"]) + len(BETA["spectra"])
    assert all(set(s) == SPECTRUM_KEYS for s in body["data"])
    row = next(s for s in body["data"] if s["spectrum_id"] == "beta_uds_p1_prism_clear_7")
    assert row["object_id"] == SHARED and row["program_slug"] == "BETA-UDS"
    assert row["redshift_auto"] == 3.49 and row["signal_to_noise"] == pytest.approx(12.0)
    assert row["fits_path"] == "spectra/beta_uds_p1/beta_uds_p1_prism_clear_7_spec.fits"
    pub = api_get(server, "/sync/spectra", "public").json()
    assert {s["program_slug"] for s in pub["data"]} == {"ALPHA-UDS"}


def test_paging_include_counts_and_clamp(server):
    ids = []
    for offset in range(0, 8, 3):
        page = api_get(
            server,
            "/sync/spectra",
            limit=3,
            offset=offset,
            include_counts="true" if offset == 0 else "false",
        ).json()
        if offset:
            assert page["pagination"]["total"] == 0 and page["total_accessible_count"] == 0
        ids += [s["spectrum_id"] for s in page["data"]]
    assert len(ids) == 8 and ids == sorted(ids)
    assert api_get(server, "/sync/objects", limit=50000).json()["pagination"]["limit"] == 10000


def test_any_offset_works_and_sequential_pages_survive_changes(fresh):
    all_ids = [s["spectrum_id"] for s in api_get(fresh, "/sync/spectra").json()["data"]]
    first = api_get(fresh, "/sync/spectra", limit=3).json()["data"]
    assert [s["spectrum_id"] for s in first] == all_ids[:3]
    odd = api_get(fresh, "/sync/spectra", limit=3, offset=2).json()["data"]  # not a page end
    assert [s["spectrum_id"] for s in odd] == all_ids[2:5]
    # a spectrum before the page boundary disappears between pages: the next page still
    # continues after the last row the client got (no row skipped, none repeated)
    obs = fresh.products / "ALPHA-UDS" / "alpha_uds_p1"
    (obs / "alpha_uds_p1_g395m_f290lp_1_spec.fits").unlink()
    deploy_products(fresh.products / "ALPHA-UDS", fresh.archive_dir)
    nxt = api_get(fresh, "/sync/spectra", limit=3, offset=3).json()["data"]
    assert [s["spectrum_id"] for s in nxt] == all_ids[3:6]


def test_incremental_cursor_is_strictly_after(server):
    # as the upstream client does: the cursor is the max updated_at it stored
    for feed in ("/sync/objects", "/sync/spectra", "/sync/photometry"):
        t = cursor(server, feed)
        body = api_get(server, feed, updated_since=t).json()
        assert body["data"] == [] and body["pagination"]["total"] == 0, feed
    body = api_get(server, "/sync/objects", updated_since=cursor(server, "/sync/objects")).json()
    assert body["total_accessible_count"] == 6
    earlier = api_get(server, "/sync/objects", updated_since="2000-01-01T00:00:00Z").json()
    assert earlier["pagination"]["total"] == 6


def test_bad_cursor_is_400(server):
    r = api_get(server, "/sync/spectra", updated_since="yesterday")
    assert r.status_code == 400 and "updated_since" in r.json()["error"]


def test_photometry_feed(server):
    body = api_get(server, "/sync/photometry").json()
    assert "total_accessible_count" not in body
    (rec,) = body["data"]
    assert rec["object_id"] == SHARED and rec["catalog_name"] == "uvcandels"
    assert rec["photometry"]["bands"]["f444w"]["flux"] == 2.5
    assert rec["photometry"]["bands"]["f444w"]["wav"] == pytest.approx(4.4017, abs=1e-3)
    assert rec["match_distance_arcsec"] == pytest.approx(0.05, abs=1e-3)
    assert rec["has_pz"] is True and rec["photo_z"] == 3.4


def test_lists_feed(server):
    data = api_get(server, "/sync/lists").json()["data"]
    slugs = [d["slug"] for d in data]
    assert {"lrd", "blagn", "lae", "star"} <= set(slugs)
    lrd = next(d for d in data if d["slug"] == "lrd")
    assert lrd["member_count"] == 1 and lrd["is_system"] is True


def test_gzip_on_large_json_only(server):
    headers = {"Authorization": f"Bearer {server.keys['full']}", "Accept-Encoding": "gzip"}
    r = requests.get(server.base_url + "/sync/objects", headers=headers, stream=True, timeout=10)
    assert r.headers["content-encoding"] == "gzip"
    raw = r.raw.read()
    assert gzip.decompress(raw).startswith(b'{"data":[')
    small = requests.get(server.base_url + "/version", headers=headers, timeout=10)
    assert "content-encoding" not in small.headers


def test_redeploy_changed_file_is_reported_once(fresh):
    t0 = cursor(fresh, "/sync/spectra")
    before = {s["spectrum_id"]: s for s in api_get(fresh, "/sync/spectra").json()["data"]}
    obs = fresh.products / "ALPHA-UDS" / "alpha_uds_p1"
    write_spec(obs / "alpha_uds_p1_prism_clear_2_spec.fits", "prism", "clear", 2, scale=5.0)
    report = deploy_products(fresh.products / "ALPHA-UDS", fresh.archive_dir)
    assert (report.ingested, report.unchanged) == (1, 4)
    changed = api_get(fresh, "/sync/spectra", updated_since=t0).json()
    (row,) = changed["data"]
    assert row["spectrum_id"] == "alpha_uds_p1_prism_clear_2"
    assert row["file_hash"] != before[row["spectrum_id"]]["file_hash"]
    assert row["signal_to_noise"] == pytest.approx(20.0) and row["updated_at"] > t0
    objs = api_get(fresh, "/sync/objects", updated_since=t0).json()["data"]
    assert [o["object_id"] for o in objs] == ["J021736.33-051200.0"]
    assert objs[0]["staleness_reason"] == "reprocessed" and objs[0]["max_snr"] == pytest.approx(20)
    again = deploy_products(fresh.products / "ALPHA-UDS", fresh.archive_dir)
    assert (again.ingested, again.unchanged, again.objects_changed) == (0, 5, 0)


def test_deleted_file_and_target_are_tombstoned(fresh):
    t0 = cursor(fresh, "/sync/objects")
    obs = fresh.products / "ALPHA-UDS" / "alpha_uds_p1"
    (obs / "alpha_uds_p1_g395m_f290lp_1_spec.fits").unlink()
    for p in obs.glob("alpha_uds_p1_*_4_*.fits"):
        p.unlink()
    from astropy.table import Table

    targets = Table.read(obs / "targets.ecsv")
    targets[targets["source_id"] != 4].write(obs / "targets.ecsv", overwrite=True)
    report = deploy_products(fresh.products / "ALPHA-UDS", fresh.archive_dir)
    assert report.deleted == 2 and report.skipped == []
    spectra = api_get(fresh, "/sync/spectra", updated_since=t0, include_deleted="true").json()
    assert spectra["deleted"] == ["alpha_uds_p1_g395m_f290lp_1", "alpha_uds_p1_prism_clear_4"]
    objs = api_get(fresh, "/sync/objects", updated_since=t0, include_deleted="true").json()
    assert objs["deleted"] == ["J021736.66-051150.0"]
    assert objs["total_accessible_count"] == 5
    assert SHARED in {o["object_id"] for o in objs["data"]}  # lost a spectrum: updated
    assert "deleted" not in api_get(fresh, "/sync/objects", updated_since=t0).json()
    page2 = api_get(fresh, "/sync/objects", updated_since=t0, include_deleted="true", offset=1)
    assert "deleted" not in page2.json()
    r = api_get(fresh, "/observations/alpha_uds_p1/manifest")
    assert len(r.json()["spectra"]) == 3


def test_lost_and_regained_access(fresh):
    t0 = utc_now()
    archive = Archive(fresh.archive_dir)
    try:
        revoke_program(archive, "full@example.org", "BETA-UDS")
        objs = api_get(fresh, "/sync/objects", updated_since=t0, include_deleted="true").json()
        assert set(objs["deleted"]) == BETA_ONLY
        # the shared object is still visible but changed for this user: re-sent, alpha only
        (shared,) = objs["data"]
        assert shared["object_id"] == SHARED and shared["member_target_ids"] == ["alpha_uds_p1_1"]
        spectra = api_get(fresh, "/sync/spectra", updated_since=t0, include_deleted="true").json()
        assert set(spectra["deleted"]) == {
            f"beta_uds_p1_{g}_{f}_{s}" for g, f, s, *_ in BETA["spectra"]
        }
        assert api_get(fresh, "/observations/beta_uds_p1/manifest").status_code == 404
        t1 = utc_now()
        grant_program(archive, "full@example.org", "BETA-UDS")
        back = api_get(fresh, "/sync/spectra", updated_since=t1, include_deleted="true").json()
        assert {s["program_slug"] for s in back["data"]} == {"BETA-UDS"}
        assert back["pagination"]["total"] == len(BETA["spectra"]) and back["deleted"] == []
        # a program made public reaches the public-only user the same way
        t2 = utc_now()
        set_program_public(archive, "BETA-UDS", True)
        pub = api_get(fresh, "/sync/objects", "public", updated_since=t2).json()
        assert {o["object_id"] for o in pub["data"]} >= BETA_ONLY
        set_program_public(archive, "BETA-UDS", False)
        gone = api_get(fresh, "/sync/objects", "public", updated_since=t2, include_deleted="true")
        assert set(gone.json()["deleted"]) == BETA_ONLY
    finally:
        archive.close()
