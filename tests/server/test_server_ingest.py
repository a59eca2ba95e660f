"""Ingest of pipeline products: idempotency, object joins, aggregates, bad products reported."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3

import pytest
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.table import Table
from server_products import ALPHA, ARCSEC, BETA, DEC0, RA0, write_all, write_program, write_spec

from campfire.server.catalog.rows import object_name
from campfire.server.ingest.deploy import deploy_products


def rows(archive_dir, sql):
    with sqlite3.connect(archive_dir / "archive.db") as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute(sql)]


@pytest.fixture
def tree(tmp_path):
    products = write_all(tmp_path / "products")
    return tmp_path, products


def test_redeploy_unchanged_changes_nothing(tree):
    root, products = tree
    archive = root / "archive"
    for p in products:
        deploy_products(p, archive)
    before = rows(archive, "SELECT object_id, updated_at, version, sync_json FROM objects")
    spectra = rows(archive, "SELECT spectrum_id, updated_at, sync_json FROM spectra")
    for p in products:
        report = deploy_products(p, archive)
        assert (report.ingested, report.deleted, report.objects_created) == (0, 0, 0)
        assert report.objects_changed == report.photometry == report.cutouts == 0
    assert rows(archive, "SELECT object_id, updated_at, version, sync_json FROM objects") == before
    assert rows(archive, "SELECT spectrum_id, updated_at, sync_json FROM spectra") == spectra


def test_object_aggregates_and_join(tree):
    root, products = tree
    archive = root / "archive"
    for p in products:
        deploy_products(p, archive)
    objs = {o["object_id"]: o for o in rows(archive, "SELECT * FROM objects")}
    assert len(objs) == len(ALPHA["targets"]) + len(BETA["targets"]) - 1
    shared = objs[object_name(RA0, DEC0)]
    assert (shared["n_targets"], shared["n_spectra"]) == (2, 3)
    assert json.loads(shared["programs"]) == ["ALPHA-UDS", "BETA-UDS"]
    assert json.loads(shared["gratings"]) == ["G395M", "PRISM"]
    # redshift_auto comes from the highest-S/N spectrum: beta's PRISM (S/N 12, z 3.49)
    assert shared["redshift_auto"] == 3.49 and shared["max_snr"] == pytest.approx(12.0)
    assert shared["max_exposure_time"] == 3000.0
    # photometry: the catalog source 0.05" away matched; the one 60" away matched nothing
    phot = rows(archive, "SELECT * FROM photometry")
    assert len(phot) == 1 and phot[0]["catalog_id"] == "c1"
    assert shared["has_photometry"] == 1 and shared["photo_z"] == 3.4


def test_object_names_follow_the_iau_pattern():
    for ra, dec in [(34.4, -5.2), (150.1166, 2.2058), (0.0001, 0.00001), (359.99999, -89.5)]:
        c = SkyCoord(ra * u.deg, dec * u.deg)
        h, m, s = c.ra.hms
        sign = "-" if dec < 0 else "+"
        d, dm, ds = abs(c.dec.dms.d), abs(c.dec.dms.m), abs(c.dec.dms.s)
        expected = (
            f"J{int(h):02d}{int(m):02d}{int(s * 100) / 100:05.2f}"
            f"{sign}{int(d):02d}{int(dm):02d}{int(ds * 10) / 10:04.1f}"
        )
        assert object_name(ra, dec) == expected


@pytest.mark.parametrize(("offset_arcsec", "joins"), [(0.2, True), (0.3, False)])
def test_targets_join_objects_within_a_quarter_arcsecond(tree, offset_arcsec, joins):
    root, products = tree
    archive = root / "archive"
    deploy_products(products[0], archive)
    gamma = {
        "slug": "GAMMA",
        "obs": "gamma_uds_p1",
        "public": True,
        "targets": {5: (RA0, DEC0 + offset_arcsec * ARCSEC)},
        "spectra": [("prism", "clear", 5, 1.0, None)],
    }
    report = deploy_products(write_program(root / "more", gamma), archive)
    assert report.objects_created == (0 if joins else 1)
    target = rows(archive, "SELECT object_pk FROM targets WHERE target_id = 'gamma_uds_p1_5'")[0]
    alpha1 = rows(archive, "SELECT object_pk FROM targets WHERE target_id = 'alpha_uds_p1_1'")[0]
    assert (target["object_pk"] == alpha1["object_pk"]) is joins


def test_bad_products_are_reported_and_skipped(tree):
    root, products = tree
    archive = root / "archive"
    alpha = products[0]
    obs = alpha / "alpha_uds_p1"
    (obs / "alpha_uds_p1_prism_clear_2_spec.fits").write_bytes(b"not a FITS file at all")
    write_spec(obs / "alpha_uds_p1_prism_clear_99_spec.fits", "prism", "clear", 99)
    shutil.copy(
        obs / "alpha_uds_p1_prism_clear_3_spec.fits", obs / "alpha_uds_p1_Prism_clear_3_spec.fits"
    )
    from astropy.io import fits

    with fits.open(obs / "alpha_uds_p1_prism_clear_4_spec.fits") as hdul:
        hdul["SPEC1D"] = fits.BinTableHDU(
            Table({"wave": [1.0, 2.0], "flux": [1.0, 1.0]}), name="SPEC1D"
        )
        hdul.writeto(obs / "alpha_uds_p1_prism_clear_4_spec.fits", overwrite=True)
    (alpha / "photometry" / "broken.ecsv").write_text("# %ECSV 1.0\nnot really\n")
    (alpha / "cutouts" / "uds_rgb.json").write_text(json.dumps({"field": "uds", "wcs": {}}))
    report = deploy_products(alpha, archive)
    reasons = {s["file"]: s["reason"] for s in report.skipped}
    assert "unreadable FITS" in reasons["alpha_uds_p1/alpha_uds_p1_prism_clear_2_spec.fits"]
    assert "not in targets.ecsv" in reasons["alpha_uds_p1/alpha_uds_p1_prism_clear_99_spec.fits"]
    assert "off the pattern" in reasons["alpha_uds_p1/alpha_uds_p1_Prism_clear_3_spec.fits"]
    assert "fnu, fnu_err" in reasons["alpha_uds_p1/alpha_uds_p1_prism_clear_4_spec.fits"]
    assert "photometry/broken.ecsv" in reasons and "cutouts/uds_rgb.json" in reasons
    got = {r["spectrum_id"] for r in rows(archive, "SELECT spectrum_id FROM spectra")}
    assert got == {
        "alpha_uds_p1_prism_clear_1",
        "alpha_uds_p1_g395m_f290lp_1",
        "alpha_uds_p1_prism_clear_3",
    }
    assert rows(archive, "SELECT count(*) AS n FROM map_layers")[0]["n"] == 0


def test_a_bad_new_version_keeps_the_good_old_one(tree):
    root, products = tree
    archive = root / "archive"
    deploy_products(products[0], archive)
    before = rows(archive, "SELECT * FROM spectra WHERE spectrum_id = 'alpha_uds_p1_prism_clear_2'")
    path = products[0] / "alpha_uds_p1" / "alpha_uds_p1_prism_clear_2_spec.fits"
    path.write_bytes(path.read_bytes()[:5000])  # truncated
    report = deploy_products(products[0], archive)
    assert [s["file"] for s in report.skipped] == [
        "alpha_uds_p1/alpha_uds_p1_prism_clear_2_spec.fits"
    ]
    assert report.deleted == 0
    after = rows(archive, "SELECT * FROM spectra WHERE spectrum_id = 'alpha_uds_p1_prism_clear_2'")
    assert after == before
    stored = root / "archive" / "store" / before[0]["fits_path"]
    assert stored.stat().st_size == before[0]["file_size"]


@pytest.mark.parametrize(
    ("edit", "fragment"),
    [
        (lambda p: (p / "program.json").unlink(), "missing"),
        (lambda p: (p / "program.json").write_text('{"slug": "lower-case"}'), "upper case"),
        (lambda p: (p / "program.json").write_text("{nope"), "not valid JSON"),
    ],
)
def test_bad_program_json_ingests_nothing(tree, edit, fragment):
    root, products = tree
    edit(products[0])
    report = deploy_products(products[0], root / "archive")
    assert report.skipped[0]["file"] == "program.json" and fragment in report.skipped[0]["reason"]
    assert rows(root / "archive", "SELECT count(*) AS n FROM spectra")[0]["n"] == 0


def test_bad_observation_folder_is_skipped_whole(tree):
    root, products = tree
    meta = products[0] / "alpha_uds_p1" / "observation.json"
    doc = json.loads(meta.read_text())
    doc["program_slug"] = "SOMEONE-ELSE"
    meta.write_text(json.dumps(doc))
    report = deploy_products(products[0], root / "archive")
    assert report.skipped[0]["file"] == "alpha_uds_p1/observation.json"
    assert "program_slug" in report.skipped[0]["reason"] and report.observations == []
    assert rows(root / "archive", "SELECT count(*) AS n FROM targets")[0]["n"] == 0


def test_identical_files_share_one_stored_blob(tree):
    root, products = tree
    obs = products[1] / "beta_uds_p1"
    a = obs / "beta_uds_p1_prism_clear_8_spec.fits"
    b = products[0] / "alpha_uds_p1" / "alpha_uds_p1_prism_clear_2_spec.fits"
    b.unlink()
    os.link(a, b)  # as the large demo does: one pool file under two names
    for p in products:
        assert deploy_products(p, root / "archive").skipped == []
    store = root / "archive" / "store"
    sa = store / "spectra" / "beta_uds_p1" / a.name
    sb = store / "spectra" / "alpha_uds_p1" / b.name
    assert sa.read_bytes() == sb.read_bytes() == a.read_bytes()
    assert sa.stat().st_ino == sb.stat().st_ino and sa.stat().st_nlink == 3  # 2 keys + blob
    # replacing one name's content relinks it; the shared blob stays for the other
    write_spec(b.with_name("tmp.fits"), "prism", "clear", 2, scale=9.0)
    b.unlink()
    b.with_name("tmp.fits").rename(b)
    deploy_products(products[0], root / "archive")
    assert sb.read_bytes() == b.read_bytes() != sa.read_bytes()
    assert sa.stat().st_nlink == 2
