"""An S3 endpoint on loopback for the tests: ``moto_server`` (moto[server], the test extra).

:func:`s3_endpoint` starts one ``moto_server`` per session on a free port and points the
standard AWS environment at it (``AWS_ENDPOINT_URL``, test credentials, a region, no instance
metadata or config files), so :class:`~campfire.server.storage.s3store.S3FileStore` finds it as
it finds R2 or MinIO in production. :func:`s3_store_url` makes a fresh bucket per test and
answers its ``s3://<bucket>/archive`` URL. Nothing leaves the machine.

The fixtures are imported by ``tests/conftest.py``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import pytest
import requests

AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "campfire-test",
    "AWS_SECRET_ACCESS_KEY": "campfire-test-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_moto() -> tuple[subprocess.Popen[bytes], str]:
    """Start ``moto_server`` on a free loopback port; answer (process, endpoint URL)."""
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            requests.get(url + "/moto-api/", timeout=2)
            return proc, url
        except requests.ConnectionError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                msg = "moto_server did not start (is moto[server] installed?)"
                raise RuntimeError(msg) from None
            time.sleep(0.1)


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """The session's S3 endpoint URL (moto_server), with the AWS environment pointed at it."""
    proc, url = start_moto()
    saved = {k: os.environ.get(k) for k in [*AWS_ENV, "AWS_ENDPOINT_URL"]}
    os.environ.update(AWS_ENV, AWS_ENDPOINT_URL=url)
    try:
        yield url
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        proc.terminate()
        proc.wait(10)


def new_bucket(endpoint: str) -> str:
    """Create a bucket with a fresh name at ``endpoint``; answer its name."""
    import boto3

    name = f"cf-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=name)
    return name


@pytest.fixture
def s3_store_url(s3_endpoint) -> str:
    """``s3://<a fresh bucket>/archive`` for this test."""
    return f"s3://{new_bucket(s3_endpoint)}/archive"
