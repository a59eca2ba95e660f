"""Issue #13, the client under a hostile or broken archive (findings 14-16), over loopback.

The archive's misbehaviour is injected by the server itself (the fault switch's ``body`` kind
answers any JSON we choose), never mocked. Each test fails on the code before the fix: there a
lying ``total`` paged forever, malformed pages died with AttributeError, IntegrityError or
ValueError, a damaged catalog died with ``database disk image is malformed`` on every
command, and messages hid the disk margin or echoed a password.
"""

from __future__ import annotations

import os
import shutil
import sqlite3

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campfire.archive.api import ApiClient
from campfire.archive.auth import ApiKeyProvider
from campfire.archive.backoff import RetryPolicy
from campfire.archive.contract import SyncPage
from campfire.catalog.store import Store
from campfire.cli import main
from campfire.config import Settings
from campfire.download.plan import plan_downloads
from campfire.download.run import download
from campfire.errors import APIError, CorruptCatalogError, DownloadError
from campfire.sync.engine import sync_catalog, sync_local_catalog
from campfire.sync.pages import parse_page

HASH = "sha256:" + "ab" * 32


def api_for(srv, helpers, user="alice", **kw):
    retry = RetryPolicy(retries=1, backoff=0.01, jitter=0.0, sleep=lambda s: None)
    key = helpers.user_key(srv, user)
    return ApiClient(helpers.make_settings(srv), ApiKeyProvider(key), retry=retry, **kw)


def hits(srv, path):
    return sum(r["hits"] for r in srv.faults() if r["path"] == path)


# -- 14. paging is bounded whatever the archive claims --------------------------------------------


def test_a_total_that_lies_does_not_keep_the_sync_paging(server, helpers, store):
    row = {"object_id": "J000000.00+000000.0", "updated_at": "2026-01-01T00:00:00+00:00"}
    body = {"data": [row], "pagination": {"total": 100_000_000, "limit": 10000, "offset": 0}}
    server.set_faults([{"path": "/sync/objects", "kind": "body", "body": body, "times": 40}])
    sync_catalog(api_for(server, helpers), store)
    assert hits(server, "/sync/objects") == 1  # one short page, then it stops
    assert store.count("objects") == 1


def test_full_pages_past_the_announced_total_stop_with_an_error(server, helpers):
    api = api_for(server, helpers)
    rows = [{"id": i, "object_id": "J1"} for i in range(2)]
    first = {"data": rows, "pagination": {"total": 4}}
    growing = {"data": rows, "pagination": {"total": 10**9}}  # photometry re-reads the total
    server.set_faults(
        [
            {"path": "/sync/photometry", "kind": "body", "body": first, "times": 1},
            {"path": "/sync/photometry", "kind": "body", "body": growing, "times": 200},
        ]
    )
    pages = api.iter_sync_pages("photometry", limit=2, parse=lambda b, o, t: parse_page(
        "photometry", b, o, t))  # fmt: skip
    with pytest.raises(APIError, match="past the total it announced"):
        for _ in pages:
            pass
    assert hits(server, "/sync/photometry") <= 6  # 2 pages for the total, then a few more


# -- 15. malformed pages are one line, and the catalog is untouched --------------------------------


MALFORMED = [
    ([], "the body is a list"),
    ({"data": "x", "pagination": {"total": 1}}, "data is 'x'"),
    ({"data": [{"spectrum_id": "s1"}], "pagination": {"total": 1}}, "grating None"),
    ({"data": [], "pagination": {"total": "abc"}}, "pagination.total is 'abc'"),
    (
        {
            "data": [{"spectrum_id": "s1", "grating": "PRISM", "file_hash": "sha256:ab/../cd"}],
            "pagination": {"total": 1},
        },
        "file_hash 'sha256:ab/../cd'",
    ),
    (
        {
            "data": [{"spectrum_id": "s1", "grating": "PRISM", "observation": "../etc"}],
            "pagination": {"total": 1},
        },
        "observation '../etc'",
    ),
]


@pytest.mark.parametrize(("body", "said"), MALFORMED)
def test_a_malformed_sync_page_is_one_clear_error_and_changes_nothing(
    server, helpers, store, body, said
):
    api = api_for(server, helpers)
    sync_catalog(api, store)
    before = (store.count("objects"), store.count("spectra"), store.catalog_version)
    server.set_faults([{"path": "/sync/spectra", "kind": "body", "body": body, "times": -1}])
    with pytest.raises(APIError) as info:
        sync_catalog(api, store, full=True)
    message = info.value.message
    assert "malformed /sync/spectra page" in message and said in message, message
    assert "\n" not in message
    assert (store.count("objects"), store.count("spectra"), store.catalog_version) == before


def test_the_cli_shows_a_malformed_page_as_one_line(server, helpers, monkeypatch):
    monkeypatch.setenv("CAMPFIRE_API_URL", server.base_url)
    monkeypatch.setenv("CAMPFIRE_API_KEY", helpers.user_key(server, "bob"))
    server.set_faults([{"path": "/sync/objects", "kind": "body", "body": [], "times": -1}])
    r = CliRunner().invoke(main, ["sync"])
    assert r.exit_code == 1 and not isinstance(r.exception, AttributeError | TypeError)
    err = [line for line in r.output.splitlines() if line.startswith("Error:")]
    assert len(err) == 1 and "malformed /sync/objects page" in err[0]


page_bodies = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=12,
)
rows = st.dictionaries(
    st.sampled_from(["spectrum_id", "grating", "file_hash", "observation", "fits_path", "x"]),
    st.none() | st.integers() | st.text(max_size=12) | st.just(HASH),
)
pages = st.fixed_dictionaries(
    {},
    optional={
        "data": st.lists(rows | page_bodies, max_size=4) | page_bodies,
        "pagination": st.fixed_dictionaries({}, optional={"total": page_bodies}) | page_bodies,
        "total_accessible_count": page_bodies,
        "deleted": page_bodies,
    },
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=pages | page_bodies, offset=st.sampled_from([0, 1000]))
def test_the_page_parser_accepts_good_pages_and_names_what_is_wrong_in_bad_ones(body, offset):
    try:
        page = parse_page("spectra", body, offset)
    except APIError as exc:
        assert exc.message.startswith("The archive sent a malformed /sync/spectra page")
        return
    # what it lets through is what the catalog and the downloads rely on
    assert isinstance(page, SyncPage) and isinstance(page.total, int) and page.total >= 0
    for row in page.rows:
        assert isinstance(row["spectrum_id"], str) and row["spectrum_id"]
        assert isinstance(row.get("grating"), str) and row["grating"]
        assert row.get("file_hash") in (None, HASH) or len(row["file_hash"]) == 71
        assert "/" not in (row.get("observation") or "")


# -- 15. a damaged catalog ------------------------------------------------------------------------


def _damage(db, how):
    for suffix in ("-wal", "-shm"):
        (db.parent / (db.name + suffix)).unlink(missing_ok=True)
    with open(db, "r+b") as fh:
        if how == "garbage":
            fh.write(b"not a database, honestly" * 4)
        else:
            fh.truncate(os.path.getsize(db) // 3)


@pytest.mark.parametrize("how", ["garbage", "truncated"])
def test_a_damaged_catalog_is_one_line_then_sync_full_mends_it_keeping_files(
    fresh_server, helpers, tmp_path, monkeypatch, how
):
    srv = fresh_server
    root = tmp_path / "data"
    monkeypatch.setenv("CAMPFIRE_ROOT", str(root))
    monkeypatch.setenv("CAMPFIRE_API_URL", srv.base_url)
    monkeypatch.setenv("CAMPFIRE_API_KEY", helpers.user_key(srv, "alice"))
    run = lambda *a: CliRunner().invoke(main, list(a))  # noqa: E731
    assert run("sync").exit_code == 0
    assert run("download", "--obs", "ember_uds_p4", "--yes").exit_code == 0
    db = Settings.from_env().db_path
    files = sorted((root / "products").rglob("*.fits"))
    assert files
    with sqlite3.connect(db) as c:  # a catalog big enough that truncation cuts into its tables
        c.execute("CREATE TABLE ballast (x)")
        c.executemany("INSERT INTO ballast VALUES (?)", [("x" * 1000,)] * 400)
    _damage(db, how)
    for args in (["status"], ["sync"], ["download", "--all", "--yes"]):
        r = run(*args)
        assert r.exit_code == 1, (args, r.output)
        assert not isinstance(r.exception, sqlite3.Error), (args, r.exception)
        err = [line for line in r.output.splitlines() if line.startswith("Error:")]
        assert len(err) == 1 and "is damaged" in err[0] and "campfire sync --full" in err[0]
    with pytest.raises(CorruptCatalogError):
        sync_local_catalog(api_for(srv, helpers), db)
    mended = run("sync", "--full")
    assert mended.exit_code == 0, mended.output
    assert "moved to campfire.db.damaged-" in mended.output
    assert list(db.parent.glob("campfire.db.damaged-*"))  # kept for a post-mortem
    # the files on disk are re-hashed and adopted: no file is fetched again
    srv.set_faults([{"path": "/files/", "kind": "status", "status": 500, "times": -1}])
    again = run("download", "--obs", "ember_uds_p4", "--yes")
    assert again.exit_code == 0, again.output
    assert hits(srv, "/files/") == 0
    with Store(db) as store:
        n = store.conn.execute(
            "SELECT count(*) FROM spectra WHERE local_path IS NOT NULL AND observation = ?",
            ("ember_uds_p4",),
        ).fetchone()[0]
    assert n == len(files)


# -- 16. messages: the disk margin, no password ---------------------------------------------------


def test_the_disk_space_error_names_the_safety_margin(server, helpers, tmp_path):
    store = Store(tmp_path / "meta" / "campfire.db")
    api = api_for(server, helpers)
    sync_catalog(api, store)
    products = store.products_dir
    products.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(products).free
    obs = "ember_uds_p4"
    store.conn.execute("UPDATE spectra SET file_size = 0 WHERE observation = ?", (obs,))
    store.conn.execute(
        "UPDATE spectra SET file_size = ? WHERE spectrum_id = (SELECT min(spectrum_id) FROM "
        "spectra WHERE observation = ?)",
        (free - 4_000_000, obs),  # fits on the disk, but not with the margin
    )
    plan = plan_downloads(store, observations=[obs])
    with pytest.raises(DownloadError) as info:
        download(api, store, plan)
    store.close()
    assert "safety margin" in info.value.message, info.value.message


def test_an_unreachable_archive_never_echoes_the_password_in_its_url(helpers, tmp_path):
    settings = Settings.from_env().with_overrides(
        base_url="http://ada:hunter2@127.0.0.1:9/api/v1", data_dir=tmp_path
    )
    retry = RetryPolicy(retries=0, backoff=0.0, jitter=0.0, sleep=lambda s: None)
    api = ApiClient(settings, ApiKeyProvider("sk_live_" + "0" * 64), retry=retry)
    with pytest.raises(APIError) as info:
        api.version()
    assert "Could not reach the archive" in info.value.message
    assert "hunter2" not in str(info.value) and "ada:***@" in info.value.message
