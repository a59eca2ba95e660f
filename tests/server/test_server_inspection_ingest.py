"""Inspections and the ingest: a redeploy never overwrites a later API inspection, and an archive
made before the inspections migration is upgraded (inspector emails become user uuids)."""

from __future__ import annotations

import json
import shutil
import sqlite3

import pytest
from server_products import api_call, api_get

from campfire.server.archive import Archive
from campfire.server.ingest.deploy import deploy_products
from campfire.server.testing import running_server

SHARED = "J021736.00-051200.0"  # inspected in the products: quality 4, z 3.52, by "ada"


def row(srv, object_id, user="full"):
    return next(o for o in api_get(srv, "/sync/objects", user).json()["data"]
                if o["object_id"] == object_id)  # fmt: skip


def test_products_inspector_without_account_is_a_name(server):
    r = row(server, SHARED)
    assert (r["last_inspected_by"], r["last_inspected_by_name"]) == (None, "ada")
    assert r["redshift_quality"] == 4 and r["redshift_inspected"] == 3.52


def test_redeploy_keeps_a_later_api_inspection(fresh):
    before = row(fresh, SHARED)
    r = api_call(fresh, "PATCH", f"/objects/{SHARED}/inspection", "full",
                 {"redshift_inspected": 3.6, "redshift_quality": 2,
                  "expected_version": before["version"]})  # fmt: skip
    assert r.status_code == 200
    after = r.json()["object"]
    archive = fresh.app.state.archive
    report = deploy_products(fresh.products / "ALPHA-UDS", archive)
    assert report.skipped == []
    again = row(fresh, SHARED)
    assert (again["redshift_inspected"], again["redshift_quality"]) == (3.6, 2)
    assert again["last_inspected_by"] == after["last_inspected_by"] is not None
    assert again["version"] == after["version"]


def _downgrade(db_path) -> None:
    """Turn a current archive back into one made before migration 0003 (as it was written)."""
    conn = sqlite3.connect(db_path)
    conn.execute("UPDATE objects SET last_inspected_by = 'FULL@example.org' WHERE object_id = ?",
                 (SHARED,))  # fmt: skip
    for table in ("comments", "audit_log", "idempotency_keys"):
        conn.execute(f"DROP TABLE {table}")
    conn.execute("DROP INDEX idx_lists_owner")
    for table, col in (("users", "can_inspect"), ("objects", "last_inspected_by_name"),
                       ("spectra", "version")):  # fmt: skip
        conn.execute(f"ALTER TABLE {table} DROP COLUMN {col}")
    for table, drop in (("objects", "last_inspected_by_name"), ("spectra", "version")):
        for pk, text in conn.execute(f"SELECT id, sync_json FROM {table}").fetchall():
            doc = json.loads(text)
            doc.pop(drop)
            if table == "objects" and doc["object_id"] == SHARED:
                doc["last_inspected_by"] = "FULL@example.org"
            conn.execute(f"UPDATE {table} SET sync_json = ? WHERE id = ?",
                         (json.dumps(doc, separators=(",", ":")), pk))  # fmt: skip
    conn.execute("DELETE FROM _migrations WHERE name = '0003_inspections'")
    conn.commit()
    conn.close()


@pytest.mark.embedded_only  # it writes the older archive with sqlite3
def test_migration_upgrades_an_older_archive(built, tmp_path):
    root, keys = built
    shutil.copytree(root / "archive", tmp_path / "archive")
    _downgrade(tmp_path / "archive" / "archive.db")
    archive = Archive(tmp_path / "archive")
    try:
        assert archive.db.applied == ["0003_inspections"]
        conn = archive.db.conn()
        uid = conn.execute("SELECT id FROM users WHERE email = 'full@example.org'").fetchone()[0]
        got = conn.execute("SELECT last_inspected_by, last_inspected_by_name FROM objects "
                           "WHERE object_id = ?", (SHARED,)).fetchone()  # fmt: skip
        assert tuple(got) == (uid, "full@example.org")
    finally:
        archive.close()
    with running_server(tmp_path / "archive") as srv:
        srv.keys = keys
        r = row(srv, SHARED)
        assert (r["last_inspected_by"], r["last_inspected_by_name"]) == (uid, "full@example.org")
        spectra = api_get(srv, "/sync/spectra").json()["data"]
        assert spectra and all(s["version"] == 1 for s in spectra)
        assert all(
            "last_inspected_by_name" in o for o in api_get(srv, "/sync/objects").json()["data"]
        )
        # the archive is writable at once: users may be granted inspection and write
        assert api_get(srv, "/auth/whoami").json()["can_inspect"] is False
    reopened = Archive(tmp_path / "archive")
    assert reopened.db.applied == []
    reopened.close()


def test_a_deploy_that_changes_dq_flags_bumps_the_spectrum_version(fresh):
    from server_products import write_spec

    sid = "alpha_uds_p1_prism_clear_2"
    spectra = {s["spectrum_id"]: s for s in api_get(fresh, "/sync/spectra").json()["data"]}
    assert (spectra[sid]["version"], spectra[sid]["dq_flags"]) == (1, 0)
    obs = fresh.products / "ALPHA-UDS" / "alpha_uds_p1"
    write_spec(obs / f"{sid}_spec.fits", "prism", "clear", 2, scale=1.0, dq=4)
    write_spec(obs / "alpha_uds_p1_prism_clear_3_spec.fits", "prism", "clear", 3, scale=0.7)
    deploy_products(fresh.products / "ALPHA-UDS", fresh.app.state.archive)
    after = {s["spectrum_id"]: s for s in api_get(fresh, "/sync/spectra").json()["data"]}
    assert (after[sid]["version"], after[sid]["dq_flags"]) == (2, 4)
    other = "alpha_uds_p1_prism_clear_3"  # a new file, same flags: no new DQ version
    assert after[other]["updated_at"] > spectra[other]["updated_at"]
    assert after[other]["version"] == 1
    stale = api_call(fresh, "PATCH", f"/spectra/{sid}/dq", "full",
                     {"dq_flags": 0, "expected_version": 1})  # fmt: skip
    assert stale.status_code == 409
    body = stale.json()
    assert (body["current_version"], body["current_dq_flags"], body["conflicting_user"]) == (
        2, 4, None)  # fmt: skip
