"""Benchmark the catalog backends (#12): the sync feeds and a cone query, PostgreSQL vs SQLite.

One archive is built once (the "wide" archive of ``bench_server.py``: one program, ``n``
objects with two spectra each, through the real ingest) on the embedded SQLite catalog, then
copied into a throwaway PostgreSQL cluster (``TestPostgres``, the test session's) with
``copy_database``. Each backend is served by ``campfire serve`` in its own process (one
process each, the same archive folder's files), alternately, and measured by this process:

1. ``/sync/objects`` and ``/sync/spectra`` rows/s, server-bound (bytes read, not parsed), pages
   of 10,000, identity encoding; PostgreSQL's figure with SQLite's as the same-run baseline
   (aim: PostgreSQL within 1.5x of SQLite, i.e. ratio >= 0.67);
2. a cone query (``GET /objects?ra=&dec=&radius=30``, a different centre each time) median ms
   (target < 20 ms on PostgreSQL), SQLite as the baseline;
3. the two-worker figure needs ``campfire serve --workers`` (#12, engineer ``stateless``): it is
   reported as skipped until that option exists.

``--quick`` (``make bench``): 5,000 objects and 3 alternations; full: 100,000 objects and 5.

Usage::

    python benchmarks/bench_backends.py                # 100,000 objects
    python benchmarks/bench_backends.py --objects 20000
    python benchmarks/bench_backends.py --quick --json
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import requests
from bench_server import Served, _read_feed, api_key, banner, build_wide
from paths import ROOT
from results import Row, Target, emit

NAME = "backends"
QUICK = 5_000


def serve(archive: Path, database: str | None) -> tuple[Served, str]:
    args = [sys.executable, "-m", "campfire", "serve", "--archive", str(archive), "--port", "0"]
    if database is not None:
        args += ["--database", database]
    s = Served(args, "Serving ")
    return s, s.line.split(" at ")[1].split()[0]


def feed_rate(base: str, key: str, feed: str) -> float:
    s = requests.Session()
    rows, _, dt = _read_feed(s, base + feed, {"Authorization": f"Bearer {key}"}, 10000,
                             "identity", False)  # fmt: skip
    return rows / dt


def cone_ms(base: str, key: str, n: int, seed: int) -> list[float]:
    """``n`` cone queries of 30" at random centres inside the wide field; each one's ms."""
    rng = np.random.default_rng(seed)
    s = requests.Session()
    h = {"Authorization": f"Bearer {key}"}
    out = []
    for _ in range(n):
        ra, dec = 34.4 + rng.uniform(-0.4, 0.4), -5.2 + rng.uniform(-0.4, 0.4)
        t = time.perf_counter()
        r = s.get(base + "/objects", params={"ra": ra, "dec": dec, "radius": 30, "limit": 100},
                  headers=h)  # fmt: skip
        r.raise_for_status()
        out.append((time.perf_counter() - t) * 1e3)
    return out


def workers_available() -> bool:
    done = subprocess.run([sys.executable, "-m", "campfire", "serve", "--help"],
                          capture_output=True, text=True, cwd=ROOT)  # fmt: skip
    return "--workers" in done.stdout


def rows(quick: bool, objects: int, repeats: int) -> list[Row]:
    from campfire.server.storage.database import Database
    from campfire.server.storage.transfer import copy_database
    from campfire.server.testing import TestPostgres

    if quick:
        objects, repeats = min(objects, QUICK), 3
    on = f"{'quick: ' if quick else ''}wide archive, {objects:,} objects, one process"
    work = Path(tempfile.mkdtemp(prefix="bench-backends-"))
    out: list[Row] = []
    try:
        banner(f"build the wide archive ({objects:,} objects) and copy it into PostgreSQL")
        archive = build_wide(work, objects)
        key = api_key(archive)
        with TestPostgres() as cluster:
            url = cluster.create("bench")
            t = time.perf_counter()
            src, dst = Database(archive / "archive.db"), Database(url)
            copy_database(src, dst)
            dst.conn().execute("ANALYZE")
            src.close()
            dst.close()
            print(f"copied into PostgreSQL in {time.perf_counter() - t:.1f} s")
            pg_archive = work / "pg-archive"  # the same files, its catalog in PostgreSQL
            pg_archive.mkdir()
            (pg_archive / "store").symlink_to(archive / "store")
            figures: dict[str, dict[str, list[float]]] = {"sqlite": {}, "postgres": {}}
            banner("alternating: SQLite, PostgreSQL")
            for i in range(repeats):
                for name, folder, db in (("sqlite", archive, None), ("postgres", pg_archive, url)):
                    server, base = serve(folder, db)
                    try:
                        got = figures[name]
                        for feed in ("/sync/objects", "/sync/spectra"):  # warm: caches, imports
                            feed_rate(base, key, feed)
                        for feed in ("/sync/objects", "/sync/spectra"):
                            got.setdefault(feed, []).append(feed_rate(base, key, feed))
                        cone_ms(base, key, 5, seed=99)  # warm
                        got.setdefault("cone", []).append(
                            statistics.median(cone_ms(base, key, 40, seed=i))
                        )
                    finally:
                        server.close()
                    print(f"{i} {name:8s} " + "  ".join(
                        f"{k} {v[-1]:,.1f}" for k, v in figures[name].items()))  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)
    med = {b: {k: statistics.median(v) for k, v in f.items()} for b, f in figures.items()}
    for feed in ("/sync/objects", "/sync/spectra"):
        out.append(Row(NAME, f"{feed} on PostgreSQL, pages of 10,000", med["postgres"][feed],
                       "rows/s", Target(">=", 1 / 1.5, "ratio"), med["sqlite"][feed], "SQLite",
                       on))  # fmt: skip
    out.append(Row(NAME, 'cone query (30") on PostgreSQL', med["postgres"]["cone"], "ms",
                   Target("<", 20), med["sqlite"]["cone"], "SQLite", on))  # fmt: skip
    # the hook for the 2-worker figure: it needs `campfire serve --workers` (engineer stateless)
    why = "not measured yet" if workers_available() else "campfire serve --workers not landed"
    out.append(Row(NAME, "/sync/objects, 2 workers, 4 clients", None, "rows/s",
                   Target(">=", 1.6, "ratio"), note=on, skipped=why))  # fmt: skip
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--objects", type=int, default=100_000, help="objects in the archive")
    parser.add_argument("--repeats", type=int, default=5, help="alternations of the backends")
    parser.add_argument("--quick", action="store_true", help="5,000 objects, 3 alternations")
    parser.add_argument("--json", action="store_true", help="print the rows as a last JSON line")
    args = parser.parse_args()
    out = rows(args.quick, args.objects, args.repeats)
    for r in out:
        print(r)
    if args.json:
        print(emit(NAME, "quick" if args.quick else "full", out))


if __name__ == "__main__":
    main()
