"""S3FileStore against a real S3 endpoint (moto_server on loopback): the FileStore contract,
SHA-256 deduplication, presigned GET and PUT (single and multipart), garbage collection, and
opening stores from their URLs."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import boto3
import pytest
import requests

from campfire.errors import ValidationError
from campfire.server.storage import s3store
from campfire.server.storage.filestore import LocalFileStore
from campfire.server.storage.s3store import S3FileStore
from campfire.server.storage.storeurl import copy_store, open_store


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.fixture
def store(s3_store_url) -> S3FileStore:
    opened = open_store(s3_store_url, default="unused")
    assert isinstance(opened, S3FileStore)
    return opened


def raw_keys(store: S3FileStore) -> list[str]:
    """Every object in the bucket, read with boto3 directly (the independent view)."""
    client = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=store.bucket)
    return sorted(o["Key"] for page in pages for o in page.get("Contents", []))


def test_put_read_exists_size_delete(store, tmp_path):
    src = tmp_path / "a.fits"
    src.write_bytes(b"F" * 3000)
    store.put_file("spectra/o/a.fits", src)
    store.put_bytes("spectra/o/a.json", b'{"x": 1}')
    assert store.exists("spectra/o/a.fits") and not store.exists("spectra/o/b.fits")
    assert store.read_bytes("spectra/o/a.fits") == b"F" * 3000
    assert store.size("spectra/o/a.fits") == 3000 and store.size("spectra/o/a.json") == 8
    assert list(store.keys("spectra/")) == ["spectra/o/a.fits", "spectra/o/a.json"]
    assert raw_keys(store) == ["archive/spectra/o/a.fits", "archive/spectra/o/a.json"]
    store.get_file("spectra/o/a.json", tmp_path / "copy.json")
    assert (tmp_path / "copy.json").read_bytes() == b'{"x": 1}'
    store.delete("spectra/o/a.fits")
    store.delete("spectra/o/a.fits")  # deleting a missing key is fine
    assert not store.exists("spectra/o/a.fits")
    with pytest.raises(FileNotFoundError):
        store.read_bytes("spectra/o/a.fits")
    with pytest.raises(FileNotFoundError):
        store.size("spectra/o/a.fits")
    with pytest.raises(ValueError, match="invalid storage key"):
        store.exists("spectra/../x")
    assert store.local_path("spectra/o/a.json") is None


def test_identical_contents_are_stored_once(store, tmp_path, monkeypatch):
    data = os.urandom(5000)
    src = tmp_path / "x.fits"
    src.write_bytes(data)
    for i in range(3):
        store.put_file(f"spectra/o/{i}.fits", src, sha(data))
    store.put_bytes("spectra/o/3.fits", data, sha(data))
    blobs = [k for k in raw_keys(store) if "/.blobs/" in k]
    assert blobs == [f"archive/.blobs/{sha(data)[7:9]}/{sha(data)[7:]}"]
    client = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
    pointer = client.head_object(Bucket=store.bucket, Key="archive/spectra/o/1.fits")
    assert pointer["ContentLength"] == 0  # the key holds a pointer, not a copy
    for i in range(4):
        assert store.read_bytes(f"spectra/o/{i}.fits") == data
        assert store.size(f"spectra/o/{i}.fits") == 5000
    # garbage collection keeps blobs in use and young blobs, removes old unused ones
    store.put_bytes("spectra/o/other.json", b"{}", sha(b"{}"))
    for i in range(4):
        store.delete(f"spectra/o/{i}.fits")
    assert store.collect_garbage() == 0  # both blobs are younger than ten minutes
    monkeypatch.setattr(s3store, "_GC_MIN_AGE", -5)
    assert store.collect_garbage() == 1
    assert [k for k in raw_keys(store) if "/.blobs/" in k] == [
        f"archive/.blobs/{sha(b'{}')[7:9]}/{sha(b'{}')[7:]}"
    ]
    assert store.read_bytes("spectra/o/other.json") == b"{}"
    store.put_file("spectra/o/again.fits", src, sha(data))  # a collected blob is written anew
    assert store.read_bytes("spectra/o/again.fits") == data


def test_presigned_get_and_head_answer_the_bytes_with_range(store):
    data = os.urandom(20_000)
    store.put_bytes("spectra/o/a_spec.fits", data, sha(data))
    url = store.presign_get("spectra/o/a_spec.fits", 60, filename="a_spec.fits")
    assert url.startswith(os.environ["AWS_ENDPOINT_URL"] + "/" + store.bucket + "/")
    got = requests.get(url, timeout=10)
    assert got.status_code == 200 and got.content == data
    assert 'filename="a_spec.fits"' in got.headers["Content-Disposition"]
    part = requests.get(url, headers={"Range": "bytes=100-"}, timeout=10)
    assert part.status_code == 206 and part.content == data[100:]
    head = requests.head(store.presign_get("spectra/o/a_spec.fits", 60, method="HEAD"), timeout=10)
    assert head.status_code == 200 and int(head.headers["Content-Length"]) == len(data)
    with pytest.raises(FileNotFoundError):
        store.presign_get("spectra/o/missing.fits", 60)


def test_a_known_blob_is_presigned_without_asking_the_store(store, tmp_path):
    """``presign_ready`` answers only once the blob is known (no request to the store), with
    the URL ``presign_get`` made, and that URL answers the bytes.
    """
    data = os.urandom(5_000)
    digest = sha(data)
    store.put_bytes("spectra/o/b_spec.fits", data, digest)
    fresh = S3FileStore(store.bucket, store.prefix)  # knows no blob yet
    assert fresh.presign_ready("spectra/o/b_spec.fits", 60, digest=digest) is None
    assert fresh.presign_ready("spectra/o/b_spec.fits", 60) is None  # no digest: must ask
    url = fresh.presign_get("spectra/o/b_spec.fits", 60, filename="b.fits", digest=digest)
    ready = fresh.presign_ready("spectra/o/b_spec.fits", 60, filename="b.fits", digest=digest)
    assert ready == url
    assert requests.get(ready, timeout=10).content == data
    assert LocalFileStore(tmp_path).presign_ready("a", 60, digest=digest) is None


def test_presigned_put_single_and_multipart(store, monkeypatch):
    plan = store.presign_put(".uploads/data/small.bin", 10, 60)
    assert set(plan) == {"url"}
    assert requests.put(plan["url"], data=b"0123456789", timeout=10).status_code == 200
    assert store.read_bytes(".uploads/data/small.bin") == b"0123456789"

    monkeypatch.setattr(store, "multipart_threshold", 5 << 20)
    monkeypatch.setattr(store, "part_size", 5 << 20)
    data = os.urandom((11 << 20) + 123)
    plan = store.presign_put(".uploads/data/big.bin", len(data), 60)
    assert plan["part_size"] == 5 << 20 and len(plan["part_urls"]) == 3
    parts = []
    for n, url in enumerate(plan["part_urls"], start=1):
        chunk = data[(n - 1) * plan["part_size"] : n * plan["part_size"]]
        resp = requests.put(url, data=chunk, timeout=30)
        assert resp.status_code == 200
        parts.append({"part_number": n, "etag": resp.headers["ETag"]})
    assert not store.exists(".uploads/data/big.bin")  # nothing until assembled
    store.complete_upload(".uploads/data/big.bin", plan["upload_id"], parts[::-1])
    assert hashlib.sha256(store.read_bytes(".uploads/data/big.bin")).digest() == (
        hashlib.sha256(data).digest()
    )


def test_open_store_urls(s3_endpoint, s3_store_url, tmp_path):
    local = open_store(None, default=tmp_path / "store")
    assert isinstance(local, LocalFileStore) and local.url == (tmp_path / "store").as_uri()
    assert open_store((tmp_path / "x").as_uri(), default="unused").root == tmp_path / "x"
    s3 = open_store(s3_store_url, default="unused")
    assert s3.url == s3_store_url
    with pytest.raises(ValidationError, match="does not exist: create it"):
        open_store("s3://no-such-bucket-here/p", default="unused")
    with pytest.raises(ValidationError, match="not understood"):
        open_store("http://example.org/x", default="unused")
    with pytest.raises(ValidationError, match="invalid storage key"):
        open_store(s3_store_url + "/../up", default="unused")


def test_unreachable_endpoint_is_a_clear_error(s3_endpoint, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setattr(S3FileStore, "_client", staticmethod(_no_retry_client))
    with pytest.raises(ValidationError, match="cannot reach the store bucket"):
        open_store("s3://bucket/p", default="unused")


def _no_retry_client():
    from botocore.config import Config

    return boto3.client("s3", config=Config(retries={"max_attempts": 1}, connect_timeout=2))


def test_copy_store_moves_a_local_store_to_s3(store, tmp_path):
    local = LocalFileStore(tmp_path / "store")
    local.put_bytes("spectra/o/a.fits", b"AAAA", sha(b"AAAA"))
    local.put_bytes("spectra/o/b.fits", b"AAAA", sha(b"AAAA"))
    local.put_bytes("maps/t.png", b"PNG")
    assert copy_store(local, store) == 3
    assert sorted(store.keys()) == ["maps/t.png", "spectra/o/a.fits", "spectra/o/b.fits"]
    assert store.read_bytes("spectra/o/b.fits") == b"AAAA"
    assert len([k for k in raw_keys(store) if "/.blobs/" in k]) == 2  # AAAA once, PNG once


def test_local_store_keeps_its_local_answers(tmp_path):
    local = LocalFileStore(tmp_path / "store")
    local.put_bytes("a/b.fits", b"xyz")
    assert local.local_path("a/b.fits") == Path(tmp_path / "store" / "a" / "b.fits")
    assert local.presign_get("a/b.fits", 60) is None and local.presign_put("a/b", 3, 60) is None
    assert local.size("a/b.fits") == 3 and list(local.keys()) == ["a/b.fits"]
