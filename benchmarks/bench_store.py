"""Benchmark: downloads from an S3-backed archive through presigned redirects (issue #12).

Builds the demo archive with its files in a bucket of a local S3 endpoint (``moto_server`` on
loopback, as in the tests), serves it in its own process, and fetches every spectrum file of
the manifests two ways, alternating, with the same HTTP client and worker count:

* **through the app**: each manifest's signed ``/files/`` URL, which checks access and answers
  ``307`` to a presigned GET that the client follows (what ``campfire download`` does);
* **directly** (the same-run baseline): presigned GET URLs of the same objects made with boto3
  beforehand, fetched straight from the S3 endpoint.

Each transfer is read whole and its SHA-256 checked. The figure is the median throughput (MB/s)
over the repeats; the target is at least 0.9x of the direct figure.

Usage::

    python benchmarks/bench_store.py            # the small demo, 5 repeats
    python benchmarks/bench_store.py --quick --json
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from paths import ROOT
from results import Row, Target, emit

sys.path.insert(0, str(ROOT / "tests"))
NAME = "store"
SERVER = """
import sys
from campfire.server.testing import running_server
with running_server(sys.argv[1], store=sys.argv[2]) as srv:
    print(srv.base_url, flush=True)
    sys.stdin.read()
"""
WORKERS = 4


def _fetch_all(urls: list[tuple[str, str]], workers: int) -> float:
    """GET every (url, sha256) with ``workers`` threads; answer MB/s (checked bytes only)."""
    local = threading.local()

    def one(item: tuple[str, str]) -> int:
        session = getattr(local, "s", None) or requests.Session()
        session.trust_env = False  # no proxy lookups: loopback only, and the same for both
        local.s = session
        resp = session.get(item[0], timeout=60)
        resp.raise_for_status()
        if "sha256:" + hashlib.sha256(resp.content).hexdigest() != item[1]:
            raise RuntimeError(f"wrong bytes from {item[0][:80]}")
        return len(resp.content)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        total = sum(pool.map(one, urls))
    return total / (time.perf_counter() - t0) / 1e6


def rows(quick: bool = False) -> list[Row]:
    """The redirect and direct medians, as one row (redirect, with direct the baseline)."""
    from s3server import AWS_ENV, new_bucket, start_moto

    from campfire.server.demo.archive import build_demo_archive, demo_users
    from campfire.server.storage.storeurl import open_store

    scale, repeats = ("tiny", 5) if quick else ("small", 5)
    moto, endpoint = start_moto()
    os.environ.update(AWS_ENV, AWS_ENDPOINT_URL=endpoint)
    work = Path(tempfile.mkdtemp(prefix="bench-store-"))
    proc = None
    try:
        url = f"s3://{new_bucket(endpoint)}/archive"
        build_demo_archive(work / "archive", scale=scale, store=url)
        key = next(u for u in demo_users(work / "archive") if u["admin"])["api_key"]
        proc = subprocess.Popen(
            [sys.executable, "-c", SERVER, str(work / "archive"), url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        base = proc.stdout.readline().strip() if proc.stdout else ""
        auth = {"Authorization": f"Bearer {key}"}
        observations = requests.get(base + "/observations", headers=auth, timeout=60).json()
        entries = []
        for obs in observations["observations"]:
            man = requests.get(
                f"{base}/observations/{obs['observation']}/manifest", headers=auth, timeout=60
            ).json()
            entries += man["spectra"]
        store = open_store(url, default="")
        through_app = [(e["download_url"], e["file_hash"]) for e in entries]
        direct = [
            (store.presign_get(e["fits_path"], 3600, digest=e["file_hash"]), e["file_hash"])
            for e in entries
        ]
        total_mb = sum(e["file_size"] for e in entries) / 1e6
        _fetch_all(through_app[:20], WORKERS)  # warm both paths
        _fetch_all(direct[:20], WORKERS)
        app_rates, direct_rates = [], []
        for _ in range(repeats):
            direct_rates.append(_fetch_all(direct, WORKERS))
            app_rates.append(_fetch_all(through_app, WORKERS))
    finally:
        if proc is not None:
            if proc.stdin:
                proc.stdin.close()
            proc.wait(timeout=30)
            if proc.stdout:
                proc.stdout.close()
        moto.terminate()
        moto.wait(10)
    app, dir_ = statistics.median(app_rates), statistics.median(direct_rates)
    print(
        f"{len(entries)} files, {total_mb:.1f} MB, {WORKERS} workers, {repeats} repeats: "
        f"through presigned redirects {app:.1f} MB/s, direct from S3 {dir_:.1f} MB/s "
        f"({app / dir_:.2f}x)"
    )
    return [
        Row(
            NAME,
            f"S3 download through /files/ redirects ({WORKERS} workers)",
            app,
            "MB/s",
            Target(">=", 0.9, on="ratio"),
            baseline=dir_,
            baseline_name="presigned GET straight from S3",
            note=f"{scale} demo, {len(entries)} files, {total_mb:.0f} MB, moto_server",
        )
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="the tiny demo")
    ap.add_argument("--json", action="store_true", help="print the rows as a last JSON line")
    args = ap.parse_args()
    out = rows(quick=args.quick)
    if args.json:
        print(emit(NAME, "quick" if args.quick else "full", out))


if __name__ == "__main__":
    main()
