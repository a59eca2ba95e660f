"""Answers kept until the catalog changes (#16): the sync feeds' totals and empty pages,
``/sync/lists`` and ``/metadata`` follow every catalog write, made by this server or by another
process on the same database, and per-request bookkeeping does not make them stale.
"""

from __future__ import annotations

from astropy.table import Table
from server_products import api_call, api_get

from campfire.server.archive import Archive
from campfire.server.ingest.deploy import deploy_products
from campfire.server.storage.database import Database
from campfire.server.testing import running_server

ALPHA2 = "J021736.33-051200.0"


def newest(srv, feed):
    return max(r["updated_at"] for r in api_get(srv, feed).json()["data"])


def generation(srv):
    archive = Archive(srv.archive_dir)
    try:
        return archive.db.generation()
    finally:
        archive.close()


def test_reads_keep_the_generation_and_writes_move_it(fresh):
    before = generation(fresh)
    for route in ("/sync/objects", "/sync/lists", "/metadata", "/sync/comments"):
        assert api_get(fresh, route).status_code == 200  # API-key use is recorded, no bump
    assert generation(fresh) == before
    r = api_call(fresh, "POST", f"/objects/{ALPHA2}/comments", "full", {"body": "a remark"})
    assert r.status_code == 201
    after = generation(fresh)  # the comment and the object it touches may each move it
    assert after > before
    refused = api_call(fresh, "POST", f"/objects/{ALPHA2}/comments", "full", {"body": ""})
    assert refused.status_code == 400 and generation(fresh) == after


def test_a_no_op_sync_sees_what_another_process_deployed(fresh):
    t0 = newest(fresh, "/sync/objects")
    s0 = newest(fresh, "/sync/spectra")
    for _ in range(2):  # the second is answered from what the first kept
        objs = api_get(fresh, "/sync/objects", updated_since=t0).json()
        spectra = api_get(fresh, "/sync/spectra", updated_since=s0).json()
        assert objs["data"] == [] and objs["total_accessible_count"] == 6
        assert spectra["data"] == [] and spectra["pagination"]["total"] == 0
    fields = api_get(fresh, "/metadata").json()["observations"]
    comments = api_get(fresh, "/sync/comments").json()["pagination"]["total"]
    # another process (its own Archive, its own connections) removes a target and a file
    obs = fresh.products / "ALPHA-UDS" / "alpha_uds_p1"
    (obs / "alpha_uds_p1_g395m_f290lp_1_spec.fits").unlink()
    for p in obs.glob("alpha_uds_p1_*_4_*.fits"):
        p.unlink()
    targets = Table.read(obs / "targets.ecsv")
    targets[targets["source_id"] != 4].write(obs / "targets.ecsv", overwrite=True)
    assert deploy_products(fresh.products / "ALPHA-UDS", fresh.archive_dir).deleted == 2
    objs = api_get(fresh, "/sync/objects", updated_since=t0).json()
    assert objs["total_accessible_count"] == 5  # was kept as 6
    assert objs["pagination"]["total"] == len(objs["data"]) >= 1
    spectra = api_get(fresh, "/sync/spectra", updated_since=s0, include_deleted="true").json()
    assert spectra["deleted"] == ["alpha_uds_p1_g395m_f290lp_1", "alpha_uds_p1_prism_clear_4"]
    assert api_get(fresh, "/metadata").json()["observations"] == fields
    # a comment written through a second server on the same database
    with running_server(fresh.archive_dir) as other:
        other.keys = fresh.keys
        r = api_call(other, "POST", f"/objects/{ALPHA2}/comments", "full", {"body": "seen?"})
        assert r.status_code == 201
    assert api_get(fresh, "/sync/comments").json()["pagination"]["total"] == comments + 1


def test_lists_answer_follows_a_membership_change(fresh):
    before = api_get(fresh, "/sync/lists").json()["data"]
    assert api_get(fresh, "/sync/lists").json()["data"] == before  # kept
    slug = "kept-test"
    r = api_call(fresh, "POST", "/lists", "full", {"slug": slug, "name": "Kept test"})
    assert r.status_code == 201, r.text
    r = api_call(fresh, "POST", f"/lists/{slug}/members", "full", {"object_ids": [ALPHA2]})
    assert r.status_code in (200, 201), r.text
    after = {d["slug"]: d for d in api_get(fresh, "/sync/lists").json()["data"]}
    assert after[slug]["object_ids"] == [ALPHA2]


def test_bump_is_portable_sql(tmp_path):
    db = Database(tmp_path / "archive.db")
    try:
        assert db.generation() == 0
        for _ in range(3):
            with db.transaction() as conn:
                Database.bump_generation(conn)
        assert db.generation() == 3
        try:
            with db.transaction() as conn:
                Database.bump_generation(conn)
                raise RuntimeError("rolled back")
        except RuntimeError:
            pass
        assert db.generation() == 3  # the bump belongs to the write's transaction
    finally:
        db.close()


def test_kept_answers_are_bounded_in_count_and_text():
    from campfire.server.catalog.kept import KeptAnswers

    kept = KeptAnswers(size=3, chars=10)
    for i in range(5):
        kept.put(1, i, i)
    assert [kept.peek(1, i) for i in range(5)] == [None, None, 2, 3, 4]
    kept.put(1, "big", "x" * 8)
    kept.put(1, "bigger", "y" * 8)  # 16 characters: the older text goes
    assert kept.peek(1, "big") is None and kept.peek(1, "bigger") == "y" * 8
    assert kept.peek(2, "bigger") is None  # another generation: not kept
