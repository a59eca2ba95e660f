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
   (target < 20 ms on PostgreSQL), SQLite as the baseline, over its own sky of ``--cone-objects``
   objects (default 100,000; one target and two spectra each, written straight into the
   catalog: it is the query that matters, and the ingest of 100k objects takes many minutes),
   through HTTP and as the route's SQL statement alone;
3. the two-worker figure needs ``campfire serve --workers`` (#12, engineer ``stateless``): it is
   reported as skipped until that option exists.

``--quick`` (``make bench``): 5,000 objects and 3 alternations; full: 100,000 objects and 5.

Usage::

    python benchmarks/bench_backends.py                # 100,000 objects
    python benchmarks/bench_backends.py --objects 20000
    python benchmarks/bench_backends.py --only cone    # the cone query at 100,000 objects
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


def fill_sky(archive: Path, n: int) -> None:
    """An archive of ``n`` objects in the wide field (one public program, one target and two
    spectra each), its rows written straight into a new SQLite catalog.
    """
    from campfire.server.storage.database import Database, utc_now

    rng = np.random.default_rng(1)
    ra, dec = 34.4 + rng.uniform(-0.5, 0.5, n), -5.2 + rng.uniform(-0.5, 0.5, n)
    now, obs = utc_now(), "wide_uds_p1"
    db = Database(archive / "archive.db")
    with db.transaction() as c:
        c.execute("INSERT INTO programs (slug, program_name, is_public, created_at, updated_at) "
                  "VALUES ('WIDE', 'Wide', 1, ?, ?)", (now, now))  # fmt: skip
        c.execute(f"INSERT INTO observations (observation, program_slug, field) VALUES "
                  f"('{obs}', 'WIDE', 'uds')")  # fmt: skip
        c.execute("INSERT INTO program_keys VALUES ('WIDE')")
        c.executemany(
            "INSERT INTO objects (id, object_id, field, ra, dec, n_targets, n_spectra, programs, "
            "programs_key, gratings, observations, max_snr, max_exposure_time, redshift, "
            "redshift_auto, created_at, updated_at) VALUES (?, ?, 'uds', ?, ?, 1, 2, "
            f"'[\"WIDE\"]', 'WIDE', '[\"G395M\", \"PRISM\"]', '[\"{obs}\"]', ?, 3000.0, 2.0, "
            "2.0, ?, ?)",
            [(i + 1, f"uds_{i + 1:06d}", float(ra[i]), float(dec[i]), 5.0 + i % 20, now, now)
             for i in range(n)],
        )  # fmt: skip
        c.executemany(
            "INSERT INTO targets (id, target_id, observation, program_slug, field, source_id, ra, "
            "dec, object_pk, created_at, updated_at) VALUES (?, ?, ?, 'WIDE', 'uds', ?, ?, ?, ?, "
            "?, ?)",
            [(i + 1, f"{obs}_{i + 1}", obs, i + 1, float(ra[i]), float(dec[i]), i + 1, now, now)
             for i in range(n)],
        )  # fmt: skip
        c.executemany(
            "INSERT INTO spectra (id, spectrum_id, target_pk, target_id, object_pk, grating, "
            "fits_path, signal_to_noise, exposure_time, redshift_auto, program_slug, observation, "
            "field, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 3000.0, 2.0, 'WIDE', "
            "?, 'uds', ?, ?)",
            [(2 * i + k + 1, f"{obs}_{i + 1}_{g}", i + 1, f"{obs}_{i + 1}", i + 1, g,
              f"WIDE/{obs}/{i + 1}_{g}.fits", 5.0 + i % 20, obs, now, now)
             for i in range(n) for k, g in enumerate(("PRISM", "G395M"))],
        )  # fmt: skip
    db.conn().execute("ANALYZE")
    db.close()


def cone_sql_ms(url: str | Path, n: int) -> tuple[float, str]:
    """The route's cone statement alone (rows and their count, no HTTP): median ms of ``n``
    centres, and PostgreSQL's ``EXPLAIN (ANALYZE, BUFFERS)`` of one (else SQLite's plan).
    """
    from starlette.datastructures import QueryParams

    from campfire.server.catalog.filters import object_filter
    from campfire.server.http.replies import Params
    from campfire.server.storage.database import Database

    db = Database(url)
    conn, rng, out = db.conn(), np.random.default_rng(3), []
    try:
        for i in range(n + 5):
            ra, dec = 34.4 + rng.uniform(-0.4, 0.4), -5.2 + rng.uniform(-0.4, 0.4)
            q = QueryParams(f"ra={ra}&dec={dec}&radius=30&limit=100")
            f = object_filter(Params(q), {"WIDE"}, ["WIDE"])
            sql = (f"SELECT o.id, {f.distance_sql} AS distance, count(*) OVER () AS total_count "
                   f"FROM objects o WHERE {f.sql()} ORDER BY {f.order} LIMIT 100")  # fmt: skip
            args = [*f.distance_args, *f.args, *f.order_args]
            t = time.perf_counter()
            conn.execute(sql, args).fetchall()
            if i >= 5:  # warm: the connection's catalog caches
                out.append((time.perf_counter() - t) * 1e3)
        explain = "EXPLAIN (ANALYZE, BUFFERS) " if db.path is None else "EXPLAIN QUERY PLAN "
        plan = "\n".join(str(r[0] if db.path is None else r[-1])
                         for r in conn.execute(explain + sql, args))  # fmt: skip
    finally:
        db.close()
    return statistics.median(out), plan


def cone_rows(quick: bool, objects: int, repeats: int) -> list[Row]:
    """The cone query's figures (HTTP and SQL alone) on PostgreSQL, SQLite the baseline."""
    from campfire.server.storage.database import Database
    from campfire.server.storage.transfer import copy_database
    from campfire.server.testing import TestPostgres

    if quick:
        objects, repeats = min(objects, QUICK), 3
    on = f"{'quick: ' if quick else ''}sky of {objects:,} objects, one process"
    work = Path(tempfile.mkdtemp(prefix="bench-cone-"))
    figures: dict[str, dict[str, list[float]]] = {"sqlite": {}, "postgres": {}}
    try:
        banner(f"fill a sky of {objects:,} objects and copy it into PostgreSQL")
        archive = work / "archive"
        archive.mkdir()
        fill_sky(archive, objects)
        key = api_key(archive)
        with TestPostgres() as cluster:
            url = cluster.create("cone")
            src, dst = Database(archive / "archive.db"), Database(url)
            copy_database(src, dst)
            dst.conn().execute("ANALYZE")
            src.close()
            dst.close()
            pg_archive = work / "pg-archive"
            pg_archive.mkdir()
            for name, db in (("sqlite", archive / "archive.db"), ("postgres", url)):
                ms, plan = cone_sql_ms(db, 100)
                figures[name]["sql"] = [ms]
                print(f"{name}: the statement alone {ms:.2f} ms; its plan:\n{plan}")
            banner("alternating: SQLite, PostgreSQL")
            for i in range(repeats):
                for name, folder, db in (("sqlite", archive, None), ("postgres", pg_archive, url)):
                    server, base = serve(folder, db)
                    try:
                        cone_ms(base, key, 10, seed=99)  # warm
                        ms = statistics.median(cone_ms(base, key, 100, seed=i))
                        figures[name].setdefault("cone", []).append(ms)
                    finally:
                        server.close()
                    print(f"{i} {name:8s} cone {ms:.2f} ms")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    med = {b: {k: statistics.median(v) for k, v in f.items()} for b, f in figures.items()}
    return [
        Row(NAME, 'cone query (30") on PostgreSQL, through HTTP', med["postgres"]["cone"], "ms",
            Target("<", 20), med["sqlite"]["cone"], "SQLite", on),
        Row(NAME, 'cone query (30") on PostgreSQL, the SQL alone', med["postgres"]["sql"], "ms",
            None, med["sqlite"]["sql"], "SQLite", on),
    ]  # fmt: skip


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
    parser.add_argument("--cone-objects", type=int, default=100_000,
                        help="objects in the cone query's sky")  # fmt: skip
    parser.add_argument("--only", choices=("feeds", "cone"), help="one part only")
    parser.add_argument("--json", action="store_true", help="print the rows as a last JSON line")
    args = parser.parse_args()
    out = [] if args.only == "cone" else rows(args.quick, args.objects, args.repeats)
    if args.only != "feeds":
        out += cone_rows(args.quick, args.cone_objects, args.repeats)
    for r in out:
        print(r)
    if args.json:
        print(emit(NAME, "quick" if args.quick else "full", out))


if __name__ == "__main__":
    main()
