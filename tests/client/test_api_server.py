"""ApiClient against the real server on loopback: endpoints, error mapping, injected faults."""

from __future__ import annotations

from contextlib import nullcontext

import pytest
import requests

from campfire.archive.api import ApiClient
from campfire.archive.auth import ApiKeyProvider
from campfire.archive.backoff import RetryPolicy
from campfire.errors import APIError, AuthenticationError, NotFoundError, RateLimitError


def archive_count(srv, sql, *args):
    """An independent answer: ask the server's own database directly."""
    with nullcontext(srv.app.state.archive.db.conn()) as conn:  # SQLite or PostgreSQL
        return conn.execute(sql, args).fetchone()[0]


def test_version_announces_extensions(server, helpers):
    api = helpers.make_api(server)
    info = api.server_info()
    assert info.has("sync-deletions") and info.has("sync-large-pages")
    assert info.sync_page_size == 10000


def test_endpoints_answer_like_the_contract(server, helpers):
    api = helpers.make_api(server, "alice")
    who = api.whoami()
    assert who["email"] == "alice@campfire.demo" and who["is_admin"] is True
    meta = api.get_metadata()
    assert {p["slug"] for p in meta["programs"]} == {"EMBER-UDS", "RUBIES", "CAPERS"}
    n_obj = archive_count(server, "SELECT COUNT(*) FROM objects WHERE is_active = 1")
    rows, page = api.query_objects(limit=5)
    assert len(rows) == 5 and page["total"] == n_obj
    # iter_objects pages through everything, with a small page size
    ids = [o["object_id"] for o in api.iter_objects(limit=7)]
    assert len(ids) == n_obj == len(set(ids)) and ids == sorted(ids)
    spectra = list(api.iter_spectra(observations=["ember_uds_p4"], limit=10))
    n_spec = archive_count(
        server, "SELECT COUNT(*) FROM spectra WHERE observation = ?", "ember_uds_p4"
    )
    assert len(spectra) == n_spec and {s["observation"] for s in spectra} == {"ember_uds_p4"}
    obs = {o["observation"] for o in api.get_observations()}
    assert obs == {"ember_uds_p4", "rubies_uds_p1", "capers_cosmos_p1"}
    tags = api.fetch_tags()
    assert tags and all("slug" in t for t in tags)
    manifest = api.fetch_manifest("ember_uds_p4")
    assert manifest["spectrum_count"] == n_spec
    entry = manifest["spectra"][0]
    assert entry["file_hash"].startswith("sha256:") and entry["download_url"]
    url = api.get_signed_url(entry["fits_path"])
    head = requests.get(url, headers={"Range": "bytes=0-5"}, timeout=10)
    assert head.status_code == 206 and head.content == b"SIMPLE"  # a FITS file
    data = api.get_spectrum_data(entry["spectrum_id"])
    assert len(data["wave"]) == len(data["fnu"]) > 10
    fit = api.get_redshift_fit_data(entry["spectrum_id"])
    assert "z_grid" in fit
    oid = rows[0]["object_id"]
    png = api.get_cutout(oid, size=32)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert "shutters" in api.get_shutters(oid, radius=3.0)


def test_access_follows_the_login(server, helpers):
    bob = helpers.make_api(server, "bob")  # public programs only
    assert {p["slug"] for p in bob.get_metadata()["programs"]} == {"EMBER-UDS", "CAPERS"}
    with pytest.raises(NotFoundError, match="'rubies_uds_p1' not found or you don't have access"):
        bob.fetch_manifest("rubies_uds_p1")


def test_bad_key_is_an_authentication_error_saying_what_to_do(server, helpers):
    api = ApiClient(helpers.make_settings(server), ApiKeyProvider("sk_live_" + "0" * 64))
    with pytest.raises(AuthenticationError, match="Run: campfire login") as info:
        api.get_metadata()
    assert info.value.status_code == 401 and isinstance(info.value.response, dict)


def test_5xx_is_retried_with_backoff(server, helpers, sleeps):
    server.set_faults([{"path": "/metadata", "kind": "status", "status": 503, "times": 2}])
    api = helpers.make_api(server, sleeps=sleeps)
    assert api.get_metadata()["programs"]
    assert sleeps == [0.01, 0.02]
    assert server.faults()[0]["hits"] == 2


def test_persistent_5xx_becomes_api_error_with_status(server, helpers, sleeps):
    server.set_faults([{"path": "/metadata", "kind": "status", "status": 500, "times": -1}])
    with pytest.raises(APIError, match="API error: 500") as info:
        helpers.make_api(server, sleeps=sleeps).get_metadata()
    assert info.value.status_code == 500 and len(sleeps) == 3


def test_429_honours_retry_after(server, helpers, sleeps):
    server.set_faults([{"path": "/metadata", "kind": "rate_limit", "retry_after": 7}])
    assert helpers.make_api(server, sleeps=sleeps).get_metadata()["programs"]
    assert sleeps == [7.0]


def test_429_after_all_retries_is_rate_limit_error(server, helpers, sleeps):
    server.set_faults([{"path": "/metadata", "kind": "rate_limit", "retry_after": 2, "times": -1}])
    with pytest.raises(RateLimitError, match="Try again in 2 s") as info:
        helpers.make_api(server, sleeps=sleeps).get_metadata()
    assert info.value.status_code == 429 and sleeps == [2.0, 2.0, 2.0]


def test_a_retry_after_too_long_is_not_waited_for(server, helpers, sleeps):
    server.set_faults([{"path": "/metadata", "kind": "rate_limit", "retry_after": 3600}])
    with pytest.raises(RateLimitError):
        helpers.make_api(server, sleeps=sleeps).get_metadata()
    assert sleeps == []


@pytest.mark.parametrize(
    "rule",
    [
        {"kind": "truncate", "after_bytes": 20},
        {"kind": "corrupt", "after_bytes": 1},
        {"kind": "drop", "after_bytes": 10},
    ],
)
def test_broken_bodies_are_retried(server, helpers, sleeps, rule):
    server.set_faults([{"path": "/observations", **rule}])
    api = helpers.make_api(server, sleeps=sleeps)
    assert len(api.get_observations()) == 3
    assert len(sleeps) == 1


def test_a_stalled_answer_times_out_and_is_retried(server, helpers, sleeps):
    server.set_faults([{"path": "/metadata", "kind": "stall", "stall_seconds": 2}])
    api = helpers.make_api(server, sleeps=sleeps, timeout=(5.0, 0.3))
    assert api.get_metadata()["programs"]
    assert len(sleeps) == 1


def test_gzip_is_asked_for_except_on_loopback(server, helpers):
    api = helpers.make_api(server, compress=True)
    r = api.request("GET", "/sync/objects", params={"limit": 50})
    assert r.headers.get("Content-Encoding") == "gzip" and r.json()["data"]
    local = helpers.make_api(server)  # the archive is on this machine: plain bytes
    r = local.request("GET", "/sync/objects", params={"limit": 50})
    assert "Content-Encoding" not in r.headers and r.json()["data"]


def test_posts_are_not_retried(server, helpers, sleeps):
    server.set_faults([{"path": "/auth/device", "kind": "status", "status": 503}])
    api = helpers.make_api(server, sleeps=sleeps)
    with pytest.raises(APIError, match="503"):
        api.request("POST", "/auth/device", auth=False)
    assert sleeps == []


def test_rate_limited_server_is_survived(fresh_server, helpers):
    from campfire.server.testing import running_server

    with running_server(fresh_server.archive_dir, rate_limit=3) as srv:
        waits: list[float] = []
        api = helpers.make_api(srv)
        api.retry = RetryPolicy(retries=2, backoff=0.01, sleep=waits.append)
        for _ in range(3):
            api.get_metadata()
        with pytest.raises(RateLimitError) as info:
            api.get_metadata()  # waits are recorded, not slept: the limit is still hit
        assert info.value.status_code == 429
        assert len(waits) == 2 and all(w >= 1 for w in waits)  # Retry-After from the server
