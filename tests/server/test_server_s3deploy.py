"""Deploying into an archive whose files are in S3 (moto_server on loopback): ``campfire deploy
--base-url`` uploads straight to the bucket through presigned PUT (multipart above the
threshold), the ingest reads the staged products from the store, and ``campfire deploy
--archive --store s3://...`` writes a local deploy's files into the bucket."""

from __future__ import annotations

import hashlib
import os
import shutil

import pytest
import requests
from click.testing import CliRunner
from s3archive import s3_served
from server_products import USERS, api_get, write_all, write_program

from campfire.cli import main
from campfire.server.archive import Archive
from campfire.server.ingest.uploader import _put_parts
from campfire.server.storage.s3store import S3FileStore

GAMMA = {
    "slug": "GAMMA-UDS",
    "obs": "gamma_uds_p1",
    "public": True,
    "targets": {5: (34.41, -5.21), 6: (34.42, -5.22)},
    "spectra": [("prism", "clear", 5, 1.0, 2.0), ("g395m", "f290lp", 6, 1.5, 2.5)],
}

pytestmark = pytest.mark.embedded_only  # it moves its archive's files into S3 itself


def run(*args):
    return CliRunner().invoke(main, list(map(str, args)))


@pytest.fixture
def s3fresh(built, tmp_path, s3_endpoint):
    root, keys = built
    shutil.copytree(root / "archive", tmp_path / "archive")
    with s3_served(tmp_path / "archive", s3_endpoint) as srv:
        srv.keys = keys
        yield srv


def admin(srv) -> dict[str, str]:
    return {"Authorization": f"Bearer {srv.keys['admin']}"}


def test_remote_deploy_uploads_to_the_bucket_and_ingests_from_it(s3fresh, tmp_path):
    folder = write_program(tmp_path / "p", GAMMA)
    store = s3fresh.app.state.archive.store
    sent: dict[str, list[str]] = {"copies": [], "uploads": []}  # what the app asks of S3

    def seen(params, model, **_):
        if model.name == "CopyObject":
            sent["copies"].append(params["Key"])
        elif model.name in ("PutObject", "CreateMultipartUpload") and params.get("Body", b""):
            sent["uploads"].append(params["Key"])

    store.client.meta.events.register("before-parameter-build.s3", seen)
    r = run("deploy", folder, "--base-url", s3fresh.base_url, "--api-key", s3fresh.keys["admin"])
    assert r.exit_code == 0, r.output
    assert "GAMMA-UDS: 2 spectra ingested" in r.output

    # the FITS blobs (named by their sha256 alone) are server-side copies of the staged
    # uploads, never uploaded by the app: their bytes crossed the network once
    def fits_blobs(keys):
        return {k for k in keys if "/.blobs/" in k and "." not in k.rsplit("/", 1)[1]}

    assert len(fits_blobs(sent["copies"])) == 2 and not fits_blobs(sent["uploads"]), sent
    assert not list(store.keys(".uploads/"))  # the staged products are removed after ingest
    assert not (s3fresh.archive_dir / "uploads").exists()  # nothing went through local disk
    rows = api_get(s3fresh, "/spectra/list", "public", programs="GAMMA-UDS").json()["data"]
    assert sorted(s["spectrum_id"] for s in rows) == [
        "gamma_uds_p1_g395m_f290lp_6",
        "gamma_uds_p1_prism_clear_5",
    ]
    manifest = api_get(s3fresh, "/observations/gamma_uds_p1/manifest", "public").json()
    for entry in manifest["spectra"]:
        src = folder / "gamma_uds_p1" / entry["fits_path"].rsplit("/", 1)[1]
        got = requests.get(entry["download_url"], timeout=10)
        assert got.history[0].status_code == 307
        assert got.content == src.read_bytes()
        assert entry["file_hash"] == "sha256:" + hashlib.sha256(got.content).hexdigest()


def test_presign_answers_object_store_urls_and_multipart_plans(s3fresh):
    store = s3fresh.app.state.archive.store
    assert isinstance(store, S3FileStore)
    store.multipart_threshold = store.part_size = 5 << 20  # S3's smallest part
    big = os.urandom((10 << 20) + 7)
    body = {
        "uploads": [
            {"key": "staging/t/small.txt", "size": 5},
            {"key": "staging/t/big.bin", "size": len(big)},
        ]
    }
    url = s3fresh.base_url + "/deploy/presign"
    answer = requests.post(url, json=body, headers=admin(s3fresh), timeout=10).json()
    small = answer["urls"]["staging/t/small.txt"]
    assert small.startswith(os.environ["AWS_ENDPOINT_URL"] + "/")
    assert requests.put(small, data=b"hello", timeout=10).status_code == 200
    assert store.read_bytes(".uploads/data/staging/t/small.txt") == b"hello"
    plan = answer["multipart"]["staging/t/big.bin"]
    assert len(plan["part_urls"]) == 3 and "staging/t/big.bin" not in answer["urls"]
    src = s3fresh.archive_dir.parent / "big.bin"
    src.write_bytes(big)
    parts = _put_parts(requests.Session(), src, "staging/t/big.bin", plan)
    done = {"key": "staging/t/big.bin", "upload_id": plan["upload_id"], "parts": parts}
    complete = s3fresh.base_url + "/deploy/complete"
    r = requests.post(complete, json=done, headers=admin(s3fresh), timeout=30)
    assert r.status_code == 200 and r.json() == {"key": "staging/t/big.bin", "completed": True}
    assert store.read_bytes(".uploads/data/staging/t/big.bin") == big
    user = {"Authorization": f"Bearer {s3fresh.keys['full']}"}
    assert requests.post(complete, json=done, headers=user, timeout=10).status_code == 403
    bad = dict(done, parts=[{"part_number": 1}])
    r = requests.post(complete, json=bad, headers=admin(s3fresh), timeout=10)
    assert r.status_code == 400 and "part_number" in r.json()["error_description"]
    unknown = dict(done, upload_id="no-such-upload")
    r = requests.post(complete, json=unknown, headers=admin(s3fresh), timeout=10)
    assert r.status_code == 400 and "not completed" in r.json()["error_description"]
    r = requests.post(
        url, json={"uploads": [{"key": "a", "size": -1}]}, headers=admin(s3fresh), timeout=10
    )
    assert r.status_code == 400 and "size" in r.json()["error_description"]
    nothing = requests.post(
        s3fresh.base_url + "/deploy/ingest",
        json={"prefix": "staging/none/"},
        headers=admin(s3fresh),
        timeout=10,
    )
    assert nothing.status_code == 400 and "program.json missing" in nothing.text


def test_the_upload_cap_holds_for_presigned_uploads(s3fresh, monkeypatch):
    """The 4 GiB cap of ``/deploy/upload`` on an S3 store: an announced size above it is
    refused at ``/deploy/presign``, and a multipart upload whose parts add up to more than it
    is refused at ``/deploy/complete`` (413, the cap named) and abandoned in the bucket.
    The cap is lowered to 12 MiB so the test uploads three 5 MiB parts.
    """
    from campfire.server.routes import deploy

    store = s3fresh.app.state.archive.store
    store.multipart_threshold = store.part_size = 5 << 20
    cap = 12 << 20
    monkeypatch.setattr(deploy, "MAX_UPLOAD_BYTES", cap)
    url = s3fresh.base_url + "/deploy/presign"
    over = {"uploads": [{"key": "staging/t/huge.bin", "size": cap + 1}]}
    r = requests.post(url, json=over, headers=admin(s3fresh), timeout=10)
    assert r.status_code == 413 and str(cap) in r.json()["error"], r.text
    # the client announced the cap, then sends more: three full parts of 5 MiB
    announced = {"uploads": [{"key": "staging/t/huge.bin", "size": cap}]}
    answer = requests.post(url, json=announced, headers=admin(s3fresh), timeout=10).json()
    plan = answer["multipart"]["staging/t/huge.bin"]
    src = s3fresh.archive_dir.parent / "huge.bin"
    src.write_bytes(os.urandom(15 << 20))
    parts = _put_parts(requests.Session(), src, "staging/t/huge.bin", plan)
    done = {"key": "staging/t/huge.bin", "upload_id": plan["upload_id"], "parts": parts}
    r = requests.post(s3fresh.base_url + "/deploy/complete", json=done, headers=admin(s3fresh),
                      timeout=30)  # fmt: skip
    assert r.status_code == 413 and str(cap) in r.json()["error"], r.text
    assert not store.exists(".uploads/data/staging/t/huge.bin")
    uploads = store.client.list_multipart_uploads(Bucket=store.bucket).get("Uploads") or []
    assert plan["upload_id"] not in {u["UploadId"] for u in uploads}


def test_local_deploy_and_admin_with_store_url(tmp_path, s3_store_url):
    products = write_all(tmp_path / "products")
    archive = tmp_path / "archive"
    r = run("deploy", *products, "--archive", archive, "--store", s3_store_url)
    assert r.exit_code == 0, r.output
    assert not (archive / "store").exists()
    opened = Archive(archive)  # the archive remembers its store
    try:
        assert opened.store.url == s3_store_url
        fits = [k for k in opened.store.keys("spectra/") if k.endswith("_spec.fits")]
        assert len(fits) == 8
    finally:
        opened.close()
    email = USERS["admin"]["email"]
    added = run("admin", "--archive", archive, "add-user", email, "--password", "pw-12345678")
    assert added.exit_code == 0, added.output
    listed = run("admin", "--archive", archive, "--store", s3_store_url, "list-users")
    assert listed.exit_code == 0 and email in listed.output
    bad = run("admin", "--archive", archive, "--store", "s3://no-such-bucket-x/a", "list-users")
    assert bad.exit_code == 1 and "does not exist: create it" in bad.output
    mixed = run("deploy", products[0], "--base-url", "http://x/api/v1", "--store", s3_store_url)
    assert mixed.exit_code == 2 and "--store goes with --archive" in mixed.output
