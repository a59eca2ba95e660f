"""The file routes of an archive whose files are in S3 (moto_server on loopback): manifest URLs
answer a redirect to a short-lived presigned GET after the access check, Range goes through to
the object store, and the JSON, fit and cutout routes read from the bucket."""

from __future__ import annotations

import hashlib
import os
import sqlite3
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
import requests
from botocore.config import Config
from s3archive import s3_served

from campfire.server.http.signing import STORE_URL_SECONDS, UrlSigner

pytestmark = pytest.mark.embedded_only  # it moves its archive's files into S3 itself


@pytest.fixture(scope="module")
def s3srv(copy_tiny_archive, tmp_path_factory, s3_endpoint):
    served = copy_tiny_archive(tmp_path_factory.mktemp("s3-files") / "archive")
    with s3_served(served, s3_endpoint) as srv:
        yield srv


def auth(srv, who: str) -> dict[str, str]:
    return {"Authorization": "Bearer " + srv.user(f"{who}@campfire.demo")["api_key"]}


def db(srv) -> sqlite3.Connection:
    conn = sqlite3.connect(srv.archive_dir / "archive.db")
    conn.row_factory = sqlite3.Row
    return conn


def first_manifest(srv, who="alice"):
    obs = db(srv).execute("SELECT observation FROM spectra ORDER BY observation").fetchone()[0]
    resp = requests.get(f"{srv.base_url}/observations/{obs}/manifest", headers=auth(srv, who))
    assert resp.status_code == 200
    return resp.json()


def test_a_manifest_url_redirects_to_a_presigned_get_of_verified_bytes(s3srv):
    entry = first_manifest(s3srv)["spectra"][0]
    blob = s3srv.app.state.archive.store._blob(entry["file_hash"])
    hop = requests.get(entry["download_url"], allow_redirects=False, timeout=10)
    assert hop.status_code == 307 and hop.content == b""
    assert hop.headers["Cache-Control"] == "no-store"
    location = hop.headers["Location"]
    assert location.startswith(os.environ["AWS_ENDPOINT_URL"] + "/")
    assert urlsplit(location).path.endswith(blob)  # the catalog's content, by its digest
    assert int(parse_qs(urlsplit(location).query)["X-Amz-Expires"][0]) == STORE_URL_SECONDS
    got = requests.get(entry["download_url"], timeout=10)
    assert got.status_code == 200 and got.url == location
    assert "sha256:" + hashlib.sha256(got.content).hexdigest() == entry["file_hash"]
    assert len(got.content) == entry["file_size"]
    name = entry["fits_path"].rsplit("/", 1)[-1]
    assert f'filename="{name}"' in got.headers["Content-Disposition"]


def test_range_and_head_go_through_to_the_object_store(s3srv):
    entry = first_manifest(s3srv)["spectra"][1]
    whole = requests.get(entry["download_url"], timeout=10).content
    part = requests.get(entry["download_url"], headers={"Range": "bytes=1000-"}, timeout=10)
    assert part.status_code == 206 and part.content == whole[1000:]
    assert part.headers["Content-Range"] == f"bytes 1000-{len(whole) - 1}/{len(whole)}"
    head = requests.head(entry["download_url"], allow_redirects=True, timeout=10)
    assert head.status_code == 200 and int(head.headers["Content-Length"]) == len(whole)


def test_access_is_checked_before_the_redirect(s3srv):
    # a signed URL for bob (public programs only) to a file of a private program
    row = (
        db(s3srv)
        .execute(
            "SELECT s.fits_path FROM spectra s JOIN programs p ON p.slug = s.program_slug "
            "WHERE p.is_public = 0 LIMIT 1"
        )
        .fetchone()
    )
    bob = db(s3srv).execute("SELECT id FROM users WHERE email = 'bob@campfire.demo'").fetchone()[0]
    signer = UrlSigner(s3srv.app.state.archive.secret)
    url = str(signer.url(s3srv.base_url, "GET", "/files/" + row[0], bob, 60))
    denied = requests.get(url, allow_redirects=False, timeout=10)
    assert denied.status_code == 403 and "Location" not in denied.headers
    forged = url.replace("sig=", "sig=0")
    bad = requests.get(forged, allow_redirects=False, timeout=10)
    assert bad.status_code == 403 and "Location" not in bad.headers


def test_a_missing_object_is_404_not_a_redirect(s3srv):
    entry = first_manifest(s3srv)["spectra"][2]
    store = s3srv.app.state.archive.store
    data = store.read_bytes(entry["fits_path"])
    store.delete(entry["fits_path"])
    blob = store._blob(entry["file_hash"])
    store.client.delete_object(Bucket=store.bucket, Key=blob)  # the content is gone too
    store._known.discard(blob)
    try:
        resp = requests.get(entry["download_url"], allow_redirects=False, timeout=10)
        assert resp.status_code == 404 and resp.json()["error"] == "File not found"
    finally:
        store.put_bytes(entry["fits_path"], data, entry["file_hash"])
    assert requests.get(entry["download_url"], timeout=10).content == data


def test_spectrum_json_fit_and_cutout_read_from_the_bucket(s3srv):
    row = (
        db(s3srv)
        .execute("SELECT spectrum_id, fits_path FROM spectra WHERE has_zfit = 1 LIMIT 1")
        .fetchone()
    )
    store = s3srv.app.state.archive.store
    spec = requests.get(
        f"{s3srv.base_url}/spectrum", params={"spectrum_id": row[0]}, headers=auth(s3srv, "alice")
    )
    assert spec.status_code == 200
    assert spec.content == store.read_bytes(row[1].replace(".fits", ".json", 1))
    fit = requests.get(
        f"{s3srv.base_url}/redshift-fit",
        params={"spectrum_id": row[0]},
        headers=auth(s3srv, "alice"),
    )
    assert fit.status_code == 200
    assert fit.content == store.read_bytes(row[1].replace("_spec.fits", "_zfit.json"))
    obj = (
        db(s3srv)
        .execute("SELECT o.object_id FROM objects o JOIN map_layers m ON m.field = o.field LIMIT 1")
        .fetchone()[0]
    )
    cut = requests.get(
        f"{s3srv.base_url}/cutout", params={"object_id": obj}, headers=auth(s3srv, "alice")
    )
    assert cut.status_code == 200 and cut.content[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_store_failing_is_a_502_not_a_traceback(s3srv, monkeypatch):
    entry = first_manifest(s3srv)["spectra"][0]
    store = s3srv.app.state.archive.store
    # the object store goes away: the store's client now talks to a port nobody listens on
    dead = boto3.client(
        "s3",
        endpoint_url="http://127.0.0.1:9",
        config=Config(retries={"max_attempts": 1}, connect_timeout=2),
    )
    monkeypatch.setattr(store, "client", dead)
    monkeypatch.setattr(store, "_known", set())  # no blob known to exist: the store is asked
    resp = requests.get(entry["download_url"], allow_redirects=False, timeout=30)
    assert resp.status_code == 502 and "file store did not answer" in resp.json()["error"]
    spec = requests.get(
        f"{s3srv.base_url}/spectrum",
        params={"path": entry["fits_path"]},
        headers=auth(s3srv, "alice"),
    )
    assert spec.status_code == 502
