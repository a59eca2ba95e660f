"""Our client against an archive whose files are in S3 (moto_server on loopback): it syncs,
downloads through the presigned redirects and verifies every file's SHA-256 and size, resumes a
partial file with Range at the object store, and rides out a fault the server injects."""

from __future__ import annotations

import hashlib

import pytest
from s3archive import s3_served

from campfire.archive.backoff import RetryPolicy
from campfire.catalog.store import Store
from campfire.download.plan import plan_downloads
from campfire.download.run import download
from campfire.sync.engine import sync_catalog

OBS = "ember_uds_p4"


@pytest.fixture(scope="module")
def s3srv(demo_archive, tmp_path_factory, s3_endpoint):
    import shutil

    served = tmp_path_factory.mktemp("s3-client") / "archive"
    shutil.copytree(demo_archive, served)
    with s3_served(served, s3_endpoint) as srv:
        yield srv
        srv.clear_faults()


def bucket_files(srv, observation):
    """{file name: (sha256, size)} read from the bucket itself (the independent reference)."""
    store = srv.app.state.archive.store
    out = {}
    for key in store.keys(f"spectra/{observation}/"):
        if key.endswith("_spec.fits"):
            data = store.read_bytes(key)
            out[key.rsplit("/", 1)[1]] = ("sha256:" + hashlib.sha256(data).hexdigest(), len(data))
    return out


def local_files(store, observation):
    return {
        p.name: ("sha256:" + hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_size)
        for p in sorted((store.products_dir / observation).glob("*"))
    }


@pytest.fixture
def synced(s3srv, helpers, tmp_path):
    store = Store(tmp_path / "meta" / "campfire.db")
    sync_catalog(helpers.make_api(s3srv), store)
    yield store
    store.close()


def fetch(srv, helpers, store, plan, **kw):
    retry = RetryPolicy(retries=3, backoff=0.01, jitter=0.0, sleep=lambda s: None)
    return download(helpers.make_api(srv), store, plan, retry=retry, **kw)


def test_sync_and_download_through_presigned_redirects(s3srv, helpers, synced):
    want = bucket_files(s3srv, OBS)
    plan = plan_downloads(synced, observations=[OBS])
    assert len(plan) == len(want) > 0
    result = fetch(s3srv, helpers, synced, plan)
    assert result.ok and local_files(synced, OBS) == want


def test_a_partial_file_is_resumed_with_range_at_the_object_store(s3srv, helpers, synced):
    want = bucket_files(s3srv, OBS)
    name = sorted(want)[1]
    plan = plan_downloads(synced, observations=[OBS])
    task = next(f for f in plan.files if f.local_path.endswith(name))
    data = s3srv.app.state.archive.store.read_bytes(f"spectra/{OBS}/{name}")
    part = synced.products_dir / OBS / f".{name}.{task.file_hash.split(':')[1][:16]}.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(data[:100_000])
    events = []
    result = fetch(s3srv, helpers, synced, plan, progress=lambda *e: events.append(e))
    assert result.ok and local_files(synced, OBS) == want
    fetched = sum(e[2] for e in events if e[0] == "bytes")
    assert fetched == plan.total_bytes - 100_000  # only the missing tail came from S3


def test_a_fault_before_the_redirect_is_retried(s3srv, helpers, synced):
    want = bucket_files(s3srv, OBS)
    name = sorted(want)[0]
    s3srv.set_faults(
        [{"path": f"/files/spectra/{OBS}/{name}", "kind": "status", "status": 503, "times": 2}]
    )
    try:
        result = fetch(s3srv, helpers, synced, plan_downloads(synced, observations=[OBS]))
        hits = [r["hits"] for r in s3srv.faults()]
    finally:
        s3srv.clear_faults()
    assert hits == [2]  # the server answered 503 twice, then redirected
    assert result.ok and local_files(synced, OBS) == want


def test_campfire_syncs_and_downloads_from_the_s3_archive(s3srv, tmp_path):
    from demo_clients import user_client

    cf = user_client(s3srv, "alice", tmp_path / "cf")
    cf.sync()
    result = cf.download([OBS])
    assert result.ok
    folder = cf.settings.products_dir / OBS
    got = {
        p.name: ("sha256:" + hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_size)
        for p in sorted(folder.glob("*"))
    }
    assert got == bucket_files(s3srv, OBS)
