"""The outbox pushes queued inspections in batches (``POST /inspections/batch``) when the
archive announces ``inspections-batch``, and one by one when it does not.

Over the real server: queued offline writes on many objects (two of one object, one conflicting
with a write made meanwhile, a comment between them) reach the archive exactly as they would
one by one, each applied once (the admin's audit log), an item's conflict failing only itself;
a 503 or a dropped answer to a batch leaves the writes queued and the next sync sends them
once. What was sent is read from the server's access log.
"""

from __future__ import annotations

import logging
import time

import pytest
from demo_clients import user_client


def archive(srv, who="alice"):
    import requests

    r = requests.get(srv.base_url + "/sync/objects", params={"limit": 10000},
                     headers=srv.auth_headers(f"{who}@campfire.demo"), timeout=30)  # fmt: skip
    return {o["object_id"]: o for o in r.json()["data"]}


def inspections_in_audit(srv, object_id):
    import requests

    r = requests.get(srv.base_url + "/audit", params={"object_id": object_id, "limit": 500},
                     headers=srv.auth_headers("alice@campfire.demo"), timeout=30)  # fmt: skip
    return [a for a in r.json()["data"] if a["action"] == "inspect"]


def logged(caplog, route, timeout=30.0):
    """Wait until the server has logged a request to ``route`` (it logs after the last byte,
    so on a busy machine a record can arrive after the client has its answer).
    """
    deadline = time.monotonic() + timeout
    while route not in routes(caplog, settle=0.05):
        assert time.monotonic() < deadline, f"the server never logged {route}"


def routes(caplog, settle=0.2):
    time.sleep(settle)  # the server thread logs after the last byte
    return [rec.access["route"].removeprefix("/api/v1") for rec in caplog.records
            if hasattr(rec, "access")]  # fmt: skip


def test_queued_inspections_go_in_one_batch_and_conflicts_fail_only_themselves(
    srv, alice_objects, tmp_path, caplog
):
    mine = alice_objects[:12]
    user_client(srv, "alice", tmp_path / "a").sync()
    off = user_client(srv, "alice", tmp_path / "a", offline=True)
    for n, oid in enumerate(mine):
        off.inspect(oid, redshift=1.0 + n / 10, quality=4)
    off.comment(mine[0], "batched")
    off.inspect(mine[1], quality=2)  # a second write of one object, after the comment
    user_client(srv, "alice", tmp_path / "b").sync()
    other = user_client(srv, "alice", tmp_path / "b")
    on = user_client(srv, "alice", tmp_path / "a")
    with caplog.at_level(logging.INFO, logger="campfire.server.access"):
        other.inspect(mine[5], quality=1)  # meanwhile, elsewhere: mine[5] will conflict
        logged(caplog, "/objects/{object_id}/inspection")  # not in the window below
        caplog.clear()
        result = on.sync()
    sent = routes(caplog)
    assert sent.count("/inspections/batch") == 1  # the 12 first inspections
    assert sent.count("/objects/{object_id}/inspection") == 1  # mine[1] again, rebased
    assert sent.count("/objects/{object_id}/comments") == 1
    assert result["pushed"] == 13 and result["outbox_pending"] == 0
    assert [c["target"] for c in result["conflicts"]] == [mine[5]]
    rows = archive(srv)
    for n, oid in enumerate(mine):
        if oid == mine[5]:
            assert rows[oid]["redshift_quality"] == 1  # theirs, not overwritten
            continue
        assert rows[oid]["redshift_inspected"] == pytest.approx(1.0 + n / 10)
        assert rows[oid]["redshift_quality"] == (2 if oid == mine[1] else 4)
        assert len(inspections_in_audit(srv, oid)) == (2 if oid == mine[1] else 1)
    local = on.sql(f"SELECT redshift_quality, version FROM objects WHERE object_id = '{mine[1]}'")
    assert (local["redshift_quality"][0], local["version"][0]) == (2, rows[mine[1]]["version"])


@pytest.mark.parametrize("kind", ["status", "drop"])
def test_an_outage_or_a_lost_answer_sends_each_write_once(srv, alice_objects, tmp_path, kind):
    mine = alice_objects[12:16] if kind == "status" else alice_objects[16:20]
    user_client(srv, "alice", tmp_path / "a").sync()
    off = user_client(srv, "alice", tmp_path / "a", offline=True)
    for oid in mine:
        off.inspect(oid, quality=3)
    srv.set_faults([{"path": "/inspections/batch", "kind": kind, "status": 503, "times": -1}])
    on = user_client(srv, "alice", tmp_path / "a")
    first = on.sync()
    assert first["pushed"] == 0 and first["outbox_pending"] == 4 and first["push_error"]
    srv.clear_faults()
    second = user_client(srv, "alice", tmp_path / "a").sync()
    assert second["pushed"] == 4 and second["outbox_pending"] == 0
    for oid in mine:
        assert archive(srv)[oid]["redshift_quality"] == 3
        assert len(inspections_in_audit(srv, oid)) == 1  # a lost answer was replayed, not redone


def test_without_the_extension_the_writes_go_one_by_one(srv, alice_objects, tmp_path, caplog):
    import requests

    mine = alice_objects[20:23]
    user_client(srv, "alice", tmp_path / "a").sync()
    off = user_client(srv, "alice", tmp_path / "a", offline=True)
    for oid in mine:
        off.inspect(oid, quality=2)
    version = requests.get(srv.base_url + "/version", timeout=10).json()
    version["extensions"].remove("inspections-batch")
    srv.set_faults([{"path": "/version", "kind": "body", "status": 200, "body": version,
                     "times": -1}])  # fmt: skip
    with caplog.at_level(logging.INFO, logger="campfire.server.access"):
        result = user_client(srv, "alice", tmp_path / "a").sync()
    sent = routes(caplog)
    assert "/inspections/batch" not in sent
    assert sent.count("/objects/{object_id}/inspection") == 3
    assert result["pushed"] == 3
    assert all(archive(srv)[oid]["redshift_quality"] == 2 for oid in mine)


def test_a_forced_write_in_a_batch_is_made_again_on_the_current_version(
    srv, alice_objects, tmp_path
):
    forced, plain = alice_objects[23:25]
    user_client(srv, "alice", tmp_path / "a").sync()
    off = user_client(srv, "alice", tmp_path / "a", offline=True)
    off.inspect(forced, quality=4, force=True)
    off.inspect(plain, quality=4)
    user_client(srv, "alice", tmp_path / "b").sync()
    user_client(srv, "alice", tmp_path / "b").inspect(forced, quality=1)  # meanwhile
    result = user_client(srv, "alice", tmp_path / "a").sync()
    assert result["pushed"] == 2 and result["conflicts"] == [] and result["outbox_pending"] == 0
    rows = archive(srv)
    assert rows[forced]["redshift_quality"] == 4 and rows[plain]["redshift_quality"] == 4
    assert len(inspections_in_audit(srv, forced)) == 2  # theirs, then mine on top
