"""Inspecting over the real server: saves, conflicts between clients and users, access, offline.

The server serves this module's private copy of the tiny demo archive (faults on); each test
writes to objects of its own, so the tests do not depend on each other's writes. What the
archive holds is checked independently of the client: through the archive's own feeds and
the admin's audit log, read with plain ``requests``.
"""

from __future__ import annotations

import pytest
import requests
from demo_clients import user_client

from campfire import ConflictError, NotFoundError
from campfire.errors import ValidationError


def get(srv, route, who="alice", **params):
    key = srv.user(f"{who}@campfire.demo")["api_key"]
    r = requests.get(
        srv.base_url + route, params=params, headers={"Authorization": f"Bearer {key}"}, timeout=30
    )
    r.raise_for_status()
    return r.json()


def archive_object(srv, object_id, who="alice"):
    """The object as the archive's sync feed has it (not through the client)."""
    rows = get(srv, "/sync/objects", who, limit=10000)["data"]
    return next(o for o in rows if o["object_id"] == object_id)


def audit(srv, object_id, action="inspect"):
    rows = get(srv, "/audit", "alice", object_id=object_id, limit=500)["data"]
    return [r for r in rows if r["action"] == action]


@pytest.fixture(scope="module")
def ids(inspect_server, alice_objects, tmp_path_factory):
    """Objects alice sees: ``public`` ones (bob sees them too) and ``private`` ones."""
    bob = user_client(inspect_server, "bob", tmp_path_factory.mktemp("ids-b"))
    bob.sync()
    public = {str(o) for o in bob.sql("SELECT object_id FROM objects")["object_id"]}
    return {
        "public": [o for o in alice_objects if o in public],
        "private": [o for o in alice_objects if o not in public],
    }


@pytest.fixture
def client(srv, tmp_path):
    """A function ``client(who, name, offline=False)``: a demo user's synced client."""

    def make(who="alice", name="a", offline=False, sync=True):
        cf = user_client(srv, who, tmp_path / name)
        if sync:
            cf.sync()
        return user_client(srv, who, tmp_path / name, offline=True) if offline else cf

    return make


def test_inspect_saves_locally_and_on_the_archive(srv, ids, client):
    oid = ids["public"][0]
    cf = client()
    before = archive_object(srv, oid)
    assert len(cf.query_objects(redshift_quality=[4], search=oid)) == 0  # the tables are loaded
    obj = cf.inspect(oid, redshift=2.345, quality="secure", comment="Ha and [NII] resolved")
    assert (obj.redshift_inspected, obj.redshift_quality) == (2.345, 4)
    # the query tables show it (updated in place, not reloaded) ...
    hit = cf.query_objects(redshift_quality=[4], search=oid)
    assert list(hit["object_id"]) == [oid] and hit["redshift"][0] == pytest.approx(2.345)
    assert cf.sql(f"SELECT version FROM objects WHERE object_id = '{oid}'")["version"][0] == (
        before["version"] + 1
    )
    version = cf.reader.catalog.versions()[0]  # a reload would have written its snapshot
    assert not list((cf.data_dir / "meta" / "snapshot").glob(f"meta-c{version}.*"))
    # ... the archive has it, once, as alice
    row = archive_object(srv, oid, "bob")
    assert (row["redshift_inspected"], row["redshift_quality"]) == (2.345, 4)
    assert row["version"] == before["version"] + 1
    assert row["last_inspected_by_name"] == "Alice Admin"
    assert len(audit(srv, oid)) == 1
    assert len(cf.outbox) == 0
    # the comment is there, with its author and time, locally and remotely
    local = cf.get_comments(oid)
    assert [c.body for c in local] == ["Ha and [NII] resolved"]
    assert local[0].user_name == "Alice Admin" and not local[0].pending
    assert "Alice Admin" in str(local) and "Ha and [NII] resolved" in str(local)
    assert [c.id for c in cf.get_comments(oid, remote=True)] == [local[0].id]


def test_quality_names_target_ids_and_bad_values(srv, ids, client):
    cf = client()
    oid = ids["public"][1]
    target = str(cf.get_object(oid).spectra[0].target_id)
    obj = cf.inspect(target, quality="bad")  # a target id names its sky object
    assert obj.object_id == oid and obj.redshift_quality == 1 and obj.redshift is None
    for bad in ({"redshift": 31}, {"redshift": float("nan")}, {"quality": "superb"}, {}):
        with pytest.raises(ValidationError):
            cf.inspect(oid, **bad)
    with pytest.raises(NotFoundError, match="no object"):
        cf.inspect("J000000.00+000000.0", quality=3)
    assert len(cf.outbox) == 0


def test_two_clients_of_one_user_and_a_second_user(srv, ids, client):
    oid = ids["public"][2]
    a, b, carol = client("alice", "a"), client("alice", "b"), client("carol", "c")
    a.inspect(oid, redshift=3.1, quality="probable")
    # b's copy is stale: the archive keeps a's value and b is told who, when and what
    with pytest.raises(ConflictError) as err:
        b.inspect(oid, redshift=3.3, quality="secure")
    e = err.value
    assert (e.current_redshift, e.current_quality, e.changed_by) == (3.1, 3, "Alice Admin")
    assert e.changed_at and e.target == oid and e.mine["redshift_inspected"] == 3.3
    assert "Alice Admin" in str(e) and "3.1" in str(e) and "force=True" in str(e)
    assert [x.state for x in b.outbox] == ["conflict"]
    assert b.get_object(oid).redshift_inspected == 3.1  # b's catalog shows theirs meanwhile
    assert archive_object(srv, oid)["redshift_inspected"] == 3.1
    # b keeps its own value on top of a's
    obj = b.resolve_conflict(oid, keep="mine")
    assert (obj.redshift_inspected, obj.redshift_quality) == (3.3, 4)
    assert archive_object(srv, oid)["redshift_inspected"] == 3.3 and len(b.outbox) == 0
    # carol (another user) is stale too; force applies hers on the current version
    with pytest.raises(ConflictError, match="Alice Admin"):
        carol.inspect(oid, quality="uncertain")
    obj = carol.inspect(oid, quality="uncertain", force=True)
    assert obj.redshift_quality == 2 and len(carol.outbox) == 0
    row = archive_object(srv, oid)
    assert (row["redshift_inspected"], row["redshift_quality"]) == (3.3, 2)
    assert row["last_inspected_by_name"] == "Carol Rubies"
    assert len(audit(srv, oid)) == 3  # a, b (mine), carol (forced): nothing twice
    # a sees everything after a sync
    a.sync()
    assert a.get_object(oid).redshift_quality == 2


def test_keep_theirs_drops_mine(srv, ids, client):
    oid = ids["public"][3]
    a, b = client("alice", "a"), client("alice", "b")
    a.inspect(oid, quality=3)
    with pytest.raises(ConflictError):
        b.inspect(oid, quality=1)
    obj = b.resolve_conflict(oid, keep="theirs")
    assert obj.redshift_quality == 3 and len(b.outbox) == 0
    assert archive_object(srv, oid)["redshift_quality"] == 3
    with pytest.raises(NotFoundError, match="no conflict"):
        b.resolve_conflict(oid)


def test_offline_writes_are_visible_at_once_and_pushed_by_sync(srv, ids, client):
    oid = ids["private"][0]
    comments_before = len(audit(srv, oid, "comment.create"))
    off = client("alice", "a", offline=True)
    obj = off.inspect(oid, redshift=5.5, quality=4, comment="offline, on a train")
    assert obj.redshift_quality == 4
    assert oid in list(off.query_objects(redshift_quality=["secure"])["object_id"])
    queued = [(x.kind, x.state) for x in off.outbox]
    assert queued == [("inspect", "pending"), ("comment", "pending")]
    mine = "offline, on a train"
    assert [c.pending for c in off.get_comments(oid) if c.body == mine] == [True]
    assert archive_object(srv, oid)["redshift_quality"] == 0  # not sent
    on = client("alice", "a", sync=False)
    result = on.sync()
    assert result["pushed"] == 2 and result["outbox_pending"] == 0 and result["conflicts"] == []
    row = archive_object(srv, oid)
    assert (row["redshift_inspected"], row["redshift_quality"]) == (5.5, 4)
    assert [c.pending for c in on.get_comments(oid) if c.body == mine] == [False]
    assert len(audit(srv, oid, "comment.create")) == comments_before + 1


def test_conflict_found_at_sync_is_kept_and_reported(srv, ids, client):
    oid = ids["private"][1]
    off = client("alice", "a", offline=True)
    off.inspect(oid, quality=4)
    client("alice", "other").inspect(oid, quality=2)  # meanwhile, elsewhere
    result = client("alice", "a", sync=False).sync()
    assert result["pushed"] == 0 and len(result["conflicts"]) == 1
    c = result["conflicts"][0]
    assert c["target"] == oid and c["mine"]["redshift_quality"] == 4
    assert c["theirs"]["redshift_quality"] == 2 and c["theirs"]["by"]
    assert archive_object(srv, oid)["redshift_quality"] == 2  # theirs not overwritten


def test_clear_redshift_goes_through_the_outbox_and_the_archive(srv, ids, client):
    oid = ids["private"][-1]
    cf = client("alice", "a")
    cf.inspect(oid, redshift=6.1, quality=3)
    assert archive_object(srv, oid)["redshift_inspected"] == 6.1
    off = client("alice", "a", offline=True)
    obj = off.inspect(oid, clear_redshift=True)
    assert obj.redshift_inspected is None and obj.redshift == obj.redshift_auto
    assert obj.redshift_quality == 3  # left as it was
    assert [e.payload.get("redshift_inspected", "absent") for e in off.outbox] == [None]
    assert archive_object(srv, oid)["redshift_inspected"] == 6.1  # queued
    result = client("alice", "a", sync=False).sync()
    assert result["pushed"] == 1
    row = archive_object(srv, oid)
    assert (row["redshift_inspected"], row["redshift_quality"]) == (None, 3)
    assert row["redshift"] == row["redshift_auto"]
    assert audit(srv, oid)[0]["new"]["redshift_inspected"] is None
    with pytest.raises(ValidationError, match="not both"):
        cf.inspect(oid, redshift=2.0, clear_redshift=True)
    with pytest.raises(ValidationError, match="clear_redshift"):
        cf.inspect(oid)
