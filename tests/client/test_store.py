"""The local SQLite store: upstream layout, migrations, upserts, change counters, the lock."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import pytest

from campfire.catalog.rows import OBJECT_COLUMNS, SPECTRUM_COLUMNS
from campfire.catalog.schema import utc_now
from campfire.catalog.store import Store
from campfire.errors import LockError, NotFoundError, SchemaError

# the upstream v4 layout (contract section 8.1), written out independently of store.py
UPSTREAM_COLUMNS = {
    "objects": "id object_id field ra dec n_targets n_spectra programs gratings observations "
    "member_target_ids max_snr max_exposure_time redshift redshift_auto redshift_inspected "
    "redshift_quality last_inspected_at last_inspected_by last_data_change_at staleness_reason "
    "version is_active has_photometry photo_z photo_z_err_lo photo_z_err_hi created_at "
    "updated_at _synced_at",
    "spectra": "id spectrum_id target_id object_id grating fits_path file_hash file_size "
    "signal_to_noise exposure_time reduction_version redshift_auto dq_flags program_slug "
    "observation field local_path local_file_hash local_file_mtime local_file_size synced_at "
    "created_at updated_at _synced_at",
    "object_photometry": "id object_id field catalog_name catalog_id match_distance_arcsec "
    "photometry photo_z photo_z_err_lo photo_z_err_hi has_pz created_at updated_at _synced_at",
    "object_lists": "id slug name description visibility is_system member_count created_at "
    "updated_at",
    "object_list_memberships": "object_id list_slug",
    "sync_log": "id observation started_at completed_at files_downloaded files_skipped "
    "bytes_downloaded status",
    "_meta": "key value",
}


def obj(oid: str, **kw):
    row = {
        "id": kw.pop("id", abs(hash(oid)) % 10**6),
        "object_id": oid,
        "field": "uds",
        "ra": 34.4,
        "dec": -5.2,
        "programs": ["ember-uds"],
        "gratings": ["PRISM"],
        "member_target_ids": [f"t_{oid}"],
        "redshift": 3.1,
        "redshift_quality": 4,
        "is_active": True,
        "has_photometry": False,
        "updated_at": "2026-01-01T00:00:00+00:00",
        "lists": [],
        "spectra": [{"id": 1}],  # nested; ignored by the store
        "inspected_used_auto": False,
    }
    row.update(kw)
    return row


def spec(sid: str, **kw):
    row = {
        "id": kw.pop("id", abs(hash(sid)) % 10**6),
        "spectrum_id": sid,
        "target_id": "t1",
        "object_id": "J1",
        "grating": "PRISM",
        "fits_path": f"spectra/obs1/{sid}_spec.fits",
        "file_hash": "sha256:" + "a" * 64,
        "file_size": 1000,
        "dq_flags": None,
        "observation": "obs1",
        "program_slug": "ember-uds",
        "field": "uds",
        "updated_at": "2026-01-01T00:00:00+00:00",
    }
    row.update(kw)
    return row


def columns(conn, table):
    return [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]


# columns our migrations add after the upstream ones (the inspections extension, #10)
OURS = {"objects": ["last_inspected_by_name"], "spectra": ["version"]}


def test_layout_matches_upstream_v4_and_wal(store):
    for table, cols in UPSTREAM_COLUMNS.items():
        assert columns(store.conn, table) == cols.split() + OURS.get(table, []), table
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.get_meta("schema_version") == "4"
    names = [r[1] for r in store.conn.execute("SELECT * FROM _migrations ORDER BY id")]
    assert names[0] == "upstream_v4_layout" and len(names) >= 2
    # upstream needs the cone-search SQL functions
    assert store.conn.execute("SELECT ROUND(COS(RADIANS(60)), 6)").fetchone()[0] == 0.5


def test_migrations_are_idempotent_and_adopt_an_upstream_catalog(tmp_path):
    db = tmp_path / "campfire.db"
    # a catalog written by the upstream client: v4 tables, no _migrations table
    with Store(db) as s:
        s.upsert("objects", [obj("J1")], utc_now())
        s.conn.execute("DROP TABLE _migrations")
        s.conn.execute("DELETE FROM _meta WHERE key IN ('catalog_version', 'files_version')")
    with Store(db) as s:
        assert s.count("objects") == 1  # data kept
        assert s.catalog_version == 1  # migration 4 bumps a filled catalog (new columns)
        assert s.migrate() == []  # nothing left to apply
        n = s.conn.execute("SELECT COUNT(*) FROM _migrations").fetchone()[0]
    with Store(db) as s:
        assert s.conn.execute("SELECT COUNT(*) FROM _migrations").fetchone()[0] == n


def test_other_schema_version_is_refused_and_rebuild_starts_fresh(tmp_path):
    db = tmp_path / "campfire.db"
    with Store(db) as s:
        s.upsert("objects", [obj("J1")], utc_now())
        s.set_meta("schema_version", "9")
    with pytest.raises(SchemaError, match="a sync rebuilds it"):
        Store(db)
    with Store.rebuild(db) as s:
        assert s.count("objects") == 0 and s.get_meta("schema_version") == "4"


def test_missing_catalog_without_create(tmp_path):
    with pytest.raises(NotFoundError, match="campfire sync"):
        Store(tmp_path / "nope" / "campfire.db", create=False)
    assert not (tmp_path / "nope").exists()


def test_upsert_stores_lists_joined_and_counts_only_real_changes(store):
    stamp = utc_now()
    rows = [obj("J1", lists=["lrd", "blagn"]), obj("J2", lists=[{"slug": "lae", "id": 3}])]
    assert store.upsert("objects", rows, stamp) == 2 + 3  # 2 rows, 3 memberships
    r = store.conn.execute("SELECT * FROM objects WHERE object_id='J1'").fetchone()
    assert r["programs"] == "ember-uds" and r["member_target_ids"] == "t_J1"
    assert r["is_active"] == 1 and r["has_photometry"] == 0 and r["n_targets"] == 0
    assert r["_synced_at"] == stamp
    # the same rows again: nothing changes
    assert store.upsert("objects", rows, utc_now()) == 0
    # one field and one membership change
    rows[0]["redshift"] = 5.5
    rows[1]["lists"] = []
    assert store.upsert("objects", rows, utc_now()) == 2
    assert store.conn.execute("SELECT redshift FROM objects WHERE object_id='J1'").fetchone()[
        0
    ] == pytest.approx(5.5)
    slugs = store.conn.execute(
        "SELECT object_id, list_slug FROM object_list_memberships ORDER BY 1, 2"
    ).fetchall()
    assert [tuple(s) for s in slugs] == [("J1", "blagn"), ("J1", "lrd")]


def test_spectrum_upsert_keeps_local_state_and_size(store):
    store.upsert("spectra", [spec("s1")], utc_now())
    store.record_download("s1", "obs1/s1_spec.fits", "sha256:" + "a" * 64, 1000, 123.0)
    created = store.conn.execute("SELECT created_at, id FROM spectra").fetchone()
    new = spec("s1", file_hash="sha256:" + "b" * 64, file_size=None, dq_flags=4)
    assert store.upsert("spectra", [new], utc_now()) == 1
    r = store.conn.execute("SELECT * FROM spectra WHERE spectrum_id='s1'").fetchone()
    assert r["local_path"] == "obs1/s1_spec.fits" and r["local_file_size"] == 1000
    assert r["file_size"] == 1000  # null does not erase the known size
    assert r["dq_flags"] == 4
    assert (r["created_at"], r["id"]) == tuple(created)
    assert store.stale_files() == ["obs1/s1_spec.fits"]


def test_reused_server_ids_do_not_break_the_upsert(store):
    store.upsert("spectra", [spec("s1", id=7), spec("s2", id=8)], utc_now())
    # the archive was rebuilt: s3 now has id 7, s1 got id 9
    store.upsert("spectra", [spec("s1", id=9), spec("s3", id=7)], utc_now())
    ids = dict(store.conn.execute("SELECT spectrum_id, id FROM spectra").fetchall())
    assert ids["s3"] == 7 and set(ids) == {"s1", "s2", "s3"}


def test_photometry_json_and_delete_with_orphans(store):
    phot = {"flux_unit": "uJy", "bands": {"f444w": {"flux": 1.5, "flux_err": 0.1, "wav": 4.4}}}
    rec = {"id": 11, "object_id": "J1", "catalog_name": "c", "photometry": phot, "has_pz": True}
    store.upsert("photometry", [rec], utc_now())
    stored = store.conn.execute("SELECT photometry, has_pz FROM object_photometry").fetchone()
    assert json.loads(stored[0]) == phot and stored[1] == 1
    store.upsert("spectra", [spec("s1"), spec("s2")], utc_now())
    store.record_download("s1", "obs1/s1_spec.fits", "sha256:x", 10, 1.0)
    assert store.delete("spectra", ["s1", "s2", "never-had"]) == ["obs1/s1_spec.fits"]
    assert store.count("spectra") == 0
    assert store.keys_not_in("photometry", {11}) == []
    assert store.keys_not_in("photometry", set()) == [11]


def test_cursor_is_the_largest_updated_at(store):
    assert store.cursor("objects") is None
    store.upsert(
        "objects",
        [
            obj("J1", updated_at="2026-02-01T00:00:00+00:00"),
            obj("J2", updated_at="2026-03-01T10:00:00.5+00:00"),
        ],
        utc_now(),
    )
    assert store.cursor("objects") == "2026-03-01T10:00:00.5+00:00"


def test_fill_observations_from_local_spectra(store):
    store.upsert("objects", [obj("J1"), obj("J2", observations=["server_obs"])], utc_now())
    store.upsert(
        "spectra",
        [
            spec("a", object_id="J1", observation="obs_b"),
            spec("b", object_id="J1", observation="obs_a"),
            spec("c", object_id="J1", observation="obs_a"),
        ],
        utc_now(),
    )
    store.fill_observations()
    got = dict(store.conn.execute("SELECT object_id, observations FROM objects").fetchall())
    assert got == {"J1": "obs_a;obs_b", "J2": "server_obs"}


def test_check_local_files_forgets_missing_and_altered(store):
    store.upsert("spectra", [spec("s1"), spec("s2"), spec("s3")], utc_now())
    folder = store.products_dir / "obs1"
    folder.mkdir(parents=True)
    (folder / "s1.fits").write_bytes(b"x" * 10)
    (folder / "s2.fits").write_bytes(b"x" * 11)  # altered: recorded size is 10
    for sid in ("s1", "s2", "s3"):  # s3 never written: missing
        store.record_download(sid, f"obs1/{sid}.fits", "sha256:" + "a" * 64, 10, 1.0)
    before = store.files_version
    assert sorted(store.check_local_files()) == ["s2", "s3"]
    assert store.files_version == before + 1
    local = store.conn.execute("SELECT spectrum_id FROM spectra WHERE local_path IS NOT NULL")
    assert [r[0] for r in local] == ["s1"]


def test_transaction_rolls_back_on_error(store):
    with pytest.raises(RuntimeError), store.transaction():
        store.upsert("objects", [obj("J1")], utc_now())
        store.bump("catalog_version")
        raise RuntimeError("boom")
    assert store.count("objects") == 0 and store.catalog_version == 0


HOLDER = """
import sys
from campfire.catalog.store import Store
with Store(sys.argv[1]) as s, s.lock(what="test holder"):
    print("ready", flush=True)
    sys.stdin.readline()
"""


def test_lock_is_exclusive_across_processes_and_reentrant_in_one(tmp_path):
    db = tmp_path / "meta" / "campfire.db"
    Store(db).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "ready"
        s = Store(db)
        with pytest.raises(LockError, match="Another campfire sync") as info, s.lock(wait=0.2):
            pass
        s.close()
        assert "test holder" in str(info.value)
    finally:
        holder.communicate("\n", timeout=30)
    with Store(db) as s, s.lock(wait=5), s.lock(wait=0):  # re-entrant in one thread
        pass


def test_readers_see_the_old_catalog_during_a_write(tmp_path):
    db = tmp_path / "campfire.db"
    with Store(db) as writer:
        writer.upsert("objects", [obj("J1")], utc_now())
        with writer.transaction():
            writer.upsert("objects", [obj("J2")], utc_now())
            reader = sqlite3.connect(db, timeout=0)  # would fail at once if it had to wait
            assert reader.execute("SELECT COUNT(*) FROM objects").fetchone()[0] == 1
            reader.close()
        assert writer.count("objects") == 2


def test_column_tuples_cover_the_synced_keys():
    # section 9: what the client stores from each feed (plus our observations)
    assert set(OBJECT_COLUMNS) == set(UPSTREAM_COLUMNS["objects"].split()) - {"_synced_at"} | {
        *OURS["objects"]
    }
    assert set(SPECTRUM_COLUMNS) == set(UPSTREAM_COLUMNS["spectra"].split()) - {
        "_synced_at", "local_path", "local_file_hash", "local_file_mtime", "local_file_size",
        "synced_at",
    } | {*OURS["spectra"]}  # fmt: skip


def test_every_synced_key_lands_in_its_own_column(store):
    # distinct values per key, so a column mix-up in the row converters shows
    o = {c: f"v_{c}" for c in OBJECT_COLUMNS}
    o.update(
        id=1, is_active=True, has_photometry=True, n_targets=2, n_spectra=3, redshift_quality=4
    )
    o.update(programs=["p1", "p2"], gratings=["G1"], observations=["o1"], member_target_ids=["t"])
    s = {c: f"v_{c}" for c in SPECTRUM_COLUMNS}
    s.update(id=2, dq_flags=5, object_id=None, parent_object_id="J_parent")
    store.upsert("objects", [o], "stamp")
    store.upsert("spectra", [s], "stamp")
    got_o = dict(store.conn.execute("SELECT * FROM objects").fetchone())
    got_s = dict(store.conn.execute("SELECT * FROM spectra").fetchone())
    joined = {"programs": "p1;p2", "gratings": "G1", "observations": "o1"}
    joined.update(member_target_ids="t", is_active=1, has_photometry=1)
    for c in OBJECT_COLUMNS:
        assert got_o[c] == joined.get(c, o[c]), c
    for c in SPECTRUM_COLUMNS:
        want = {"object_id": "J_parent"}.get(c, s[c])
        assert got_s[c] == want, c
    assert got_o["_synced_at"] == got_s["_synced_at"] == "stamp"


def test_opening_the_catalog_does_not_wait_for_a_writer(tmp_path):
    db = tmp_path / "campfire.db"
    with Store(db) as writer, writer.transaction():
        writer.upsert("objects", [obj("J1")], utc_now())
        with Store(db, busy_timeout=0.05) as reader:  # would raise "database is locked"
            assert reader.count("objects") == 0 and reader.catalog_version == 0


def indexes(conn, table):
    sql = "SELECT name FROM sqlite_master WHERE type='index' AND tbl_name=? ORDER BY 1"
    return [r[0] for r in conn.execute(sql, (table,))]


def test_bulk_load_drops_and_rebuilds_indexes_even_on_failure(store):
    before = indexes(store.conn, "spectra")
    assert "idx_spectra_observation" in before
    with store.transaction(), store.bulk_load("spectra"):
        assert "idx_spectra_observation" not in indexes(store.conn, "spectra")
        store.upsert("spectra", [spec("s1"), spec("s2")], utc_now())
    assert indexes(store.conn, "spectra") == before and store.count("spectra") == 2
    with pytest.raises(RuntimeError), store.transaction(), store.bulk_load("objects"):
        store.upsert("objects", [obj("J1")], utc_now())
        raise RuntimeError("killed")
    assert "idx_objects_field" in indexes(store.conn, "objects") and store.count("objects") == 0
    with store.transaction(), store.bulk_load("spectra"):  # not empty: indexes stay
        assert indexes(store.conn, "spectra") == before


def test_cursor_falls_back_to_a_scan_for_catalogs_without_it(store):
    store.upsert("spectra", [spec("s1", updated_at="2026-04-01T00:00:00+00:00")], utc_now())
    store.conn.execute("DELETE FROM _meta WHERE key = 'cursor_spectra'")
    assert store.cursor("spectra") == "2026-04-01T00:00:00+00:00"
    store.upsert("spectra", [spec("s2", updated_at="2026-03-01T00:00:00+00:00")], utc_now())
    assert store.cursor("spectra") == "2026-04-01T00:00:00+00:00"  # never moves back


def test_cursor_is_kept_in_meta(store):
    store.upsert("objects", [obj("J1", updated_at="2026-05-01T00:00:00+00:00")], utc_now())
    assert store.get_meta("cursor_objects") == "2026-05-01T00:00:00+00:00"
