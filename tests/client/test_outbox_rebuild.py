"""Unsent writes survive a catalog that is rebuilt (another schema version) or set aside as
damaged (``campfire sync --full`` after ``CorruptCatalogError``): they are kept in a side file,
queued again in the new catalog with their keys, and pushed once by the sync.

Real files throughout: a catalog whose ``_meta`` names another schema version, and a catalog
whose ``objects`` table pages are overwritten with garbage (SQLite itself reports the damage).
"Nothing lost" is checked on the archive (its feed and its audit log, read with ``requests``).
"""

from __future__ import annotations

import sqlite3

import pytest
import requests
from click.testing import CliRunner
from demo_clients import user_client

from campfire.catalog import outbox
from campfire.cli import main
from campfire.errors import CorruptCatalogError


def get(srv, route, **params):
    r = requests.get(srv.base_url + route, params=params, timeout=30,
                     headers=srv.auth_headers("alice@campfire.demo"))  # fmt: skip
    r.raise_for_status()
    return r.json()["data"]


def archive(srv):
    return {o["object_id"]: o for o in get(srv, "/sync/objects", limit=10000)}


def actions(srv, oid):
    return sorted(a["action"] for a in get(srv, "/audit", object_id=oid, limit=500))


def queue_offline(srv, data, mine):
    """Offline writes on ``mine``: an inspection each, and a comment on the first."""
    user_client(srv, "alice", data).sync()
    BEFORE.update({oid: actions(srv, oid) for oid in mine})
    off = user_client(srv, "alice", data, offline=True)
    for n, oid in enumerate(mine):
        off.inspect(oid, redshift=2.0 + n / 10, quality=3)
    off.comment(mine[0], "kept across a rebuild")
    assert len(off.outbox) == len(mine) + 1
    db = off.settings.db_path
    with sqlite3.connect(db) as c:  # everything in the main file (the WAL folded in)
        c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return db


BEFORE: dict[str, list[str]] = {}  # the archive's audit actions per object before the writes


def check_pushed_once(srv, mine, data):
    rows = archive(srv)
    for n, oid in enumerate(mine):
        assert rows[oid]["redshift_inspected"] == pytest.approx(2.0 + n / 10)
        assert rows[oid]["redshift_quality"] == 3
        mine_now = ["comment.create", "inspect"] if oid == mine[0] else ["inspect"]
        assert actions(srv, oid) == sorted(BEFORE[oid] + mine_now)  # each applied once
    bodies = [c["body"] for c in get(srv, f"/objects/{mine[0]}/comments")]
    assert bodies.count("kept across a rebuild") == 1
    cf = user_client(srv, "alice", data)
    assert len(cf.outbox) == 0
    local = cf.sql(f"SELECT redshift_quality FROM objects WHERE object_id = '{mine[1]}'")
    assert local["redshift_quality"][0] == 3
    assert not list(cf.settings.db_path.parent.glob("*.outbox-*"))  # the side file is gone


def test_a_catalog_of_another_schema_version_keeps_its_unsent_writes(srv, alice_objects, tmp_path):
    mine = alice_objects[:3]
    db = queue_offline(srv, tmp_path / "a", mine)
    with sqlite3.connect(db) as c:
        c.execute("UPDATE _meta SET value = '3' WHERE key = 'schema_version'")
    result = user_client(srv, "alice", tmp_path / "a").sync()
    assert result["catalog_rebuilt"] and "schema version 3" in result["catalog_rebuilt"]
    assert result["pushed"] == len(mine) + 1 and result["outbox_pending"] == 0
    check_pushed_once(srv, mine, tmp_path / "a")


def _damage_objects(db):
    """Overwrite the pages of the ``objects`` table's b-tree root with garbage."""
    with sqlite3.connect(db) as c:
        page = c.execute("PRAGMA page_size").fetchone()[0]
        sql = "SELECT rootpage FROM sqlite_master WHERE tbl_name = 'objects' AND rootpage > 0"
        roots = [r[0] for r in c.execute(sql)]
    with open(db, "r+b") as fh:
        for root in roots:
            fh.seek((root - 1) * page)
            fh.write(b"\xa5" * page)


def test_a_damaged_catalog_set_aside_keeps_its_unsent_writes(
    srv, alice_objects, tmp_path, monkeypatch
):
    mine = alice_objects[3:6]
    data = tmp_path / "b"
    db = queue_offline(srv, data, mine)
    _damage_objects(db)
    monkeypatch.setenv("CAMPFIRE_ROOT", str(data))
    monkeypatch.setenv("CAMPFIRE_API_URL", srv.base_url)
    monkeypatch.setenv("CAMPFIRE_API_KEY", srv.user("alice@campfire.demo")["api_key"])
    plain = CliRunner().invoke(main, ["sync"])
    assert plain.exit_code == 1 and "campfire sync --full" in plain.output
    assert isinstance(plain.exception, SystemExit | CorruptCatalogError)
    # the plain sync pushed before it found the damage, and recording the answers failed: the
    # writes stay queued, and sending them again with their keys is replayed, not re-applied
    mended = CliRunner().invoke(main, ["sync", "--full"])
    assert mended.exit_code == 0, mended.output
    assert "moved to campfire.db.damaged-" in mended.output
    assert list(db.parent.glob("campfire.db.damaged-*"))  # the damaged file is kept
    check_pushed_once(srv, mine, data)


def test_keep_aside_and_requeue_are_exact_and_idempotent(srv, alice_objects, tmp_path):
    mine = alice_objects[6:8]
    db = queue_offline(srv, tmp_path / "c", mine)
    with sqlite3.connect(db) as c:
        before = outbox.entries(c)
    side = outbox.keep_aside(db)
    assert side is not None and outbox.side_files(db) == [side]
    with sqlite3.connect(db, isolation_level=None) as c:
        c.execute("DELETE FROM outbox")
        assert outbox.requeue(c, db)[0] == len(before)
        assert outbox.requeue(c, db)[0] == 0  # a key is never queued twice
        after = outbox.entries(c)
    same = ("key", "kind", "target", "payload", "previous", "state", "created_at")
    assert [[getattr(e, k) for k in same] for e in after] == [
        [getattr(e, k) for k in same] for e in before
    ]
    assert outbox.salvage(tmp_path / "nowhere.db") == []
