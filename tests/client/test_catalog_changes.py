"""The query tables follow a sync by patching the objects it changed (#16): the patched tables
are exactly what a full build derives, a new process attaches the snapshot file and patches
from it, and a version whose changes are not recorded is rebuilt.

The writes are made as an incremental sync makes them (``changes.track`` around the store's
upserts, ``changes.record`` with the bump); the reference is an independent full build of the
same store by a new ``Catalog`` with its snapshot folder removed, compared table by table.
"""

from __future__ import annotations

import shutil

import pytest

from campfire import Campfire
from campfire.catalog import changes, engine
from campfire.catalog.engine import Catalog
from campfire.catalog.store import Store

STAMP = "2026-05-01T00:00:00+00:00"
LATER = "2026-05-02T00:00:00+00:00"
N = 30
TABLES = {
    "objects": "object_id",
    "spectra": "spectrum_id",
    "comments": "object_id, body",
    "object_lists": "slug",
    "object_list_memberships": "object_id, list_slug",
    "object_photometry": "id",
}


def obj(i, **extra):
    row = {
        "object_id": f"J{i:07d}", "field": "uds", "ra": 34.4 + i / 1000, "dec": -5.2 + i / 1000,
        "n_spectra": 1, "gratings": ["PRISM"], "observations": ["uds_p1"],
        "member_target_ids": [f"uds_p1_{i}"], "redshift_auto": 1 + i / 10,
        "redshift": 1 + i / 10, "redshift_quality": 0, "version": 1,
        "lists": ["lrd"] if i % 5 == 0 else [], "updated_at": STAMP,
    }  # fmt: skip
    return {**row, **extra}


def spec(i, **extra):
    row = {
        "spectrum_id": f"uds_p1_prism_clear_{i}", "target_id": f"uds_p1_{i}",
        "object_id": f"J{i:07d}", "grating": "PRISM", "observation": "uds_p1", "field": "uds",
        "dq_flags": 0, "version": 1, "updated_at": STAMP,
    }  # fmt: skip
    return {**row, **extra}


def phot(i, z):
    return {"id": i, "object_id": f"J{i:07d}", "field": "uds", "catalog_name": "uv",
            "photo_z": z, "has_pz": True, "updated_at": LATER}  # fmt: skip


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    with Store(tmp_path / "meta" / "campfire.db") as store, store.transaction():
        store.upsert("objects", [obj(i) for i in range(N)], STAMP)
        store.upsert("spectra", [spec(i) for i in range(N)], STAMP)
        store.upsert("lists", [{"slug": "lrd", "name": "LRD", "visibility": "public_read"}], STAMP)
        store.bump("catalog_version")
        store.set_meta("last_sync_at", STAMP)
    monkeypatch.setenv("CAMPFIRE_OFFLINE", "1")
    return tmp_path


def incremental_sync(data_dir, *, record=True):
    """Change objects 1-3 (one moved, one new spectrum, one deactivated), photometry of 4, the
    tags of 5 and 6, and add object N, as an incremental sync writes them."""
    db = data_dir / "meta" / "campfire.db"
    with Store(db) as store, store.transaction(), changes.track(store.conn):
        store.upsert("objects", [
            obj(1, ra=10.0, redshift_auto=7.5, updated_at=LATER),
            obj(3, is_active=False, updated_at=LATER),
            obj(5, lists=["lrd", "blagn"], updated_at=LATER),
            obj(6, lists=["blagn"], updated_at=LATER),
            obj(N, updated_at=LATER),
        ], LATER)  # fmt: skip
        store.upsert("spectra", [spec(2, spectrum_id="extra_2", updated_at=LATER),
                                 spec(N, updated_at=LATER)], LATER)  # fmt: skip
        store.upsert("photometry", [phot(4, 2.25)], LATER)
        store.upsert("lists", [{"slug": "lrd", "name": "LRD", "visibility": "public_read"},
                               {"slug": "blagn", "name": "BLAGN"}], LATER)  # fmt: skip
        version = store.bump("catalog_version")
        recorded = changes.record(store.conn, version) if record else False
    return version, recorded


def dump(catalog):
    duck = catalog.connection()
    return {
        table: duck.execute(f"SELECT * FROM {table} ORDER BY {order}").fetchall()
        for table, order in TABLES.items()
    }


def full_build(data_dir):
    """The reference: every table built from the store, in a snapshot folder of its own (the
    catalogs under test keep theirs)."""
    folder = data_dir / "reference-snapshot"
    shutil.rmtree(folder, ignore_errors=True)
    fresh = Catalog(data_dir / "meta" / "campfire.db", snapshot_dir=folder)
    try:
        assert fresh.refresh() and fresh._files.private  # built, not attached or patched
        return dump(fresh)
    finally:
        fresh.close()
        shutil.rmtree(folder, ignore_errors=True)


def published(data_dir):
    return sorted(p.name for p in (data_dir / "meta" / "snapshot").glob("catalog-*.duckdb"))


def test_a_sync_is_patched_in_and_equals_a_full_build(data_dir):
    cf = Campfire(data_dir=data_dir)
    assert len(cf.query_objects()) == N  # built, published as c1
    assert published(data_dir) == ["catalog-c1-f0.duckdb"]
    version, recorded = incremental_sync(data_dir)
    assert recorded and version == 2
    with Store(data_dir / "meta" / "campfire.db") as store:
        noted = changes.changed_between(store.conn, 1, 2)
    want = {f"J{i:07d}" for i in (1, 2, 3, 4, 5, 6, N)}
    assert noted == want
    got = cf.query_objects()
    assert len(got) == N  # 3 deactivated, N added
    assert dict(zip(got["object_id"], got["ra"], strict=True))["J0000001"] == 10.0
    assert published(data_dir) == ["catalog-c1-f0.duckdb"]  # patched, not built
    assert cf.reader.catalog._files.private
    assert dump(cf.reader.catalog) == full_build(data_dir)


def test_patched_in_chunks_with_downloaded_files_equals_a_full_build(data_dir, monkeypatch):
    """The patch path at the shape of a large sync: several chunks (made tiny here), changed
    objects whose spectra are downloaded (their file columns must survive the patch), and a
    download recorded alongside (the files version moves too)."""
    monkeypatch.setattr(engine, "PATCH_CHUNK", 2)
    db = data_dir / "meta" / "campfire.db"
    with Store(db) as store, store.transaction():
        for i in (1, 2, 8):
            store.record_download(spec(i)["spectrum_id"], f"uds_p1/{i}.fits", f"sha256:{i}", i, 1.0)
        store.bump("files_version")
    cf = Campfire(data_dir=data_dir)
    assert len(cf.query_objects()) == N  # built with the files, published as c1-f1
    incremental_sync(data_dir)  # objects 1 and 2 changed; their downloads must stay
    catalog = cf.reader.catalog
    assert catalog.refresh() and catalog._files.private  # patched, not built
    assert published(data_dir) == ["catalog-c1-f1.duckdb"]
    assert dump(catalog) == full_build(data_dir)
    with Store(db) as store, store.transaction():
        store.record_download("extra_2", "uds_p1/extra.fits", "sha256:e", 5, 2.0)
        store.forget_downloads([spec(8)["spectrum_id"]])
        store.bump("files_version")
    assert catalog.refresh() and catalog._files.private  # the files applied, not built
    assert published(data_dir) == ["catalog-c2-f2.duckdb"]
    local = catalog.sql("SELECT spectrum_id, local_path FROM spectra "
                        "WHERE local_path IS NOT NULL ORDER BY 1")  # fmt: skip
    assert list(local["spectrum_id"]) == ["extra_2", spec(1)["spectrum_id"], spec(2)["spectrum_id"]]
    assert dump(catalog) == full_build(data_dir)  # with extra_2's file_size from the download


def test_a_failed_patch_leaves_nothing_half_done_and_builds(data_dir, monkeypatch):
    cf = Campfire(data_dir=data_dir)
    cf.query_objects()
    incremental_sync(data_dir)
    calls = []

    def failing(duck, con, ids, lists=True):
        calls.append(len(ids))
        if len(calls) == 2:
            raise RuntimeError("disk full")
        real_patch(duck, con, ids, lists)

    real_patch = engine.patch_objects
    monkeypatch.setattr(engine, "PATCH_CHUNK", 3)
    monkeypatch.setattr(engine, "patch_objects", failing)
    assert cf.reader.catalog.refresh()
    assert calls[:2] == [3, 3]  # the first chunk was applied, the second failed: rebuilt
    assert published(data_dir) == ["catalog-c2-f0.duckdb"]
    assert dump(cf.reader.catalog) == full_build(data_dir)


def test_a_new_process_attaches_the_snapshot_and_patches_from_it(data_dir):
    Campfire(data_dir=data_dir).query_objects()  # publishes c1
    incremental_sync(data_dir)
    fresh = Catalog(data_dir / "meta" / "campfire.db")
    try:
        assert fresh.refresh()
        assert fresh._files.private and published(data_dir) == ["catalog-c1-f0.duckdb"]
        patched, copy = dump(fresh), fresh._files.path
    finally:
        fresh.close()
    assert patched == full_build(data_dir)
    assert copy is not None and not copy.exists()  # closed: its private copy removed


def test_an_unrecorded_version_is_rebuilt(data_dir):
    cf = Campfire(data_dir=data_dir)
    cf.query_objects()
    _, recorded = incremental_sync(data_dir, record=False)
    assert not recorded
    assert dump(cf.reader.catalog) == full_build(data_dir)
    cf2 = Campfire(data_dir=data_dir)
    cf2.query_objects()
    assert published(data_dir) == ["catalog-c2-f0.duckdb"]  # a build publishes


def test_too_many_changes_or_an_orphan_spectrum_are_not_recorded(data_dir, monkeypatch):
    monkeypatch.setattr(changes, "MAX_OBJECTS", 3)
    assert incremental_sync(data_dir)[1] is False
    monkeypatch.setattr(changes, "MAX_OBJECTS", 100)
    with Store(data_dir / "meta" / "campfire.db") as store, store.transaction():
        with changes.track(store.conn):
            store.upsert("spectra", [spec(1, spectrum_id="lost", object_id=None)], LATER)
            assert changes.record(store.conn, store.bump("catalog_version")) is False
        assert changes.changed_between(store.conn, 1, store.catalog_version) is None


def test_a_writer_that_knows_its_objects_records_them(data_dir):
    cf = Campfire(data_dir=data_dir)
    cf.query_objects()
    with Store(data_dir / "meta" / "campfire.db") as store, store.transaction():
        store.conn.execute("UPDATE objects SET redshift_quality = 4 WHERE object_id = 'J0000007'")
        version = store.bump("catalog_version")
        changes.record_objects(store.conn, version, {"J0000007"})
        assert changes.changed_between(store.conn, 1, version) == {"J0000007"}
    assert list(cf.query_objects(redshift_quality=[4])["object_id"]) == ["J0000007"]
    assert published(data_dir) == ["catalog-c1-f0.duckdb"]  # patched, not built
    assert dump(cf.reader.catalog) == full_build(data_dir)


def test_a_rebuilt_catalog_does_not_open_the_old_ones_snapshot(data_dir):
    Campfire(data_dir=data_dir).query_objects()
    assert published(data_dir) == ["catalog-c1-f0.duckdb"]
    db = data_dir / "meta" / "campfire.db"
    with Store.rebuild(db) as store, store.transaction():  # counts from 0 again
        store.upsert("objects", [obj(99)], STAMP)
        store.bump("catalog_version")
        store.set_meta("last_sync_at", STAMP)
    assert list(Campfire(data_dir=data_dir).query_objects()["object_id"]) == ["J0000099"]


def test_a_saved_inspection_is_patched_in_by_another_process(data_dir):
    Campfire(data_dir=data_dir).query_objects()  # publishes c1
    saver = Campfire(data_dir=data_dir)  # offline: the save is local, with an outbox row
    saver.inspect("J0000007", redshift=3.25, quality=4)
    with Store(data_dir / "meta" / "campfire.db") as store:
        after = store.catalog_version
        assert changes.changed_between(store.conn, 1, after) == {"J0000007"}
    fresh = Catalog(data_dir / "meta" / "campfire.db")  # what a new kernel opens
    try:
        assert fresh.refresh()
        assert published(data_dir) == ["catalog-c1-f0.duckdb"]  # patched from c1, not built
        patched = dump(fresh)
    finally:
        fresh.close()
    assert patched == full_build(data_dir)


def test_a_build_is_memory_capped_then_uncapped_and_spill_folders_are_cleaned(data_dir):
    folder = data_dir / "meta" / "snapshot"
    stale = folder / ".tmp-999999999-0123456789ab"  # a build of a process that is gone
    (stale / "sub").mkdir(parents=True)
    catalog = Catalog(data_dir / "meta" / "campfire.db")
    try:
        duck = catalog._duckdb()
        default = duck.execute("SELECT current_setting('memory_limit')").fetchall()[0]
        seen = []
        real = catalog._copy

        def copy(table, name, child=None):  # what the build runs under
            seen.append(duck.execute("SELECT current_setting('memory_limit')").fetchall()[0][0])
            real(table, name, child)

        catalog._copy = copy
        assert catalog.refresh()
        assert seen and all(s != default[0] for s in seen)  # capped while building
        assert duck.execute("SELECT current_setting('memory_limit')").fetchall()[0] == default
        assert not stale.exists()  # removed when the build published
        spill = catalog._files.spill
        assert spill.parent == folder and spill.name.startswith(".tmp-")
        assert dump(catalog) == full_build(data_dir)
    finally:
        catalog.close()
    assert not spill.exists()
