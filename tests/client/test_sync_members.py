"""Tag memberships from ``/sync/lists``: rebuilt when the answer or the catalog moved, left as
they are by a sync that changed nothing (the rebuild was most of a no-op sync's time, #16).

The rebuild is observed by wrapping ``feeds.replace_members`` with a counter that calls the
real function; what the memberships are is read from the catalog and compared with what the
archive's ``/sync/lists`` says, fetched with plain ``requests``.
"""

from __future__ import annotations

import pytest
import requests
from demo_clients import user_client

from campfire.catalog import feeds


@pytest.fixture(scope="module")
def srv(copy_tiny_archive, tmp_path_factory):
    from campfire.server.testing import running_server

    served = copy_tiny_archive(tmp_path_factory.mktemp("members-served") / "archive")
    with running_server(served) as server:
        yield server


@pytest.fixture
def rebuilds(monkeypatch):
    calls: list[int] = []
    real = feeds.replace_members

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(feeds, "replace_members", counted)
    return calls


def members(cf, slug):
    rows = cf.sql(f"SELECT object_id FROM object_list_memberships WHERE list_slug = '{slug}'")
    return sorted(str(o) for o in rows["object_id"])


def archive_members(srv, who, slug):
    key = srv.user(f"{who}@campfire.demo")["api_key"]
    body = requests.get(srv.base_url + "/sync/lists", timeout=30,
                        headers={"Authorization": f"Bearer {key}"}).json()  # fmt: skip
    return sorted(next(x for x in body["data"] if x["slug"] == slug)["object_ids"])


def test_a_no_op_sync_skips_the_rebuild_and_a_moved_tag_is_pulled(srv, tmp_path, rebuilds):
    alice, bob = user_client(srv, "alice", tmp_path / "a"), user_client(srv, "bob", tmp_path / "b")
    alice.sync()
    bob.sync()
    assert len(rebuilds) == 2  # a first sync always rebuilds
    public = sorted(str(o) for o in bob.sql("SELECT object_id FROM objects")["object_id"])
    alice.create_tag("members-review", visibility="public_edit")
    alice.tag(public[:3], "members-review")
    rebuilds.clear()
    bob.sync()  # the archive's lists moved: rebuilt
    assert len(rebuilds) == 1
    assert members(bob, "members-review") == archive_members(srv, "bob", "members-review")
    assert members(bob, "members-review") == public[:3]
    rebuilds.clear()
    version = bob.sync()["catalog_version"]
    again = bob.sync()
    assert rebuilds == []  # nothing moved: the memberships are what a rebuild would make
    assert again["catalog_version"] == version and again["objects_updated"] == 0
    assert members(bob, "members-review") == public[:3]


def test_a_local_write_or_a_change_elsewhere_rebuilds_again(srv, tmp_path, rebuilds):
    alice, bob = user_client(srv, "alice", tmp_path / "a"), user_client(srv, "bob", tmp_path / "b")
    bob.sync()
    public = sorted(str(o) for o in bob.sql("SELECT object_id FROM objects")["object_id"])
    bob.create_tag("members-local", visibility="public_edit")
    bob.tag(public[:2], "members-local")
    rebuilds.clear()
    bob.sync()  # the write moved the catalog version: rebuilt, and the archive agrees
    assert len(rebuilds) == 1
    assert members(bob, "members-local") == archive_members(srv, "bob", "members-local")
    alice.sync()
    alice.untag(public[0], "members-local")
    rebuilds.clear()
    bob.sync()
    bob.sync()
    assert len(rebuilds) == 1  # once for alice's untag, not again for the no-op after it
    assert members(bob, "members-local") == [public[1]]


def test_a_no_op_sync_without_any_comment_asks_no_comments(srv, tmp_path, caplog):
    """With no comment to pull there is no comments cursor; the objects mark still proves
    nothing changed, so a no-op sync skips ``/sync/comments`` as it does when there are some.
    """
    import logging
    import time

    db = srv.app.state.archive.db
    with db.transaction() as conn:  # an archive nobody has commented on yet (the demo has some)
        conn.execute("DELETE FROM comments")
    bob = user_client(srv, "bob", tmp_path / "b")
    bob.sync()
    assert list(bob.sql("SELECT count(*) AS n FROM comments")["n"]) == [0]  # the premise
    bob.sync()
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="campfire.server.access"):
        result = bob.sync()
        time.sleep(0.2)  # the server thread logs after the last byte
    routes = {r.access["route"].removeprefix("/api/v1") for r in caplog.records
              if hasattr(r, "access")}  # fmt: skip
    assert result["objects_updated"] == 0 and "/sync/objects" in routes
    assert "/sync/comments" not in routes
