"""The outbox survives SIGKILL and outages, and every accepted write reaches the archive once.

Writes are made by a real ``python`` subprocess killed with SIGKILL: while the archive holds
its request (the fault switch's ``stall``, before the archive applies it or after, before the
answer is sent back), and at arbitrary moments of a run of offline writes. Outages are the
fault switch's ``status: 503`` and ``drop`` (the answer lost after the write was applied).
"Once" is checked against the archive's own audit log, read as the admin with ``requests``.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import requests
from demo_clients import user_client

REPO = Path(__file__).resolve().parents[2]

CHILD = textwrap.dedent(
    """
    import sys
    from campfire import Campfire

    cf = Campfire(base_url=sys.argv[1], data_dir=sys.argv[2])
    for oid in sys.argv[3:]:
        print("saving", oid, flush=True)
        cf.inspect(oid, redshift=4.2, quality=4)
        print("accepted", oid, flush=True)
    """
)


@pytest.fixture(scope="module")
def objects(alice_objects):
    return alice_objects


def audit(srv, object_id):
    key = srv.user("alice@campfire.demo")["api_key"]
    rows = requests.get(
        srv.base_url + "/audit",
        params={"object_id": object_id, "limit": 500},
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    ).json()["data"]
    return [r for r in rows if r["action"] == "inspect"]


def start_child(srv, data_dir: Path, ids: list[str], offline: bool = False) -> subprocess.Popen:
    env = {
        **os.environ,
        "CAMPFIRE_API_KEY": srv.user("alice@campfire.demo")["api_key"],
        "CAMPFIRE_OFFLINE": "1" if offline else "",
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, srv.base_url, str(data_dir), *ids],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )


def wait_for(predicate, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def kill(child: subprocess.Popen) -> list[str]:
    child.send_signal(signal.SIGKILL)
    out, _ = child.communicate(timeout=30)
    assert child.returncode == -signal.SIGKILL
    return out.splitlines()


@pytest.mark.parametrize(
    ("where", "rule"),
    [
        ("before the archive applies it", {"kind": "stall", "stall_seconds": 2}),
        ("after it applied, before the answer", {"kind": "drop_late", "stall_seconds": 30}),
    ],
)
def test_sigkill_while_the_archive_holds_the_request(srv, objects, tmp_path, where, rule):
    oid = objects[0 if "before" in where else 1]
    synced = user_client(srv, "alice", tmp_path / "d")
    synced.sync()
    before = len(audit(srv, oid))
    kind = rule["kind"]
    srv.set_faults(
        [
            {
                "path": f"/objects/{oid}/inspection",
                "kind": "stall",
                "stall_seconds": rule["stall_seconds"],
                **({"after_bytes": 1} if kind == "drop_late" else {}),
            }
        ]
    )
    child = start_child(srv, tmp_path / "d", [oid])
    wait_for(lambda: srv.faults()[0]["hits"] == 1)  # the request is at the archive
    if kind == "drop_late":  # the archive has applied it and holds the answer
        wait_for(lambda: len(audit(srv, oid)) == before + 1)
    lines = kill(child)
    assert lines == [f"saving {oid}"]  # killed inside cf.inspect, after it saved locally
    srv.clear_faults()
    cf = user_client(srv, "alice", tmp_path / "d")
    assert [(e.kind, e.target, e.state) for e in cf.outbox] == [("inspect", oid, "pending")]
    assert cf.get_object(oid).redshift_quality == 4  # accepted: the catalog shows it
    time.sleep(rule["stall_seconds"] if kind == "stall" else 0)  # let a held request finish
    result = cf.sync()
    assert result["pushed"] == 1 and len(cf.outbox) == 0 and result["conflicts"] == []
    assert len(audit(srv, oid)) == before + 1  # applied exactly once
    assert cf.get_object(oid).redshift_quality == 4


def test_sigkill_at_any_moment_of_offline_writes(srv, objects, tmp_path):
    ids = objects[2:40]
    user_client(srv, "alice", tmp_path / "d").sync()
    before = {oid: len(audit(srv, oid)) for oid in ids}
    accepted: list[str] = []
    for delay in (0.0, 0.03, 0.1):  # three runs, each killed somewhere in its writes
        todo = [o for o in ids if o not in accepted]
        child = start_child(srv, tmp_path / "d", todo, offline=True)
        assert child.stdout is not None and child.stdout.readline().startswith("saving")
        time.sleep(delay)
        accepted += [line.split()[1] for line in kill(child) if line.startswith("accepted")]
        # the catalog is whole, and every write it shows is one the outbox holds
        con = sqlite3.connect(tmp_path / "d" / "meta" / "campfire.db")
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        queued = [r[0] for r in con.execute("SELECT target FROM outbox ORDER BY seq")]
        shown = {
            r[0]
            for r in con.execute(
                "SELECT object_id FROM objects WHERE redshift_inspected = 4.2 "
                "AND redshift_quality = 4"
            )
            if r[0] in ids
        }
        con.close()
        assert set(accepted) <= set(queued)  # no accepted write lost
        assert shown == set(queued) and len(queued) == len(set(queued))
        accepted = queued  # a write killed after its commit, before its print, counts too
    assert accepted, "no write was accepted before the kills"
    result = user_client(srv, "alice", tmp_path / "d").sync()
    assert result["pushed"] == len(accepted) and result["outbox_pending"] == 0
    for oid in ids:
        assert len(audit(srv, oid)) == before[oid] + (oid in accepted)


def test_an_outage_queues_writes_and_sync_pushes_them_once(srv, objects, tmp_path):
    oid = objects[45]
    cf = user_client(srv, "alice", tmp_path / "d")
    cf.sync()
    before = len(audit(srv, oid))
    srv.set_faults([{"path": "/objects/", "kind": "status", "status": 503, "times": -1}])
    obj = cf.inspect(oid, redshift=1.5, quality=3)  # saved; the archive is down: queued
    assert obj.redshift_quality == 3 and [e.state for e in cf.outbox] == ["pending"]
    result = cf.sync()  # still down for writes: the pull goes on, the write waits
    assert result["pushed"] == 0 and result["outbox_pending"] == 1 and result["push_error"]
    assert cf.get_object(oid).redshift_quality == 3  # the pull did not hide it
    srv.clear_faults()
    result = cf.sync()
    assert result["pushed"] == 1 and result["outbox_pending"] == 0
    assert len(audit(srv, oid)) == before + 1


def test_an_answer_lost_after_the_write_applied_is_not_applied_twice(srv, objects, tmp_path):
    oid = objects[46]
    cf = user_client(srv, "alice", tmp_path / "d")
    cf.sync()
    before = len(audit(srv, oid))
    srv.set_faults([{"path": f"/objects/{oid}/inspection", "kind": "drop", "after_bytes": 1}])
    cf.inspect(oid, quality=2)  # the connection breaks after the archive applied it
    assert len(audit(srv, oid)) == before + 1 and len(cf.outbox) == 1
    result = cf.sync()  # the same key again: the archive replays its answer
    assert result["pushed"] == 1 and result["conflicts"] == [] and len(cf.outbox) == 0
    assert len(audit(srv, oid)) == before + 1
    assert cf.get_object(oid).redshift_quality == 2
