"""Benchmark inspection writes on the reference server: 1,000 ``PATCH /objects/{id}/inspection``
over loopback, one after another, each with an ``Idempotency-Key`` as the client sends them.

Figures: the median milliseconds per write and the seconds for all 1,000 (issue #10: pushing
1,000 queued inspections takes under 5 s against the demo server). Baseline, measured in the same
run and interleaved request by request: ``GET /auth/whoami``, the cheapest authenticated round
trip (HTTP, JSON and the key lookup), so the ratio is what a write costs over that floor.

The server runs in its own process (``campfire serve``) over a copy of the demo archive's
database (the demo under ``.demo/`` is never written to): tiny in ``--quick`` mode, small
otherwise.

Usage::

    python benchmarks/bench_inspections.py            # the small demo
    python benchmarks/bench_inspections.py --quick --json
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import requests
from demo_server import Served, ensure_archive
from paths import DEMO
from results import Row, Target, emit

NAME = "inspections"
WRITES = 1000
ALICE = "alice@campfire.demo"


def writable_copy(archive: Path, dest: Path) -> Path:
    """The demo archive's database and users file in ``dest`` (no files: writes need none)."""
    from campfire.server.archive import Archive
    from campfire.server.auth.users import set_can_inspect

    dest.mkdir(parents=True)
    shutil.copy2(archive / "archive.db", dest / "archive.db")
    shutil.copy2(archive / "demo-users.json", dest / "demo-users.json")
    arch = Archive(dest)  # migrates a demo built before the inspections extension
    try:
        set_can_inspect(arch, ALICE, True)
    finally:
        arch.close()
    return dest


def measure(srv: Served, writes: int) -> tuple[list[float], list[float]]:
    """Per-request seconds of ``writes`` PATCHes and as many interleaved ``whoami`` GETs."""
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {srv.user(ALICE)['api_key']}"
    rows = s.get(srv.base_url + "/sync/objects", params={"limit": 10000}, timeout=120).json()
    versions = {o["object_id"]: o["version"] for o in rows["data"]}
    ids = sorted(versions)
    for _ in range(20):  # warm both paths
        s.get(srv.base_url + "/auth/whoami", timeout=30)
    patch, who = [], []
    for i in range(writes):
        oid = ids[i % len(ids)]
        body = {"redshift_quality": 1 + i % 4, "expected_version": versions[oid]}
        t0 = time.perf_counter()
        r = s.patch(f"{srv.base_url}/objects/{oid}/inspection", json=body, timeout=30,
                    headers={"Idempotency-Key": str(uuid.uuid4())})  # fmt: skip
        t1 = time.perf_counter()
        r.raise_for_status()
        versions[oid] = r.json()["object"]["version"]
        s.get(srv.base_url + "/auth/whoami", timeout=30).raise_for_status()
        who.append(time.perf_counter() - t1)
        patch.append(t1 - t0)
    return patch, who


def rows(quick: bool = False) -> list[Row]:
    """The median write and the 1,000-write total, each against ``whoami``."""
    scale = "tiny" if quick else "small"
    archive = ensure_archive(DEMO / scale, scale)
    with tempfile.TemporaryDirectory(prefix="bench-inspect-") as tmp:
        copy = writable_copy(archive, Path(tmp) / "archive")
        with Served(copy) as srv:
            patch, who = measure(srv, WRITES)
    med, base = statistics.median(patch) * 1e3, statistics.median(who) * 1e3
    print(f"{WRITES} inspection PATCHes on the {scale} demo: median {med:.2f} ms "
          f"(whoami {base:.2f} ms), total {sum(patch):.2f} s "
          f"(whoami x {WRITES}: {sum(who):.2f} s)")  # fmt: skip
    on = f"{'quick: ' if quick else ''}{scale} demo, one writer, keep-alive"
    return [
        Row(NAME, "inspection PATCH over loopback (median)", med, "ms", Target("<", 5),
            base, "GET /auth/whoami", on),
        Row(NAME, f"{WRITES:,} inspection PATCHes, one after another", sum(patch), "s",
            Target("<", 5), sum(who), f"{WRITES:,} x GET /auth/whoami", on),
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="the tiny demo instead of small")
    parser.add_argument("--json", action="store_true", help="print the rows as a last JSON line")
    args = parser.parse_args()
    out = rows(args.quick)
    if args.json:
        print(emit(NAME, "quick" if args.quick else "full", out))


if __name__ == "__main__":
    main()
