"""Benchmark inspection writes on the reference server: pushing 1,000 queued inspections, and
one ``PATCH /objects/{id}/inspection`` over loopback.

Figures (issue #10: pushing 1,000 queued inspections takes under 5 s against the demo server):

* **push 1,000 queued inspections**: ``cf.push()`` of 1,000 inspections saved offline on
  distinct objects (as many as the demo has), which the client sends in batches
  (``POST /inspections/batch``, the ``inspections-batch`` extension) and records; the median of
  ``ROUNDS`` rounds. Baseline, measured in the same run and interleaved round by round: the
  same 1,000 writes as single ``PATCH``es sent by a plain ``requests`` loop that keeps the
  versions in a dict and records nothing (what one write per request costs at best).
* **one inspection PATCH** (median ms): baseline ``GET /auth/whoami``, interleaved request by
  request, the cheapest authenticated round trip.

The server runs in its own process (``campfire serve``) over a copy of the demo archive's
database: tiny (50 objects) in ``--quick`` mode, small otherwise.

Usage::

    python benchmarks/bench_inspections.py            # the small demo
    python benchmarks/bench_inspections.py --quick --json
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import requests
from demo_server import Served, ensure_archive
from paths import DEMO, demo_copy
from results import Row, Target, emit

NAME = "inspections"
WRITES = 1000
ROUNDS = 3
ALICE = "alice@campfire.demo"


def writable_copy(archive: Path, dest: Path) -> Path:
    """The demo archive's database and users file in ``dest``, alice allowed to inspect."""
    return demo_copy(archive, dest, can_inspect=(ALICE,))


def _session(srv: Served) -> tuple[requests.Session, dict[str, int], list[str]]:
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {srv.user(ALICE)['api_key']}"
    rows = s.get(srv.base_url + "/sync/objects", params={"limit": 10000}, timeout=120).json()
    versions = {o["object_id"]: o["version"] for o in rows["data"]}
    return s, versions, sorted(versions)


def measure(srv: Served, writes: int) -> tuple[list[float], list[float]]:
    """Per-request seconds of ``writes`` PATCHes and as many interleaved ``whoami`` GETs."""
    s, versions, ids = _session(srv)
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


def patch_loop(srv: Served, writes: int, round_: int) -> float:
    """Seconds for ``writes`` single PATCHes by a plain loop (the baseline)."""
    s, versions, ids = _session(srv)
    t0 = time.perf_counter()
    for i in range(writes):
        oid = ids[i % len(ids)]
        r = s.patch(
            f"{srv.base_url}/objects/{oid}/inspection",
            json={"redshift_quality": 1 + (i + round_) % 4, "expected_version": versions[oid]},
            headers={"Idempotency-Key": str(uuid.uuid4())},
            timeout=30,
        )
        r.raise_for_status()
        versions[oid] = r.json()["object"]["version"]
    return time.perf_counter() - t0


def push_round(cf: Any, writes: int, round_: int) -> float:
    """Queue ``writes`` inspections offline (one transaction), then time ``cf.push()``."""
    from campfire.client.outbox import Write, accept

    cf.sync()  # the versions the baseline moved
    rows = cf.sql("SELECT object_id, version FROM objects ORDER BY object_id")
    ids = [str(o) for o in rows["object_id"]]
    version = dict(zip(ids, (int(v) for v in rows["version"]), strict=True))
    queue = []
    for i in range(writes):  # an object written twice waits for its first write's answer
        oid = ids[i % len(ids)]
        body = {
            "redshift_inspected": round(1 + i / 1000, 4),
            "redshift_quality": 1 + (i + round_) % 4,
        }
        queue.append(Write("inspect", oid, {**body, "expected_version": version[oid]}))
    accept(cf, queue)
    assert len(cf.outbox) == writes
    t0 = time.perf_counter()
    report = cf.push()
    took = time.perf_counter() - t0
    if report is None or report.pushed != writes or len(cf.outbox):
        why = report and (report.error or report.conflicts[:1])
        raise RuntimeError(f"pushed {report and report.pushed} of {writes}: {why}")
    return took


def push_rows(srv: Served, root: Path, scale: str, quick: bool) -> list[Row]:
    """The median push of ``WRITES`` queued inspections against the same run's PATCH loop."""
    from campfire import Campfire

    os.environ["CAMPFIRE_API_KEY"] = srv.user(ALICE)["api_key"]
    cf = Campfire(base_url=srv.base_url, data_dir=root / "client")
    ours, plain = [], []
    for r in range(ROUNDS):
        ours.append(push_round(cf, WRITES, r))
        plain.append(patch_loop(srv, WRITES, r))
    objects = len(cf.sql("SELECT object_id FROM objects"))
    print(f"push of {WRITES} queued inspections ({objects} objects): "
          f"{', '.join(f'{t:.2f}' for t in ours)} s; plain PATCH loop: "
          f"{', '.join(f'{t:.2f}' for t in plain)} s")  # fmt: skip
    on = f"{'quick: ' if quick else ''}{scale} demo ({objects} objects), median of {ROUNDS}"
    return [
        Row(NAME, f"push {WRITES:,} queued inspections (cf.push, batches)",
            statistics.median(ours), "s", Target("<", 5), statistics.median(plain),
            f"{WRITES:,} single PATCHes, plain requests loop", on),
    ]  # fmt: skip


def rows(quick: bool = False) -> list[Row]:
    """The push of 1,000 queued inspections, and the median single write against ``whoami``."""
    scale = "tiny" if quick else "small"
    archive = ensure_archive(DEMO / scale, scale)
    with tempfile.TemporaryDirectory(prefix="bench-inspect-") as tmp:
        copy = writable_copy(archive, Path(tmp) / "archive")
        with Served(copy) as srv:
            out = push_rows(srv, Path(tmp), scale, quick)
            patch, who = measure(srv, WRITES)
    med, base = statistics.median(patch) * 1e3, statistics.median(who) * 1e3
    print(f"{WRITES} inspection PATCHes on the {scale} demo: median {med:.2f} ms "
          f"(whoami {base:.2f} ms), total {sum(patch):.2f} s "
          f"(whoami x {WRITES}: {sum(who):.2f} s)")  # fmt: skip
    on = f"{'quick: ' if quick else ''}{scale} demo, one writer, keep-alive"
    return [
        *out,
        Row(NAME, "inspection PATCH over loopback (median)", med, "ms", Target("<", 5),
            base, "GET /auth/whoami", on),
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
