"""What a sync asks the archive, counted in the server's access log, and ``cf.me``.

A sync with nothing new makes no ``whoami`` (the login is the one it recorded) and no
``/sync/comments`` (the archive announces ``comments-touch-objects`` and no object moved);
it makes both when they can have changed: another login, another user's comment, an archive
that does not touch objects. ``cf.me`` answers from the catalog's record offline.
"""

from __future__ import annotations

import logging
import time

import pytest
import requests
from demo_clients import user_client

from campfire.client.me import User

# a no-op sync's requests besides GET /version: before this change, and now
NOOP_BEFORE = ["/auth/whoami", "/metadata", "/sync/comments", "/sync/lists", "/sync/objects",
               "/sync/photometry", "/sync/spectra"]  # fmt: skip
NOOP_AFTER = ["/metadata", "/sync/lists", "/sync/objects", "/sync/photometry", "/sync/spectra"]


def sync_routes(caplog, cf):
    """The routes one ``cf.sync()`` asked for (sorted; ``/version`` apart), and its result."""
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="campfire.server.access"):
        result = cf.sync()
        time.sleep(0.2)  # the server thread logs after the last byte
    # the test's own fault-switch calls are logged late and may land in this window
    routes = [r.access["route"].removeprefix("/api/v1") for r in caplog.records
              if hasattr(r, "access") and "/_test/" not in r.access["route"]]  # fmt: skip
    assert routes.count("/version") + routes.count("-") <= 1  # "-": the fault switch answered
    return sorted(r for r in routes if r not in ("/version", "-")), result


def hide(srv, extension):
    body = requests.get(srv.base_url + "/version", timeout=10).json()
    body["extensions"].remove(extension)
    srv.set_faults([{"path": "/version", "kind": "body", "status": 200, "body": body,
                     "times": -1}])  # fmt: skip


def test_a_no_op_sync_asks_neither_whoami_nor_comments(srv, tmp_path, caplog):
    data = tmp_path / "a"
    user_client(srv, "alice", data).sync()
    hide(srv, "comments-touch-objects")  # what every sync asked before
    first, _ = sync_routes(caplog, user_client(srv, "alice", data))
    srv.clear_faults()
    user_client(srv, "alice", data).sync()  # the comments mark recorded
    routes, result = sync_routes(caplog, user_client(srv, "alice", data))
    assert first == [r for r in NOOP_BEFORE if r != "/auth/whoami"]
    assert routes == NOOP_AFTER  # two requests fewer than before (whoami, /sync/comments)
    assert result["objects_updated"] == 0


def test_a_comment_elsewhere_is_pulled_and_a_new_login_asks_whoami(srv, ids, tmp_path, caplog):
    data = tmp_path / "b"
    user_client(srv, "alice", data).sync()
    user_client(srv, "alice", data).sync()
    other = user_client(srv, "alice", tmp_path / "other")
    other.sync()
    other.comment(ids[0], "seen from elsewhere")
    routes, _ = sync_routes(caplog, user_client(srv, "alice", data))
    assert "/sync/comments" in routes and "/auth/whoami" not in routes
    cf = user_client(srv, "alice", data, offline=True)
    assert "seen from elsewhere" in [c.body for c in cf.get_comments(ids[0])]
    # a comment deleted elsewhere goes too
    key = srv.user("alice@campfire.demo")["api_key"]
    mine = [c for c in other.get_comments(ids[0], remote=True) if c.body == "seen from elsewhere"]
    r = requests.delete(f"{srv.base_url}/comments/{mine[0].id}", timeout=10,
                        headers={"Authorization": f"Bearer {key}"})  # fmt: skip
    assert r.status_code == 204
    routes, _ = sync_routes(caplog, user_client(srv, "alice", data))
    assert "/sync/comments" in routes
    gone = user_client(srv, "alice", data, offline=True).get_comments(ids[0])
    assert "seen from elsewhere" not in [c.body for c in gone]
    # another login on this catalog: whoami is asked, and cf.me follows
    routes, _ = sync_routes(caplog, user_client(srv, "bob", data))
    assert "/auth/whoami" in routes
    assert user_client(srv, "bob", data, offline=True).me.email == "bob@campfire.demo"


@pytest.fixture(scope="module")
def ids(inspect_server, tmp_path_factory):
    bob = user_client(inspect_server, "bob", tmp_path_factory.mktemp("requests-bob"))
    bob.sync()
    public = {str(o) for o in bob.sql("SELECT object_id FROM objects")["object_id"]}
    return sorted(public)


def test_me_online_offline_and_unknown(srv, tmp_path, caplog):
    data = tmp_path / "c"
    fresh = user_client(srv, "alice", data)
    who = requests.get(srv.base_url + "/auth/whoami", timeout=10,
                       headers=srv.auth_headers("alice@campfire.demo")).json()  # fmt: skip
    me = fresh.me  # no catalog yet: asked of the archive
    assert isinstance(me, User)
    assert (me.id, me.email, me.can_inspect) == (who["user_id"], who["email"], True)
    assert user_client(srv, "alice", data, offline=True).me is None  # never recorded
    fresh.sync()
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="campfire.server.access"):
        online = user_client(srv, "alice", data).me
        time.sleep(0.2)
    assert not [r for r in caplog.records if hasattr(r, "access")]  # the record answered
    offline = user_client(srv, "alice", data, offline=True).me
    assert online == offline and offline.id == who["user_id"] and offline.checked_at
    assert str(offline).endswith("(may inspect)") and "alice@campfire.demo" in str(offline)
    assert user_client(srv, "alice", data).reader.user()["id"] == who["user_id"]


def test_me_follows_a_revoke_and_a_grant_at_the_next_write(srv, alice_objects, tmp_path):
    """A 403 on an inspection, or an inspection taken while the record says "may not", asks
    ``whoami`` again: ``cf.me.can_inspect`` does not wait a day to follow the archive.
    """
    from campfire.errors import AuthenticationError
    from campfire.server.auth.users import set_can_inspect

    data, email, oid = tmp_path / "d", "alice@campfire.demo", alice_objects[0]
    user_client(srv, "alice", data).sync()
    assert user_client(srv, "alice", data, offline=True).me.can_inspect is True
    archive = srv.app.state.archive
    try:
        assert set_can_inspect(archive, email, False)
        with pytest.raises(AuthenticationError, match="inspect permission"):
            user_client(srv, "alice", data).inspect(oid, quality=3)
        assert user_client(srv, "alice", data, offline=True).me.can_inspect is False
        assert set_can_inspect(archive, email, True)
        user_client(srv, "alice", data).inspect(oid, quality=3)
        assert user_client(srv, "alice", data, offline=True).me.can_inspect is True
    finally:
        set_can_inspect(archive, email, True)
