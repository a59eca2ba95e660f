"""Offline writes on a catalog filled locally: the query tables updated in place are exactly
what a full reload derives, and the outbox holds one row per write, in order.

No server: ``CAMPFIRE_OFFLINE=1`` throughout. The reference is an independent full load of the
same store by a new ``Catalog`` (its snapshot removed first), compared table by table.
"""

from __future__ import annotations

import shutil

import pytest

from campfire import Campfire
from campfire.catalog.engine import Catalog
from campfire.catalog.store import Store
from campfire.flags import DQFlags

STAMP = "2026-05-01T00:00:00+00:00"
N = 40


@pytest.fixture
def cf(tmp_path, monkeypatch):
    objects, spectra = [], []
    for i in range(N):
        oid = f"J{i:07d}"
        objects.append({
            "object_id": oid, "field": "uds", "ra": 34.4 + i / 1000, "dec": -5.2 + i / 1000,
            "n_spectra": 2, "gratings": ["PRISM", "G395M"], "observations": ["uds_p1"],
            "member_target_ids": [f"uds_p1_{i}"], "redshift_auto": 1 + i / 10,
            "redshift": 1 + i / 10, "redshift_quality": 0, "version": 1,
            "lists": ["lrd"] if i % 5 == 0 else [], "updated_at": STAMP,
        })  # fmt: skip
        for g in ("prism", "g395m"):
            spectra.append({
                "spectrum_id": f"uds_p1_{g}_clear_{i}", "target_id": f"uds_p1_{i}",
                "object_id": oid, "grating": g.upper(), "observation": "uds_p1", "field": "uds",
                "dq_flags": 0, "version": 1, "updated_at": STAMP,
            })  # fmt: skip
    with Store(tmp_path / "meta" / "campfire.db") as store, store.transaction():
        store.upsert("objects", objects, STAMP)
        store.upsert("spectra", spectra, STAMP)
        store.upsert("lists", [{"slug": "lrd", "name": "LRD", "visibility": "public_read"}], STAMP)
        store.bump("catalog_version")
        store.set_meta("last_sync_at", STAMP)
    monkeypatch.setenv("CAMPFIRE_OFFLINE", "1")
    return Campfire(data_dir=tmp_path)


TABLES = {
    "objects": "object_id",
    "spectra": "spectrum_id",
    "comments": "object_id, body",
    "object_lists": "slug",
    "object_list_memberships": "object_id, list_slug",
}


def dump(catalog: Catalog) -> dict[str, list[tuple]]:
    duck = catalog.connection()
    out = {}
    for table, order in TABLES.items():
        cols = [c for c in duck.execute(f"SELECT * FROM {table} LIMIT 0").fetchnumpy()]
        keep = ", ".join(c for c in cols if c not in ("last_inspected_at", "created_at",
                                                       "updated_at"))  # fmt: skip
        out[table] = duck.execute(f"SELECT {keep} FROM {table} ORDER BY {order}").fetchall()
    return out


def full_reload(cf: Campfire) -> dict[str, list[tuple]]:
    shutil.rmtree(cf.data_dir / "meta" / "snapshot", ignore_errors=True)
    fresh = Catalog(cf.settings.db_path)
    try:
        return dump(fresh)
    finally:
        fresh.close()


def loaded_at(cf: Campfire) -> str:
    return cf.reader.catalog._loaded["meta"]


def test_saves_update_the_tables_in_place_as_a_reload_would(cf):
    cf.query_objects(limit=1)  # load the tables
    cf.inspect("J0000001", redshift=2.5, quality="secure")  # a target id works too:
    cf.inspect("uds_p1_2", quality="bad")
    cf.set_dq_flags("uds_p1_prism_clear_3", DQFlags.CHIP_GAP | DQFlags.LOW_SNR)
    cf.comment("J0000004", "two lines")
    cf.create_tag("mine")
    cf.tag([f"J{i:07d}" for i in range(6, 9)], "mine")
    cf.untag("J0000005", "lrd")
    version = str(cf.reader.catalog.versions()[0])
    assert loaded_at(cf) == f"c{version}"  # every save was applied in place ...
    assert not list((cf.data_dir / "meta" / "snapshot").glob(f"meta-c{version}.*"))
    in_place = dump(cf.reader.catalog)
    assert in_place == full_reload(cf)  # ... and gave what a reload gives
    q = cf.query_objects(redshift_quality=["bad", "secure"])
    assert sorted(q["object_id"]) == ["J0000001", "J0000002"]
    assert (
        q["redshift"][list(q["object_id"]).index("J0000002")] is None
        or (q["redshift"].mask[list(q["object_id"]).index("J0000002")])
    )
    assert list(cf.query_spectra(dq_flags=DQFlags.LOW_SNR)["spectrum_id"]) == [
        "uds_p1_prism_clear_3"
    ]
    assert sorted(cf.query_objects(tags=["mine"])["object_id"]) == ["J0000006", "J0000007",
                                                                    "J0000008"]  # fmt: skip
    assert "J0000005" not in list(cf.query_objects(tags=["lrd"])["object_id"])


def test_many_objects_at_once_are_rederived(cf, tmp_path):
    cf.query_objects(limit=1)
    sheet = tmp_path / "sheet.csv"
    sheet.write_text(
        "object_id,redshift,quality,comment\n"
        + "".join(f"J{i:07d},{2 + i / 100},{1 + i % 4},c{i}\n" for i in range(30)),
        encoding="utf-8",
    )
    report = cf.import_inspections(sheet)
    assert report.applied == 30 and report.errors == [] and report.queued == 60
    assert loaded_at(cf) == f"c{cf.reader.catalog.versions()[0]}"
    assert dump(cf.reader.catalog) == full_reload(cf)


def test_outbox_holds_each_write_once_in_order(cf):
    cf.inspect("J0000010", quality=3, comment="first look")
    cf.inspect("J0000010", redshift=3.3)
    cf.set_dq_flags("uds_p1_g395m_clear_11", 0)
    kinds = [(e.kind, e.target, e.state) for e in cf.outbox]
    assert kinds == [
        ("inspect", "J0000010", "pending"),
        ("comment", "J0000010", "pending"),
        ("inspect", "J0000010", "pending"),
        ("dq", "uds_p1_g395m_clear_11", "pending"),
    ]
    keys = [e.key for e in cf.outbox]
    assert len(set(keys)) == 4
    assert [e.payload.get("expected_version") for e in cf.outbox] == [1, None, 1, 1]
    assert "4 write(s) not yet confirmed" in repr(cf.outbox)
    assert list(cf.outbox.to_table()["kind"]) == ["inspect", "comment", "inspect", "dq"]
    assert cf.push() is None  # offline: nothing is sent, nothing is lost
    assert len(cf.outbox) == 4


def test_writing_needs_a_synced_catalog(tmp_path, monkeypatch):
    from campfire import NotFoundError

    monkeypatch.setenv("CAMPFIRE_OFFLINE", "1")
    empty = Campfire(data_dir=tmp_path / "none")
    with pytest.raises(NotFoundError, match="needs the synced catalog"):
        empty.inspect("J0000001", quality=4)
    assert len(empty.outbox) == 0
