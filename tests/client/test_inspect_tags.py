"""Tags, DQ flags and who may see and write what, over the real server.

The public-only demo user (bob) can neither read comments on private objects nor write to them,
and never sees another user's private tag; what the archive holds is read with plain
``requests`` as the admin, not through the client under test.
"""

from __future__ import annotations

import shutil

import pytest
import requests
from demo_clients import user_client

from campfire import NotFoundError, ValidationError
from campfire.flags import DQFlags


@pytest.fixture(scope="module")
def srv(copy_tiny_archive, tmp_path_factory):
    from campfire.server.testing import running_server

    served = copy_tiny_archive(tmp_path_factory.mktemp("tags-served") / "archive")
    with running_server(served, faults=True) as server:
        yield server


def get(srv, route, who="alice", **params):
    key = srv.user(f"{who}@campfire.demo")["api_key"]
    headers = {"Authorization": f"Bearer {key}"}
    return requests.get(srv.base_url + route, params=params, headers=headers, timeout=30)


@pytest.fixture(scope="module")
def synced(srv, tmp_path_factory):
    """Alice's and bob's synced catalogs, and the objects only alice sees."""
    root = tmp_path_factory.mktemp("tags-clients")
    alice, bob = user_client(srv, "alice", root / "a"), user_client(srv, "bob", root / "b")
    alice.sync()
    bob.sync()
    public = set(bob.sql("SELECT object_id FROM objects")["object_id"])
    mine = sorted(alice.sql("SELECT object_id FROM objects")["object_id"])
    return (
        alice,
        bob,
        [str(o) for o in mine if o in public],
        [str(o) for o in mine if o not in public],
    )


def test_private_tag_is_alices_alone(srv, synced):
    alice, bob, public, _ = synced
    row = alice.create_tag("alice-lrds", name="Alice's LRDs")
    assert (row["visibility"], row["name"]) == ("private", "Alice's LRDs")
    assert alice.tag(public[:3], "alice-lrds") == 3
    assert alice.tag(public[:2], "alice-lrds") == 0  # already in it
    assert alice.untag(public[2], "alice-lrds") == 1
    # alice's queries and SQL see it at once
    assert sorted(alice.query_objects(tags=["alice-lrds"])["object_id"]) == public[:2]
    n = alice.sql("SELECT member_count FROM object_lists WHERE slug = 'alice-lrds'")
    assert list(n["member_count"]) == [2]
    # the archive has it (as alice sees it), bob does not, even by name
    lists = {x["slug"]: x for x in get(srv, "/sync/lists", "alice").json()["data"]}
    assert sorted(lists["alice-lrds"]["object_ids"]) == public[:2]
    assert "alice-lrds" not in {x["slug"] for x in get(srv, "/sync/lists", "bob").json()["data"]}
    bob.sync()
    assert "alice-lrds" not in list(bob.get_tags()["slug"])
    with pytest.raises(ValidationError, match="unknown tag 'alice-lrds'"):
        bob.query_objects(remote=True, tags=["alice-lrds"])
    assert all("alice-lrds" not in t for t in bob.sql("SELECT tags FROM objects")["tags"])


def test_public_tag_reaches_other_users_and_untagging_too(srv, synced, tmp_path):
    alice, bob, public, _ = synced
    alice.create_tag("shared-review", visibility="public_edit")
    alice.tag(public[:2], "shared-review")
    bob.sync()
    assert sorted(bob.query_objects(tags=["shared-review"])["object_id"]) == public[:2]
    bob.untag(public[0], "shared-review")  # public_edit: anyone who may inspect
    alice.sync()
    assert list(alice.query_objects(tags=["shared-review"])["object_id"]) == public[1:2]


def test_dq_flags_from_names_and_expressions(srv, synced):
    alice, _, public, _ = synced
    sid = str(alice.get_object(public[3]).spectra[0].spectrum_id)
    row = alice.set_dq_flags(sid, DQFlags.CONTAMINATION | DQFlags.LOW_SNR)
    assert row["dq_flags"] == 34 and row["version"] == 2
    assert alice.set_dq_flags(sid, ["chip_gap"])["dq_flags"] == 1
    flagged = alice.query_spectra(dq_flags=DQFlags.CHIP_GAP)
    assert sid in list(flagged["spectrum_id"])
    remote = get(srv, "/sync/spectra", "alice", limit=10000).json()["data"]
    assert next(s for s in remote if s["spectrum_id"] == sid)["dq_flags"] == 1
    with pytest.raises(Exception, match="~"):
        alice.set_dq_flags(sid, ~DQFlags.LOW_SNR)


def test_public_user_cannot_read_or_write_private_objects(srv, synced, tmp_path):
    alice, bob, _, private = synced
    oid = private[0]
    before = [a["id"] for a in get(srv, "/audit", "alice", object_id=oid).json()["data"]]
    alice.comment(oid, "private note on a private object")
    # bob's catalog has no such object, and the archive does not show it to him either
    with pytest.raises(NotFoundError):
        bob.get_comments(oid)
    with pytest.raises(NotFoundError):
        bob.get_comments(oid, remote=True)
    with pytest.raises(NotFoundError):
        bob.comment(oid, "let me in")
    assert get(srv, f"/objects/{oid}/comments", "bob").status_code == 404
    assert all(c["object_id"] != oid for c in get(srv, "/sync/comments", "bob").json()["data"])
    # even with a catalog that names it (alice's, copied), the archive refuses bob's writes:
    # he is told, the local change is undone and nothing waits in the outbox
    shutil.copytree(alice.data_dir / "meta", tmp_path / "stolen" / "meta")
    thief = user_client(srv, "bob", tmp_path / "stolen")
    with pytest.raises(NotFoundError, match="refused"):
        thief.inspect(oid, quality=4)
    assert thief.get_object(oid).redshift_quality == alice.get_object(oid).redshift_quality
    with pytest.raises(NotFoundError):
        thief.comment(oid, "sneaky")
    bodies = [c.body for c in thief.get_comments(oid)]
    assert "private note on a private object" in bodies and "sneaky" not in bodies
    assert len(thief.outbox) == 0
    audit = get(srv, "/audit", "alice", object_id=oid).json()["data"]
    assert [a["action"] for a in audit if a["id"] not in before] == ["comment.create"]


def test_an_archive_without_the_extension_keeps_writes_waiting(srv, synced, tmp_path):
    _, _, public, _ = synced
    oid = public[4]
    cf = user_client(srv, "alice", tmp_path / "plain")
    cf.api.plain = True  # speak the plain contract, as to the upstream archive
    assert not cf.api.server_info(refresh=True).has("inspections")
    first = cf.sync()
    assert first["pushed"] == 0 and first["outbox_pending"] == 0 and first["conflicts"] == []
    assert len(cf.sql("SELECT * FROM comments")) == 0  # no comments feed to read
    before = get(srv, "/sync/objects", "alice", limit=10000).json()["data"]
    q = 2 if next(o for o in before if o["object_id"] == oid)["redshift_quality"] == 3 else 3
    obj = cf.inspect(oid, quality=q)  # saved here; the archive takes no writes
    assert obj.redshift_quality == q and [e.state for e in cf.outbox] == ["pending"]
    again = cf.sync()
    assert again["outbox_pending"] == 1 and "does not accept inspections" in again["push_error"]
    assert cf.get_object(oid).redshift_quality == q  # the pull keeps the waiting write on top
    assert get(srv, "/sync/objects", "alice", limit=10000).json()["data"] == before
