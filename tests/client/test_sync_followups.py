"""Sync follow-ups (issue #3): ``campfire sync`` builds the DuckDB query snapshot as
``cf.sync()`` does, and the sync keeps ``/metadata``'s program names for offline use.

References are the server's own ``archive.db`` (programs, their access rules) and the Parquet
files read back with pyarrow, never campfire's own output.
"""

from __future__ import annotations

import json
import logging
import os
from contextlib import nullcontext
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from campfire import Campfire
from campfire.archive.api import ApiClient
from campfire.archive.auth import ApiKeyProvider
from campfire.archive.backoff import RetryPolicy
from campfire.catalog.store import Store
from campfire.cli import main
from campfire.sync.engine import sync_catalog


def accessible_programs(srv, email: str) -> list[tuple[str, str, str, bool]]:
    """(slug, name, PI, public) of the programs ``email`` may see, from the server's database
    with the contract's rule (public programs plus grants), ordered by slug."""
    with nullcontext(srv.app.state.archive.db.conn()) as c:  # SQLite or PostgreSQL
        rows = c.execute(
            "SELECT slug, program_name, pi_name, is_public FROM programs WHERE is_public = 1 "
            "OR slug IN (SELECT a.program_slug FROM program_access a JOIN users u "
            "ON u.id = a.user_id WHERE u.email = ?) ORDER BY slug",
            (email,),
        ).fetchall()
    return [(s, n, p, bool(pub)) for s, n, p, pub in rows]


def api_for(srv, helpers, user: str) -> ApiClient:
    retry = RetryPolicy(retries=1, backoff=0.01, sleep=lambda s: None)
    key = helpers.user_key(srv, user)
    return ApiClient(helpers.make_settings(srv), ApiKeyProvider(key), retry=retry)


def test_cli_sync_builds_the_query_snapshot(server, helpers, monkeypatch):
    monkeypatch.setenv("CAMPFIRE_API_URL", server.base_url)
    env = {"CAMPFIRE_API_KEY": helpers.user_key(server, "bob")}
    r = CliRunner().invoke(main, ["sync"], env=env)
    assert r.exit_code == 0, r.output
    assert "snapshot" not in r.output  # no warning
    meta = Path(os.environ["CAMPFIRE_ROOT"]) / "meta"
    with Store(meta / "campfire.db") as store:
        version, files_version = store.catalog_version, store.files_version
        n_objects, n_spectra = store.count("objects"), store.count("spectra")
    assert version >= 1
    snap = meta / "snapshot"
    path = snap / f"catalog-c{version}-f{files_version}.duckdb"
    assert [p.name for p in snap.glob("catalog-*.duckdb")] == [path.name]
    with duckdb.connect(str(path), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM objects").fetchone()[0] == n_objects > 0
        assert con.execute("SELECT count(*) FROM spectra").fetchone()[0] == n_spectra > 0
    # a no-op sync keeps the same, still current snapshot
    again = CliRunner().invoke(main, ["sync"], env=env)
    assert again.exit_code == 0, again.output
    assert path.is_file()


def test_program_names_are_stored_and_read_offline(server, helpers, tmp_path, monkeypatch):
    want = accessible_programs(server, "bob@campfire.demo")
    assert want and all(name for _, name, _, _ in want)
    with Store(tmp_path / "meta" / "campfire.db") as store:
        sync_catalog(api_for(server, helpers, "bob"), store, export=False)
        stored = json.loads(store.get_meta("programs"))
    assert [(p["slug"], p["program_name"], p["pi_name"], p["is_public"]) for p in stored] == want
    assert all(set(p) == {"id", "slug", "program_name", "pi_name", "is_public"} for p in stored)

    monkeypatch.setenv("CAMPFIRE_OFFLINE", "1")
    monkeypatch.setenv("CAMPFIRE_API_URL", "http://127.0.0.1:9/api/v1")  # nothing listens
    table = Campfire(data_dir=tmp_path).get_programs()
    got = [
        (str(r["slug"]), str(r["program_name"]), str(r["pi_name"]), bool(r["is_public"]))
        for r in table
    ]
    # exactly the accessible programs, each with its name and PI, offline
    assert got == want


def test_a_failing_metadata_keeps_the_names_and_the_sync_goes_on(server, helpers, tmp_path, caplog):
    with Store(tmp_path / "meta" / "campfire.db") as store:
        sync_catalog(api_for(server, helpers, "alice"), store, export=False)
        before = store.get_meta("programs")
        assert len(json.loads(before)) == len(accessible_programs(server, "alice@campfire.demo"))
        server.set_faults([{"path": "/metadata", "kind": "status", "status": 500, "times": -1}])
        with caplog.at_level(logging.WARNING, logger="campfire.sync.engine"):
            r = sync_catalog(api_for(server, helpers, "alice"), store, full=True, export=False)
        server.clear_faults()
        assert r["objects"] == store.count("objects") > 0
        assert store.get_meta("programs") == before
    assert any("/metadata failed" in m for m in caplog.messages)


def test_photometry_csv_is_the_same_without_the_helper_process(
    server, helpers, tmp_path, monkeypatch
):
    """photometry.csv is written by a child Python; if none can start, by this process."""
    import campfire.catalog.export as sync_module

    with Store(tmp_path / "meta" / "campfire.db") as store:
        sync_catalog(api_for(server, helpers, "alice"), store, export=False)
        meta = store.path.parent
        sync_module.export_catalogs(store)
        by_helper = (meta / "photometry.csv").read_bytes()
        (meta / "photometry.csv").unlink()
        monkeypatch.setattr(sync_module.sys, "executable", str(tmp_path / "no-such-python"))
        sync_module.export_catalogs(store)
        assert (meta / "photometry.csv").read_bytes() == by_helper
        n = store.count("photometry")
    assert by_helper.count(b"\n") == n + 1 > 1  # header plus one line per record
    assert not list(meta.glob("*.tmp"))


def test_work_done_meanwhile_shares_the_export_and_never_cuts_it_short(
    server, helpers, tmp_path, monkeypatch
):
    """``export_catalogs(store, meanwhile=f)`` runs ``f`` while child processes write every
    CSV (objects.csv too); the files are the same bytes, and complete even when ``f`` fails.
    """
    import campfire.catalog.export as export_module

    with Store(tmp_path / "meta" / "campfire.db") as store:
        sync_catalog(api_for(server, helpers, "alice"), store, export=False)
        meta = store.path.parent
        export_module.export_catalogs(store)
        plain = {p.name: p.read_bytes() for p in meta.glob("*.csv")}
        for p in meta.glob("*.csv"):
            p.unlink()
        calls, events = [], []
        start, finish = export_module._start_export, export_module._finish_export

        def started(name, *args):
            events.append(("start", name))
            return start(name, *args)

        def finished(name, *args):
            events.append(("wait", name))
            return finish(name, *args)

        monkeypatch.setattr(export_module, "_start_export", started)
        monkeypatch.setattr(export_module, "_finish_export", finished)

        def build():
            calls.append(os.getpid())
            events.append(("meanwhile", ""))
            raise RuntimeError("the build went wrong")

        with pytest.raises(RuntimeError, match="went wrong"):
            export_module.export_catalogs(store, meanwhile=build)
        assert calls == [os.getpid()]
        # every file's helper started before the work meanwhile, every wait after it
        names = ["objects", "photometry", "spectra"]
        assert sorted(n for e, n in events[:3] if e == "start") == names
        assert events[3] == ("meanwhile", "")
        assert sorted(n for e, n in events[4:] if e == "wait") == names and len(events) == 7
        assert {p.name: p.read_bytes() for p in meta.glob("*.csv")} == plain
    assert sorted(plain) == ["objects.csv", "photometry.csv", "spectra.csv"]
    assert not list(meta.glob("*.tmp"))
