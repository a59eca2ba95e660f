"""plan_downloads / download / fetch_one against the real server: verified files, resume,
injected faults, stale and deleted files, unsafe paths, disk space, a token refreshed in the
middle of a download."""

from __future__ import annotations

import hashlib
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta

import pytest

from campfire.archive.api import ApiClient
from campfire.archive.auth import (
    ApiKeyProvider,
    FileCredentialProvider,
    load_credentials,
    save_credentials,
)
from campfire.archive.backoff import RetryPolicy
from campfire.catalog.store import Store
from campfire.download.plan import plan_downloads
from campfire.download.run import download, fetch_one, safe_basename
from campfire.errors import DownloadError, ValidationError
from campfire.sync.engine import sync_catalog

OBS = "ember_uds_p4"


def server_files(srv, observation):
    """{file name: (sha256 of the server's stored bytes, size)} read from the archive itself."""
    store = srv.app.state.archive.store  # a local folder or an S3 bucket
    out = {}
    for key in sorted(store.keys(f"spectra/{observation}/")):
        if key.endswith("_spec.fits"):
            data = store.read_bytes(key)
            out[key.rsplit("/", 1)[1]] = ("sha256:" + hashlib.sha256(data).hexdigest(), len(data))
    return out


def local_files(store, observation):
    folder = store.products_dir / observation
    return {
        p.name: ("sha256:" + hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_size)
        for p in sorted(folder.glob("*"))
    }


def fast_api(srv, helpers, user="alice", waits=None):
    retry = RetryPolicy(retries=3, backoff=0.01, jitter=0.0, sleep=(waits or []).append)
    return ApiClient(
        helpers.make_settings(srv), ApiKeyProvider(helpers.user_key(srv, user)), retry=retry
    )


@pytest.fixture
def synced(server, helpers, tmp_path):
    store = Store(tmp_path / "meta" / "campfire.db")
    sync_catalog(fast_api(server, helpers), store)
    yield store
    store.close()


def count_requests(srv, *prefixes):
    """Count requests by prefix with do-nothing rules (a zero-second stall)."""
    srv.set_faults(
        [{"path": p, "kind": "stall", "stall_seconds": 0, "times": -1} for p in prefixes]
    )
    return lambda: {r["path"]: r["hits"] for r in srv.faults()}


def fetch(api, store, plan, **kw):
    retry = RetryPolicy(retries=3, backoff=0.01, jitter=0.0, sleep=kw.pop("waits", []).append)
    return download(api, store, plan, retry=retry, **kw)


def test_download_an_observation_verified_and_recorded(server, helpers, synced):
    api = fast_api(server, helpers)
    plan = plan_downloads(synced, observations=[OBS.upper()])  # names are case-insensitive
    want = server_files(server, OBS)
    assert len(plan) == len(want) and plan.total_bytes == sum(s for _, s in want.values())
    assert [o.observation for o in plan.observations] == [OBS]
    events = []
    version = synced.files_version
    result = fetch(api, synced, plan, progress=lambda *e: events.append(e))
    assert result.ok and result.downloaded == len(want) and result.bytes == plan.total_bytes
    assert local_files(synced, OBS) == want  # every byte as the archive has it; no .part left
    rows = synced.conn.execute(
        "SELECT local_path, local_file_hash, file_hash, local_file_size FROM spectra "
        "WHERE observation = ?",
        (OBS,),
    ).fetchall()
    assert all(r[1] == r[2] and r[0].startswith(OBS + "/") for r in rows)
    assert synced.files_version > version
    assert events[0] == ("observation", OBS, len(want), plan.total_bytes)
    assert sum(e[2] for e in events if e[0] == "bytes") == plan.total_bytes
    assert events[-1] == ("finished", OBS, len(want), 0)
    log = synced.conn.execute("SELECT status, files_downloaded FROM sync_log").fetchall()
    assert [tuple(r) for r in log] == [("completed", len(want))]


def test_planning_uses_the_catalog_and_rerun_makes_no_requests(server, helpers, synced):
    api = fast_api(server, helpers)
    counts = count_requests(server, "/observations/", "/files/")
    fetch(api, synced, plan_downloads(synced, observations=[OBS]))
    first = counts()
    assert first["/observations/"] == 1 and first["/files/"] == len(server_files(server, OBS))
    plan = plan_downloads(synced, all=True)
    # only the other observations have work; the downloaded one is up to date
    assert {o.observation: len(o.files) for o in plan.observations}[OBS] == 0
    again = plan_downloads(synced, observations=[OBS])
    assert len(again) == 0
    assert fetch(api, synced, again).downloaded == 0
    assert counts() == first  # no manifest, no file request for an up-to-date observation


def test_filters_combine_and_unknown_names_suggest(server, helpers, synced):
    plan = plan_downloads(synced, fields=["uds"], gratings=["prism"])
    files = plan.files
    assert files and all(f.grating == "PRISM" for f in files)
    assert {o.field for o in plan.observations} == {"uds"}
    assert plan_downloads(synced, programs=["ember-uds"]).observations[0].observation == OBS
    with pytest.raises(ValidationError, match="Did you mean: ember_uds_p4"):
        plan_downloads(synced, observations=["ember_uds_p5"])
    with pytest.raises(ValidationError, match="Unknown grating 'G999X'"):
        plan_downloads(synced, gratings=["G999X"])
    with pytest.raises(ValidationError, match="stale_only=True"):  # the Python keywords (#15)
        plan_downloads(synced)


@pytest.mark.local_files  # faults act on the bytes the app sends; from S3 it sends none
@pytest.mark.parametrize(
    "rule",
    [
        {"kind": "status", "status": 503},
        {"kind": "rate_limit", "retry_after": 3},
        {"kind": "truncate", "after_bytes": 100_000},
        {"kind": "corrupt", "after_bytes": 5000},
        {"kind": "drop", "after_bytes": 70_000},
    ],
    ids=lambda r: r["kind"],
)
def test_file_faults_are_retried_and_files_verified(server, helpers, synced, rule):
    name = sorted(server_files(server, OBS))[3]
    server.set_faults([{"path": f"/files/spectra/{OBS}/{name}", **rule}])
    waits = []
    result = fetch(
        fast_api(server, helpers), synced, plan_downloads(synced, observations=[OBS]), waits=waits
    )
    assert result.ok and local_files(synced, OBS) == server_files(server, OBS)
    assert server.faults()[0]["hits"] == 1 and len(waits) == 1
    if rule["kind"] == "rate_limit":
        assert waits == [3.0]  # Retry-After honoured


def test_a_stalled_transfer_is_abandoned_and_resumed(server, helpers, synced):
    name = sorted(server_files(server, OBS))[0]
    server.set_faults(
        [
            {
                "path": f"/files/spectra/{OBS}/{name}",
                "kind": "stall",
                "after_bytes": 50_000,
                "stall_seconds": 5,
            }
        ]
    )
    plan = plan_downloads(synced, observations=[OBS])
    result = fetch(fast_api(server, helpers), synced, plan, stall_timeout=0.5)
    assert result.ok and local_files(synced, OBS) == server_files(server, OBS)


def test_a_partial_file_is_resumed_with_range(server, helpers, synced):
    want = server_files(server, OBS)
    name = sorted(want)[1]
    plan = plan_downloads(synced, observations=[OBS])
    task = next(f for f in plan.files if f.local_path.endswith(name))
    # what a killed download leaves: the first 100000 bytes in the hidden .part file
    data = server.app.state.archive.store.read_bytes(f"spectra/{OBS}/{name}")
    part = synced.products_dir / OBS / f".{name}.{task.file_hash.split(':')[1][:16]}.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(data[:100_000])
    events = []
    result = fetch(fast_api(server, helpers), synced, plan, progress=lambda *e: events.append(e))
    assert result.ok and local_files(synced, OBS) == want
    fetched = sum(e[2] for e in events if e[0] == "bytes")
    assert fetched == plan.total_bytes - 100_000  # only the missing tail was transferred


@pytest.mark.local_files  # faults act on the bytes the app sends; from S3 it sends none
def test_a_file_that_keeps_failing_verification_never_appears(server, helpers, synced):
    name = sorted(server_files(server, OBS))[2]
    server.set_faults(
        [
            {
                "path": f"/files/spectra/{OBS}/{name}",
                "kind": "corrupt",
                "after_bytes": 10,
                "times": -1,
            }
        ]
    )
    result = fetch(fast_api(server, helpers), synced, plan_downloads(synced, observations=[OBS]))
    assert result.failed == 1 and result.downloaded == len(server_files(server, OBS)) - 1
    (failure,) = result.failures
    assert failure.local_path == f"{OBS}/{name}" and "verification failed" in failure.reason
    folder = synced.products_dir / OBS
    assert not (folder / name).exists()
    assert all(not p.name.endswith(".fits") or p.name != name for p in folder.iterdir())
    row = synced.conn.execute(
        "SELECT local_path FROM spectra WHERE fits_path LIKE ?", (f"%/{name}",)
    ).fetchone()
    assert row[0] is None
    status = synced.conn.execute("SELECT status FROM sync_log").fetchone()[0]
    assert status == "failed"
    # the next run fetches only that file
    server.clear_faults()
    again = plan_downloads(synced, observations=[OBS])
    assert [f.local_path for f in again.files] == [f"{OBS}/{name}"]
    assert fetch(fast_api(server, helpers), synced, again).ok


def test_not_enough_disk_space_is_refused_up_front(server, helpers, synced):
    synced.conn.execute("UPDATE spectra SET file_size = ? WHERE observation = ?", (10**16, OBS))
    plan = plan_downloads(synced, observations=[OBS])
    with pytest.raises(DownloadError, match="Not enough disk space"):
        fetch(fast_api(server, helpers), synced, plan)
    assert not (synced.products_dir / OBS).exists() or not any(
        (synced.products_dir / OBS).iterdir()
    )


@pytest.mark.parametrize(
    "bad",
    [
        "../../evil_spec.fits",
        "/etc/passwd",
        "spectra/x/..",
        "a\\..\\b.fits",
        "spectra/x/.hidden",
        "",
    ],
)
def test_unsafe_paths_are_refused(bad):
    with pytest.raises(DownloadError, match="unsafe"):
        safe_basename(bad)


def test_a_server_sending_escaping_paths_cannot_write_outside(fresh_server, helpers, tmp_path):
    with nullcontext(fresh_server.app.state.archive.db.conn()) as c:  # SQLite or PostgreSQL
        c.execute(
            "UPDATE spectra SET fits_path = '../../../../escape_spec.fits' WHERE spectrum_id = "
            "(SELECT MIN(spectrum_id) FROM spectra WHERE observation = ?)",
            (OBS,),
        )
    with Store(tmp_path / "root" / "meta" / "campfire.db") as store:
        api = fast_api(fresh_server, helpers)
        sync_catalog(api, store)
        plan = plan_downloads(store, observations=[OBS])
        result = fetch(api, store, plan)
        assert result.failed == 1 and "unsafe file path" in result.failures[0].reason
        assert result.downloaded == len(plan) - 1  # the others are fine
    assert not list(tmp_path.rglob("escape_spec.fits"))


def test_stale_and_deleted_files_after_a_redeploy(fresh_server, helpers, demo_products, tmp_path):
    from astropy.io import fits

    from campfire.server.ingest.deploy import deploy_products

    api = fast_api(fresh_server, helpers)
    with Store(tmp_path / "root" / "meta" / "campfire.db") as store:
        sync_catalog(api, store)
        assert fetch(api, store, plan_downloads(store, observations=[OBS])).ok
        # the pipeline reprocesses one file and drops another target
        program = demo_products / "ember-uds"
        names = sorted(p.name for p in (program / OBS).glob("*_spec.fits"))
        changed, dropped = program / OBS / names[0], program / OBS / names[-1]
        with fits.open(changed, mode="update") as hdul:
            hdul[0].header["HISTORY"] = "reprocessed by a test"
        dropped.unlink()
        report = deploy_products(program, fresh_server.archive_dir)
        assert report.skipped == []
        r = sync_catalog(api, store)
        assert r["stale_count"] == 1 and r["stale_files"] == [f"{OBS}/{names[0]}"]
        assert r["spectra_purged"] == 1 and r["orphaned_files"] == [f"{OBS}/{names[-1]}"]
        plan = plan_downloads(store, stale_only=True)
        assert [(f.local_path, f.reason) for f in plan.files] == [(f"{OBS}/{names[0]}", "updated")]
        assert fetch(api, store, plan).ok
        assert local_files(store, OBS)[names[0]] == server_files(fresh_server, OBS)[names[0]]
        assert store.stale_files() == []
        assert len(plan_downloads(store, stale_only=True)) == 0


def test_fetch_one_verifies_against_the_catalog(server, helpers, synced):
    api = fast_api(server, helpers)
    row = dict(
        synced.conn.execute(
            "SELECT * FROM spectra WHERE observation = ? LIMIT 1", (OBS,)
        ).fetchone()
    )
    path = fetch_one(api, synced, row)
    assert path == synced.products_dir / OBS / row["fits_path"].split("/")[-1]
    assert "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest() == row["file_hash"]
    counts = count_requests(server, "/spectra", "/files/")
    again = dict(
        synced.conn.execute(
            "SELECT * FROM spectra WHERE spectrum_id = ?", (row["spectrum_id"],)
        ).fetchone()
    )
    assert fetch_one(api, synced, again) == path
    assert counts() == {"/spectra": 0, "/files/": 0}  # already local: no request
    wrong = {**row, "file_hash": "sha256:" + "0" * 64, "local_path": None}
    with pytest.raises(DownloadError, match="verification failed"):
        fetch_one(api, synced, wrong, retry=RetryPolicy(retries=1, backoff=0, sleep=lambda s: None))


def test_token_refreshed_in_the_middle_of_a_download(server, helpers, tmp_path):
    from campfire.server.auth.credentials import issue_access_token

    creds, _ = helpers.device_login(server)
    settings = helpers.make_settings(server, tmp_path / "root")
    save_credentials(settings.credentials_path, creds)
    api = ApiClient(
        settings, FileCredentialProvider(settings), retry=RetryPolicy(retries=1, backoff=0)
    )
    with Store(settings.db_path) as store:
        sync_catalog(api, store)
        # three observations: each manifest is asked for while the one before downloads, so
        # the third is the first request after the token expires with the first's end
        plan = plan_downloads(store, observations=[OBS, "capers_cosmos_p1", "rubies_uds_p1"])
        assert len(plan.observations) == 3
        secret = server.app.state.archive.secret
        with nullcontext(server.app.state.archive.db.conn()) as c:  # SQLite or PostgreSQL
            (uid,) = c.execute(
                "SELECT id FROM users WHERE email = 'alice@campfire.demo'"
            ).fetchone()

        def progress(kind, obs, *_):
            if kind == "finished" and obs == plan.observations[0].observation:
                # an hour has passed: the access token is expired and the file says so
                old = load_credentials(settings.credentials_path)
                old.access_token = issue_access_token(secret, uid, "alice@campfire.demo", -60)
                past = datetime.now(UTC).replace(tzinfo=None) - timedelta(minutes=1)
                old.expires_at = past.isoformat() + "Z"
                save_credentials(settings.credentials_path, old)
                seen.append(old.refresh_token)

        seen = []
        result = download(api, store, plan, progress=progress)
        assert result.ok and result.downloaded == len(plan)
    after = load_credentials(settings.credentials_path)
    assert seen and after.refresh_token != seen[0] and not after.needs_refresh()


def test_files_already_in_place_are_adopted_without_a_request(server, helpers, synced):
    """A pipeline user's products/ (or a download whose record was lost) is not fetched again."""
    names = sorted(server_files(server, OBS))
    folder = synced.products_dir / OBS
    folder.mkdir(parents=True)
    store = server.app.state.archive.store
    (folder / names[0]).write_bytes(store.read_bytes(f"spectra/{OBS}/{names[0]}"))  # right bytes
    wrong = b"x" * store.size(f"spectra/{OBS}/{names[1]}")  # same size, wrong bytes
    (folder / names[1]).write_bytes(wrong)
    counts = count_requests(
        server, f"/files/spectra/{OBS}/{names[0]}", f"/files/spectra/{OBS}/{names[1]}"
    )
    result = fetch(fast_api(server, helpers), synced, plan_downloads(synced, observations=[OBS]))
    assert result.ok and result.downloaded == len(names)
    hits = counts()
    assert hits[f"/files/spectra/{OBS}/{names[0]}"] == 0  # adopted after hashing
    assert hits[f"/files/spectra/{OBS}/{names[1]}"] == 1  # replaced by the real file
    assert local_files(synced, OBS) == server_files(server, OBS)


class _Proxy:
    """A real (tiny) forward HTTP proxy on loopback that counts what passes through it."""

    def __init__(self):
        import http.server
        import threading
        import urllib.request

        seen = self.seen = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                seen.append(self.path)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "proxy-connection"}
                req = urllib.request.Request(self.path, headers=headers)
                opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
                try:
                    resp = opener.open(req, timeout=30)
                except urllib.error.HTTPError as exc:
                    resp = exc
                body = resp.read()
                self.send_response(resp.status)
                for k, v in resp.headers.items():
                    if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_downloads_go_through_the_proxy_the_environment_names(server, helpers, synced, monkeypatch):
    proxy = _Proxy()
    try:
        with monkeypatch.context() as env:  # undone before the server fixture cleans up
            env.setenv("http_proxy", proxy.url)
            env.delenv("no_proxy", raising=False)
            env.delenv("NO_PROXY", raising=False)
            plan = plan_downloads(synced, observations=[OBS])
            result = fetch(fast_api(server, helpers), synced, plan)
    finally:
        proxy.close()
    assert result.ok and local_files(synced, OBS) == server_files(server, OBS)
    files = [p for p in proxy.seen if "/files/" in p]
    assert len(files) == len(server_files(server, OBS))
    assert all(p.startswith(server.base_url + "/files/") for p in files)  # absolute URIs
    # the manifest came through the same proxy: one layer, one reading of the environment
    assert server.base_url + f"/observations/{OBS}/manifest" in proxy.seen


def test_no_proxy_is_honoured_by_api_calls_and_downloads(server, helpers, synced, monkeypatch):
    proxy = _Proxy()
    try:
        with monkeypatch.context() as env:
            env.setenv("http_proxy", proxy.url)
            env.delenv("no_proxy", raising=False)
            env.setenv("NO_PROXY", "127.0.0.1")
            plan = plan_downloads(synced, observations=[OBS])
            result = fetch(fast_api(server, helpers), synced, plan)
    finally:
        proxy.close()
    assert result.ok and result.downloaded == len(plan)
    assert proxy.seen == []  # neither the manifest nor a file went through the proxy
