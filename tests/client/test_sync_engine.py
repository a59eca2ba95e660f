"""sync_catalog against the real server: full and incremental sync, deletions and lost access
(with the sync-deletions extension and with the plain-contract fallback), CSV exports,
failures, concurrency and a sync killed with SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from contextlib import nullcontext
from pathlib import Path

import pytest
from astropy.table import Table

from campfire.archive.api import ApiClient
from campfire.archive.auth import ApiKeyProvider
from campfire.archive.backoff import RetryPolicy
from campfire.catalog.store import Store
from campfire.errors import APIError, LockError
from campfire.sync.engine import sync_catalog

# the CSV columns of contract section 10 / the CLI reference, written out independently
OBJECT_CSV = [
    "object_id", "field", "ra", "dec", "redshift", "redshift_auto", "redshift_inspected",
    "redshift_quality", "n_targets", "n_spectra", "programs", "gratings", "observations",
    "member_target_ids", "max_snr", "max_exposure_time", "has_photometry", "photo_z",
    "photo_z_err_lo", "photo_z_err_hi", "last_inspected_at", "last_inspected_by",
    "last_data_change_at", "staleness_reason",
]  # fmt: skip
SPECTRUM_CSV = [
    "spectrum_id", "target_id", "object_id", "grating", "fits_path", "file_hash", "file_size",
    "signal_to_noise", "exposure_time", "reduction_version", "redshift_auto", "dq_flags",
    "program_slug", "observation", "field", "local_path",
]  # fmt: skip
PHOTOMETRY_FIXED = [
    "object_id", "field", "catalog_name", "catalog_id", "match_distance_arcsec", "photo_z",
    "photo_z_err_lo", "photo_z_err_hi",
]  # fmt: skip


def expected(srv, email):
    """What ``email`` may see, computed from the server's database with the contract's rules
    (section 0.3): public programs plus grants; active objects; spectra of active parents."""
    with nullcontext(srv.app.state.archive.db.conn()) as c:  # SQLite or PostgreSQL
        progs = {r[0] for r in c.execute("SELECT slug FROM programs WHERE is_public = 1")}
        progs |= {
            r[0]
            for r in c.execute(
                "SELECT a.program_slug FROM program_access a JOIN users u ON u.id = a.user_id "
                "WHERE u.email = ?",
                (email,),
            )
        }
        marks = ",".join("?" * len(progs))
        objects = {
            r[0]
            for r in c.execute(
                "SELECT DISTINCT o.object_id FROM objects o JOIN object_programs p ON "
                f"p.object_pk = o.id WHERE o.is_active = 1 AND p.program_slug IN ({marks})",
                list(progs),
            )
        }
        spectra = {
            r[0]
            for r in c.execute(
                f"SELECT spectrum_id FROM spectra WHERE program_slug IN ({marks}) AND (object_pk "
                "IS NULL OR object_pk IN (SELECT id FROM objects WHERE is_active = 1))",
                list(progs),
            )
        }
    return objects, spectra


def local(store):
    objects = {r[0] for r in store.conn.execute("SELECT object_id FROM objects")}
    spectra = {r[0] for r in store.conn.execute("SELECT spectrum_id FROM spectra")}
    return objects, spectra


def api_for(srv, helpers, user="alice", plain=False):
    retry = RetryPolicy(retries=2, backoff=0.01, sleep=lambda s: None)
    key = helpers.user_key(srv, user)
    return ApiClient(helpers.make_settings(srv), ApiKeyProvider(key), retry=retry, plain=plain)


def test_full_sync_then_noop_incremental(server, helpers, store):
    api = api_for(server, helpers, "carol")
    seen = []
    r = sync_catalog(api, store, progress=lambda *a: seen.append(a))
    objects, spectra = expected(server, "carol@campfire.demo")
    assert local(store) == (objects, spectra)
    assert (r["objects"], r["spectra"], r["incremental"]) == (len(objects), len(spectra), False)
    assert r["observations"] == 3 and r["stale_count"] == 0 and r["tags"] > 0
    assert {f for f, *_ in seen} == {"objects", "spectra", "photometry"}
    assert ("objects", len(objects), len(objects)) in seen
    # observations filled for every object (an addition to upstream's empty column)
    sql = "SELECT COUNT(*) FROM objects WHERE observations IS NULL OR observations = ''"
    assert store.conn.execute(sql).fetchone()[0] == 0
    version = store.catalog_version
    csv_mtime = (store.path.parent / "objects.csv").stat().st_mtime_ns
    again = sync_catalog(api, store)
    assert again["incremental"] is True
    assert again["objects_updated"] == again["spectra_updated"] == 0
    assert again["objects_purged"] == again["spectra_purged"] == 0
    assert store.catalog_version == version  # nothing changed: the query layer need not refresh
    assert (store.path.parent / "objects.csv").stat().st_mtime_ns == csv_mtime


def test_csv_exports_match_the_reference_and_read_in_astropy(server, helpers, store):
    sync_catalog(api_for(server, helpers), store)
    meta = store.path.parent
    objects = Table.read(meta / "objects.csv", format="ascii.csv")
    assert objects.colnames == OBJECT_CSV
    assert len(objects) == store.count("objects")
    assert list(objects["object_id"]) == sorted(objects["object_id"])
    assert set(objects["has_photometry"]) <= {"True", "False"}  # as upstream writes them
    n_phot = store.conn.execute("SELECT COUNT(*) FROM objects WHERE has_photometry=1").fetchone()
    assert list(objects["has_photometry"]).count("True") == n_phot[0]
    spectra = Table.read(meta / "spectra.csv", format="ascii.csv")
    assert spectra.colnames == SPECTRUM_CSV and len(spectra) == store.count("spectra")
    for row in spectra:  # never downloaded: the expected path <observation>/<basename>
        assert row["local_path"] == f"{row['observation']}/{row['fits_path'].split('/')[-1]}"
    phot = Table.read(meta / "photometry.csv", format="ascii.csv")
    assert phot.colnames[:8] == PHOTOMETRY_FIXED and len(phot) == store.count("photometry")
    bands = phot.colnames[8:]
    assert bands and all(
        a == "f_" + b[2:] and b.startswith("e_")
        for a, b in zip(bands[::2], bands[1::2], strict=True)
    )
    # bands ordered by wavelength, as the records give them
    wav = {}
    for (text,) in store.conn.execute("SELECT photometry FROM object_photometry"):
        for name, band in json.loads(text)["bands"].items():
            wav.setdefault(name, band.get("wav"))
    names = [c[2:] for c in bands[::2]]
    assert names == sorted(names, key=lambda b: (wav[b] is None, wav[b] or 0, b))
    assert not list(meta.glob("*.tmp"))


@pytest.mark.parametrize("plain", [False, True], ids=["sync-deletions", "plain-contract"])
def test_lost_and_gained_access(fresh_server, helpers, tmp_path, plain):
    from campfire.server.archive import Archive
    from campfire.server.auth.users import revoke_program, set_program_public

    carol = tmp_path / "carol" / "campfire.db"
    bob = tmp_path / "bob" / "campfire.db"
    with Store(carol) as sc, Store(bob) as sb:
        sync_catalog(api_for(fresh_server, helpers, "carol", plain), sc)
        sync_catalog(api_for(fresh_server, helpers, "bob", plain), sb)
        rubies = {r[0] for r in sc.conn.execute(
            "SELECT spectrum_id FROM spectra WHERE program_slug = 'RUBIES'")}  # fmt: skip
        assert rubies and not rubies & local(sb)[1]
        archive = Archive(fresh_server.archive_dir)
        try:
            revoke_program(archive, "carol@campfire.demo", "RUBIES")
            set_program_public(archive, "RUBIES", True)  # bob gains it
        finally:
            archive.close()
        sync_catalog(api_for(fresh_server, helpers, "carol", plain), sc)
        sync_catalog(api_for(fresh_server, helpers, "bob", plain), sb)
        # RUBIES is public now, so carol keeps it (through the public flag); bob gains it
        assert local(sc) == expected(fresh_server, "carol@campfire.demo")
        assert local(sb) == expected(fresh_server, "bob@campfire.demo")
        assert rubies <= local(sb)[1]
        archive = Archive(fresh_server.archive_dir)
        try:
            set_program_public(archive, "RUBIES", False)  # now both lose it
        finally:
            archive.close()
        rc = sync_catalog(api_for(fresh_server, helpers, "carol", plain), sc)
        sync_catalog(api_for(fresh_server, helpers, "bob", plain), sb)
        for s, email in ((sc, "carol"), (sb, "bob")):
            assert local(s) == expected(fresh_server, f"{email}@campfire.demo")
            assert not rubies & local(s)[1]
            sql = "SELECT COUNT(*) FROM spectra WHERE program_slug = 'RUBIES'"
            assert s.conn.execute(sql).fetchone()[0] == 0
        assert rc["spectra_purged"] == len(rubies) and rc["objects_purged"] > 0
        # with the extension deletions arrive incrementally; without it the count check
        # notices the difference and the sync falls back to a full, purging pass
        assert rc["incremental"] is (not plain)
        assert bool(rc["full_sync_reason"]) is plain


def test_a_failed_sync_changes_nothing_and_releases_the_lock(server, helpers, store):
    api = api_for(server, helpers, "bob")
    server.set_faults([{"path": "/sync/spectra", "kind": "status", "status": 500, "times": -1}])
    with pytest.raises(APIError, match="500"):
        sync_catalog(api, store)
    assert store.count("objects") == 0 and store.catalog_version == 0  # rolled back
    server.clear_faults()
    assert sync_catalog(api, store)["objects"] > 0


def test_transient_faults_during_paging_are_survived(server, helpers, store):
    api = api_for(server, helpers, "alice")
    server.set_faults(
        [
            {"path": "/sync/objects", "kind": "drop", "after_bytes": 100},
            {"path": "/sync/spectra", "kind": "status", "status": 503},
            {"path": "/sync/photometry", "kind": "truncate", "after_bytes": 50},
        ]
    )
    sync_catalog(api, store, full=True)
    assert local(store) == expected(server, "alice@campfire.demo")
    assert all(rule["hits"] == 1 for rule in server.faults())


def test_small_pages_without_extensions(server, helpers, store):
    api = api_for(server, helpers, "alice", plain=True)
    assert api.server_info().sync_page_size == 1000
    pages = []
    orig = api.iter_sync_pages

    def spy(feed, **kw):
        kw["limit"] = 7  # force many pages through the real paging loop
        for page in orig(feed, **kw):
            pages.append((feed, page.offset))
            yield page

    api.iter_sync_pages = spy
    sync_catalog(api, store)
    assert local(store) == expected(server, "alice@campfire.demo")
    assert ("objects", 7) in pages and ("objects", 14) in pages


def test_a_held_lock_makes_sync_wait_then_say_so(server, helpers, store):
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(store.path)], stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(LockError, match="Another campfire sync or download is running"):
            sync_catalog(api_for(server, helpers), store, lock_wait=0.3)
    finally:
        holder.communicate("\n", timeout=30)
    assert sync_catalog(api_for(server, helpers), store)["objects"] > 0


HOLD = """
import sys
from campfire.catalog.store import Store
with Store(sys.argv[1]) as s, s.lock(what="campfire sync"):
    print("ready", flush=True)
    sys.stdin.readline()
"""


def _cli(srv, helpers, root, *args, **kw):
    env = {
        **os.environ,
        "CAMPFIRE_ROOT": str(root),
        "CAMPFIRE_API_URL": srv.base_url,
        "CAMPFIRE_API_KEY": helpers.user_key(srv, "alice"),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "campfire", *args], env=env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, **kw,
    )  # fmt: skip


def test_two_concurrent_syncs_both_finish_cleanly(server, helpers, tmp_path):
    procs = [_cli(server, helpers, tmp_path, "sync", "--full") for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    with Store(tmp_path / "meta" / "campfire.db") as s:
        assert s.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert local(s) == expected(server, "alice@campfire.demo")


def test_sync_killed_mid_transaction_leaves_a_usable_catalog(server, helpers, tmp_path):
    db = tmp_path / "meta" / "campfire.db"
    with Store(db) as s:
        sync_catalog(api_for(server, helpers, "bob"), s)
        before = local(s), s.catalog_version
    # the next (full, alice) sync stalls on spectra after writing objects in its transaction
    server.set_faults([{"path": "/sync/spectra", "kind": "stall", "stall_seconds": 20}])
    proc = _cli(server, helpers, tmp_path, "sync", "--full")
    deadline = time.monotonic() + 60
    while not server.faults()[0]["hits"]:
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.05)
    time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    server.clear_faults()
    with Store(db) as s:  # the previous catalog, intact
        assert s.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert (local(s), s.catalog_version) == before
    rerun = _cli(server, helpers, tmp_path, "sync")
    _, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err
    with Store(db) as s:
        assert local(s) == expected(server, "alice@campfire.demo")
    assert not list(Path(db).parent.glob("*.tmp"))
