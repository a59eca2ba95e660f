"""Issue #13, the server: each numbered finding of the hostile-input probe, reproduced over
loopback against the real server and shown fixed (each test fails on the code before the fix).
"""

from __future__ import annotations

import logging
import os
import stat
import statistics
import time

import pytest
import requests
from server_products import USERS, api_get
from test_server_auth import _tokens, browser_login, refresh

from campfire.server.archive import Archive
from campfire.server.http.limiter import KEEP_SECONDS, LoginThrottle, WindowCounters
from campfire.server.storage.database import Database
from campfire.server.testing import running_server

GRANT = "urn:ietf:params:oauth:grant-type:device_code"


# -- 1. memory without logging in --------------------------------------------------------------


def test_a_request_body_over_the_cap_is_413_json_before_it_is_read(server):
    big = {"grant_type": GRANT, "device_code": "x" * (2 << 20)}
    r = requests.post(server.base_url + "/auth/device/token", json=big, timeout=30)
    assert r.status_code == 413
    assert "too large" in r.json()["error"]


def test_a_chunked_body_over_the_cap_is_413_too(server):
    def chunks():
        for _ in range(40):
            yield b"a" * 65536  # 2.5 MiB in all, no Content-Length

    r = requests.post(server.base_url + "/auth/device/token", data=chunks(), timeout=30)
    assert r.status_code == 413 and "too large" in r.json()["error"]


def test_made_up_device_codes_cost_the_server_nothing_that_lasts(server):
    """Poll times are kept on the code's own row (shared by every process, #12): a made-up
    code, however long, has none, so polling with it stores nothing anywhere."""
    conn = server.app.state.archive.db.conn()
    before = conn.execute("SELECT count(*), count(polled_at) FROM device_codes").fetchone()
    for i in range(20):
        r = requests.post(
            server.base_url + "/auth/device/token",
            json={"grant_type": GRANT, "device_code": f"{i}" + "z" * 500_000},
            timeout=30,
        )
        assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    assert conn.execute("SELECT count(*), count(polled_at) FROM device_codes").fetchone() == before
    assert vars(server.app.state.poll_tracker).keys() == {"db"}  # no per-code memory


# -- 2. logins: throttled, and checked off the event loop -----------------------------------------


def _login(srv, email, password="wrong"):
    return requests.post(
        srv.root_url + "/login",
        data={"email": email, "password": password},
        allow_redirects=False,
        timeout=30,
    )


def test_failed_logins_are_limited_per_account_and_the_right_password_still_counts(fresh):
    email = USERS["public"]["email"]
    codes = [_login(fresh, email).status_code for _ in range(11)]
    assert codes[:10] == [401] * 10
    assert codes[10] == 429
    held = _login(fresh, email, USERS["public"]["password"])
    assert held.status_code == 429 and int(held.headers["Retry-After"]) > 0
    # another account from the same address is not held back
    ok = _login(fresh, USERS["full"]["email"], USERS["full"]["password"])
    assert ok.status_code == 303


def test_login_attempts_are_limited_per_address(tmp_path):
    t = LoginThrottle(Database(tmp_path / "archive.db"), per_address=3, per_account=100)
    assert [t.check("10.0.0.9", f"u{i}@x.org", now=float(i)) for i in range(3)] == [None] * 3
    assert t.check("10.0.0.9", "u9@x.org", now=3.0) == 57
    assert t.check("10.0.0.8", "u9@x.org", now=3.0) is None


def test_unknown_and_known_emails_take_as_long_to_refuse(fresh):
    """7: timing must not tell which e-mails are registered (same-run ratio, not a limit)."""

    def median_seconds(email):
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            assert _login(fresh, email).status_code == 401
            times.append(time.perf_counter() - t0)
        return statistics.median(times)

    known = median_seconds(USERS["admin"]["email"])
    unknown = median_seconds("nobody-at-all@example.org")
    # before the fix: ~4 ms against ~120 ms (a ratio near 0.03); now both run one scrypt
    assert unknown / known > 0.4, (unknown, known)


# -- 3. rate-limit buckets only for real credentials ----------------------------------------------


def test_made_up_api_keys_share_the_address_bucket_and_cost_no_memory(built, backend, tmp_path):
    root, keys = built
    backend.copy(root / "archive", tmp_path / "archive")
    with running_server(tmp_path / "archive", rate_limit=5) as srv:
        codes = []
        for i in range(8):
            h = {"Authorization": f"Bearer sk_{os.urandom(16).hex()}{i}"}
            codes.append(
                requests.get(srv.base_url + "/metadata", headers=h, timeout=10).status_code
            )
        assert codes[:5] == [401] * 5 and codes[5:] == [429] * 3
        windows = [m for m in _middlewares(srv.app) if hasattr(m, "window")]
        assert len(windows[0].window) == 1  # one bucket: the address
        # a real key has its own bucket, so the flood above does not starve it
        good = {"Authorization": f"Bearer {keys['full']}"}
        assert requests.get(srv.base_url + "/metadata", headers=good, timeout=10).ok


def _middlewares(app):
    stack = app.middleware_stack
    while stack is not None:
        yield stack
        stack = getattr(stack, "app", None)


def test_the_counters_forget_old_windows(tmp_path):
    db = Database(tmp_path / "archive.db")
    w = WindowCounters(db, "api", 5)
    for i in range(1000):
        w.hit(f"k{i}", now=0.0)
    assert w.live(now=0.0) == 1000
    w._pruned = -1e9  # the once-a-minute clean-up is due
    w.hit("late", now=2 * KEEP_SECONDS)
    db.close()  # waits for the background delete
    rows = Database(tmp_path / "archive.db").conn().execute("SELECT bucket FROM rate_counters")
    assert [r[0] for r in rows] == ["api:late"]


# -- 4. archive permissions -------------------------------------------------------------------


def _mode(path):
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_archive_is_private_whatever_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        archive = Archive(tmp_path / "new")
        archive.db.conn().execute("CREATE TABLE probe (x)")
        archive.close()
    finally:
        os.umask(old)
    assert _mode(tmp_path / "new") == 0o700
    for f in (tmp_path / "new").glob("archive.db*"):
        assert _mode(f) == 0o600, f


def test_an_open_archive_is_tightened_with_a_warning(tmp_path, caplog):
    Archive(tmp_path / "a").close()
    os.chmod(tmp_path / "a", 0o755)
    os.chmod(tmp_path / "a" / "archive.db", 0o644)
    with caplog.at_level(logging.WARNING, logger="campfire.server"):
        Archive(tmp_path / "a").close()
    assert _mode(tmp_path / "a") == 0o700 and _mode(tmp_path / "a" / "archive.db") == 0o600
    assert "readable by other local users" in caplog.text


# -- 5. filters reveal nothing hidden ---------------------------------------------------------


def _object_ids(srv, user, **params):
    r = api_get(srv, "/objects", user, **params)
    assert r.status_code == 200, r.text
    return [o["object_id"] for o in r.json()["data"]]


def test_search_does_not_match_a_hidden_target_id(server):
    # beta_uds_p1_7 (private BETA) shares an object with alpha_uds_p1_1 (public ALPHA)
    assert _object_ids(server, "full", search="beta_uds_p1_7")  # the grantee finds it
    assert _object_ids(server, "public", search="beta_uds_p1_7") == []
    assert _object_ids(server, "public", search="alpha_uds_p1_1")  # visible ids still match


def test_observations_filter_does_not_match_a_hidden_observation(server):
    assert _object_ids(server, "full", observations="beta_uds_p1")
    assert _object_ids(server, "public", observations="beta_uds_p1") == []
    assert _object_ids(server, "public", observations="alpha_uds_p1")


def test_another_users_private_list_matches_nothing(fresh):
    archive = fresh.app.state.archive
    conn = archive.db.conn()
    full_id = conn.execute(
        "SELECT id FROM users WHERE email = ?", (USERS["full"]["email"],)
    ).fetchone()[0]
    conn.execute(
        "INSERT INTO lists (slug, name, visibility, created_by, created_at, updated_at) "
        "VALUES ('secret-picks', 'Secret', 'private', ?, '2026-01-01', '2026-01-01')",
        (full_id,),
    )
    list_id = conn.execute("SELECT id FROM lists WHERE slug = 'secret-picks'").fetchone()[0]
    conn.execute(
        "INSERT INTO list_members (list_id, object_pk) SELECT ?, id FROM objects",
        (list_id,),
    )
    mine = _object_ids(fresh, "full", lists="secret-picks")
    assert mine  # the owner's filter works
    assert _object_ids(fresh, "public", lists="secret-picks") == []
    spectra = api_get(fresh, "/spectra/list", "public", lists="secret-picks").json()
    assert spectra["data"] == [] and spectra["pagination"]["total"] == 0


# -- 6. 400, not 500 ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("route", "params"),
    [
        ("/objects", {"offset": str(2**63)}),
        ("/objects", {"offset": str(2**70)}),
        ("/spectra/list", {"offset": str(2**63)}),
        ("/sync/objects", {"offset": str(2**63)}),
        ("/sync/spectra", {"offset": str(2**64)}),
        ("/objects", {"dq_flags": str(2**63)}),
        ("/objects", {"dq_flags_exclude": str(-(2**63) - 1)}),
        ("/spectra/list", {"dq_flags_include_all": str(2**80)}),
        ("/cutout", {"object_id": "x", "size": "inf"}),
    ],
)
def test_out_of_range_numbers_are_400(server, route, params):
    if route == "/cutout":
        params = {**params, "object_id": _object_ids(server, "full")[0]}
    r = api_get(server, route, "full", **params)
    assert r.status_code == 400, r.text
    assert "Invalid parameter" in r.json()["error"]


def test_huge_quality_codes_match_nothing_instead_of_failing(server):
    r = api_get(server, "/objects", "full", redshift_quality=str(2**64))
    assert r.status_code == 200 and r.json()["data"] == []
    oid = _object_ids(server, "full")[0]
    assert api_get(server, "/cutout", "full", object_id=oid, size="1e309").status_code == 400


@pytest.mark.parametrize(
    "route", ["/auth/device/token", "/auth/refresh", "/auth/device/validate", "/deploy/presign"]
)
def test_deeply_nested_json_is_400(server, route):
    deep = "[" * 100_000 + "]" * 100_000
    h = {"Content-Type": "application/json", "Authorization": f"Bearer {server.keys['admin']}"}
    r = requests.post(server.base_url + route, data=deep, headers=h, timeout=30)
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "invalid_request"


def _presign(srv, *keys):
    h = {"Authorization": f"Bearer {srv.keys['admin']}"}
    body = {"uploads": [{"key": k} for k in keys]}
    return requests.post(srv.base_url + "/deploy/presign", json=body, headers=h, timeout=10)


@pytest.mark.local_files  # uploads to an S3 store go to the bucket, not through the app
def test_upload_keys_that_clash_are_409_and_a_number_key_is_400(fresh):
    urls = _presign(fresh, "a", "a/b", "d/e", "d").json()["urls"]
    assert requests.put(urls["a"], data=b"1", timeout=10).status_code == 200
    clash = requests.put(urls["a/b"], data=b"2", timeout=10)
    assert clash.status_code == 409 and "clashes" in clash.json()["error"]
    assert requests.put(urls["d/e"], data=b"3", timeout=10).status_code == 200
    assert requests.put(urls["d"], data=b"4", timeout=10).status_code == 409
    bad = _presign(fresh, 5)
    assert bad.status_code == 400 and "uploads[0]" in bad.json()["error_description"]


def test_non_ascii_signatures_and_csrf_tokens_are_refused_not_500(server):
    """Found by schemathesis: ``hmac.compare_digest`` raises TypeError on non-ASCII text."""
    body = api_get(server, "/observations/alpha_uds_p1/manifest", "full").json()
    url = body["spectra"][0]["download_url"].split("&sig=")[0] + "&sig=%C3%A9"
    assert requests.get(url, timeout=10).status_code == 403
    browser = browser_login(server)
    r = browser.post(
        server.base_url + "/auth/device/authorize",
        json={"user_code": "ABCD-EFGH", "action": "deny"},
        headers={"X-CSRF-Token": "é"},
        timeout=10,
    )
    assert r.status_code == 403


# -- 8. refresh token reuse revokes the family --------------------------------------------------


def test_reusing_a_rotated_refresh_token_revokes_the_newer_one(server):
    first = _tokens(server)
    second = refresh(server, first["refresh_token"]).json()
    assert "refresh_token" in second
    assert refresh(server, first["refresh_token"]).status_code == 400  # the reuse
    after = refresh(server, second["refresh_token"])
    assert (after.status_code, after.json()["error"]) == (400, "invalid_grant")


# -- 9. no framing -----------------------------------------------------------------------------


def test_pages_refuse_to_be_framed(server):
    for url in (server.root_url + "/login", server.root_url + "/cli-auth?code=ABCD-EFGH"):
        r = requests.get(url, timeout=10)
        assert r.headers["X-Frame-Options"] == "DENY"
        assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]


# -- 10. an invalid Range is ignored ------------------------------------------------------------


def test_a_syntactically_invalid_range_gets_the_whole_file(server):
    body = api_get(server, "/observations/alpha_uds_p1/manifest", "full").json()
    entry = body["spectra"][0]
    for rng in ("bytes=--5", "bytes=5-x", "bytes=-", "bytes=1-2-3"):
        r = requests.get(entry["download_url"], headers={"Range": rng}, timeout=10)
        assert r.status_code == 200, rng
        assert len(r.content) == entry["file_size"]
    assert requests.get(entry["download_url"], headers={"Range": "bytes=-5"}).status_code == 206


# -- 11. the access log ---------------------------------------------------------------------------


@pytest.mark.local_files  # it logs a file answered 200 by the app (on S3: a 307)
def test_every_request_is_logged_once_without_secrets(server, caplog):
    body = api_get(server, "/observations/alpha_uds_p1/manifest", "full").json()
    url = body["spectra"][0]["download_url"]
    with caplog.at_level(logging.INFO, logger="campfire.server.access"):
        r = requests.get(url, headers={"X-Request-Id": "probe-42"}, timeout=10)
        m = api_get(server, "/metadata", "full")
        time.sleep(0.2)  # the server thread logs after the last byte is sent
    assert r.headers["X-Request-Id"] == "probe-42" and len(m.headers["X-Request-Id"]) == 16
    entries = [rec.access for rec in caplog.records if hasattr(rec, "access")]
    files = [e for e in entries if e["request_id"] == "probe-42"]
    assert len(files) == 1
    assert files[0]["route"] == "/api/v1/files/{path:path}"
    assert files[0]["method"] == "GET" and files[0]["status"] == 200
    assert files[0]["duration_ms"] >= 0
    meta = [e for e in entries if e["request_id"] == m.headers["X-Request-Id"]]
    assert meta[0]["route"] == "/api/v1/metadata" and meta[0]["user_id"]
    text = "\n".join(rec.getMessage() for rec in caplog.records)
    assert "sig=" not in text and server.keys["full"] not in text and "expires=" not in text


# -- found by the soak: connections of ended worker threads ---------------------------------------


def test_connections_of_ended_threads_are_closed(tmp_path):
    import threading

    archive = Archive(tmp_path / "a")
    try:
        opened = []
        for _ in range(20):  # worker threads come and go, as anyio's idle ones do
            t = threading.Thread(target=lambda: opened.append(archive.db.conn()))
            t.start()
            t.join()
        archive.db.conn()  # a live thread opening its connection reaps the ended ones
        assert len(archive.db._all) <= 2
        with pytest.raises(Exception, match="closed"):
            opened[0].execute("SELECT 1")
    finally:
        archive.close()
