"""Benchmark the client's inspection writes: saving locally, and pushing the outbox.

Figures (issue #10):

* **local save + query-table update**: ``cf.inspect(...)`` offline, on a synthetic catalog (the
  SQLite rows, the outbox row, the changed rows of the DuckDB query tables updated in place, and
  the updated ``Object`` returned for the screen; the next query sees the write): median
  < 50 ms, on 100,000 objects in full mode. Baseline, in the same run: the same write followed
  by what a save cost before, a reload of every query table from SQLite
  (``Catalog.refresh(force=True)``).
* **push 1,000 queued inspections** to the demo server (``cf.push()`` after 1,000 offline saves,
  each with its idempotency key, sent in batches when the server announces them): < 5 s
  (``bench_inspections.py`` measures it too, as the median of three rounds).
  Baseline: the same 1,000 PATCHes sent by a plain ``requests`` loop that keeps the versions in
  a dict and records nothing.

The server runs in its own process over a copy of the demo archive's database (tiny in
``--quick`` mode, small otherwise); the synthetic catalog has 20,000 objects in quick mode.

Usage::

    python benchmarks/bench_inspect.py                 # 100,000 objects, the small demo
    python benchmarks/bench_inspect.py --quick --json
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import requests
from bench_catalog import synthetic_catalog
from bench_inspections import writable_copy
from demo_server import Served, ensure_archive
from paths import DEMO
from results import Row, Target, emit

NAME = "inspect"
ALICE = "alice@campfire.demo"
WRITES = 1000


def local_saves(data_dir: Path, repeat: int) -> tuple[list[float], list[float]]:
    """Seconds of ``repeat`` offline inspections, and of a few full reloads after a write."""
    from campfire import Campfire

    os.environ["CAMPFIRE_OFFLINE"] = "1"
    try:
        cf = Campfire(data_dir=data_dir)
        ids = [str(o) for o in cf.query_objects(limit=repeat + 5, sort="object_id")["object_id"]]
        saves = []
        for i, oid in enumerate(ids[:repeat]):
            t0 = time.perf_counter()
            obj = cf.inspect(oid, redshift=1.0 + i / 100, quality=4)  # what the screen shows
            saves.append(time.perf_counter() - t0)
            assert obj.redshift_quality == 4
        shown = cf.query_objects(redshift_quality=[4], limit=None)["object_id"]
        assert set(ids[:repeat]) <= set(shown)  # the next query sees every save
        reloads = []
        catalog = cf.reader.catalog
        assert catalog is not None
        for i, oid in enumerate(ids[repeat : repeat + 3]):
            t0 = time.perf_counter()
            cf.inspect(oid, redshift=2.0 + i / 100, quality=3)
            catalog.refresh(force=True)  # a save before: every table copied again
            reloads.append(time.perf_counter() - t0)
        return saves, reloads
    finally:
        os.environ.pop("CAMPFIRE_OFFLINE", None)


def push_queue(srv: Served, root: Path, writes: int) -> tuple[float, float]:
    """Seconds for ``cf.push()`` of ``writes`` queued inspections, and for a plain loop."""
    from campfire import Campfire

    os.environ["CAMPFIRE_API_KEY"] = srv.user(ALICE)["api_key"]
    cf = Campfire(base_url=srv.base_url, data_dir=root / "client")
    cf.sync()
    ids = [str(o) for o in cf.query_objects(sort="object_id")["object_id"]]
    for i in range(writes):  # offline saves: the queue
        cf.inspect(
            ids[i % len(ids)], redshift=round(1 + i / 1000, 4), quality=1 + i % 4, push=False
        )
    assert len(cf.outbox) == writes
    t0 = time.perf_counter()
    report = cf.push()
    ours = time.perf_counter() - t0
    if report is None or report.pushed != writes or len(cf.outbox):
        raise RuntimeError(
            f"pushed {report and report.pushed} of {writes}: {report and report.error}"
        )

    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {srv.user(ALICE)['api_key']}"
    rows = s.get(srv.base_url + "/sync/objects", params={"limit": 10000}, timeout=120).json()
    versions = {o["object_id"]: o["version"] for o in rows["data"]}
    t0 = time.perf_counter()
    for i in range(writes):
        oid = ids[i % len(ids)]
        r = s.patch(
            f"{srv.base_url}/objects/{oid}/inspection",
            json={"redshift_quality": 1 + (i + 1) % 4, "expected_version": versions[oid]},
            headers={"Idempotency-Key": str(uuid.uuid4())},
            timeout=30,
        )
        r.raise_for_status()
        versions[oid] = r.json()["object"]["version"]
    return ours, time.perf_counter() - t0


def rows(quick: bool = False) -> list[Row]:
    """Every figure of this benchmark."""
    n_objects, scale, repeat = (20_000, "tiny", 15) if quick else (100_000, "small", 40)
    tmp = Path(tempfile.mkdtemp(prefix="bench-inspect-"))
    try:
        synthetic_catalog(tmp / "synthetic", n_objects)
        saves, reloads = local_saves(tmp / "synthetic", repeat)
        archive = ensure_archive(DEMO / scale, scale)
        with Served(writable_copy(archive, tmp / "archive")) as srv:
            ours, plain = push_queue(srv, tmp, WRITES)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    mode = "quick: " if quick else ""
    save_ms, reload_ms = statistics.median(saves) * 1e3, statistics.median(reloads) * 1e3
    return [
        Row(NAME, "local save + query-table update", save_ms, "ms", Target("<", 50),
            baseline=reload_ms, baseline_name="save + full reload",
            note=f"{mode}synthetic catalog, {n_objects:,} objects"),
        Row(NAME, f"push {WRITES:,} queued inspections", ours, "s", Target("<", 5),
            baseline=plain, baseline_name="plain requests PATCH loop",
            note=f"{mode}{scale} demo archive, served"),
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20,000 objects, the tiny demo")
    parser.add_argument("--json", action="store_true", help="print the rows for run.py last")
    args = parser.parse_args()
    found = rows(quick=args.quick)
    for r in found:
        base = f" (baseline {r.baseline:.4g} {r.unit}, {r.baseline_name})" if r.baseline else ""
        print(f"{r.name}: {r.value:.4g} {r.unit}{base}")
    if args.json:
        print(emit(NAME, "quick" if args.quick else "full", found))


if __name__ == "__main__":
    main()
