"""Benchmark local catalog queries (DuckDB over a snapshot file) against plain sqlite3.

Targets (issue #4), on the large demo archive's synced catalog:

* ``query_objects`` with three filters plus a cone search: median < 20 ms
* ``get_object``: < 5 ms
* ``iter_objects`` over everything: >= 200,000 rows/s
* ``open_spectrum`` of a downloaded file by a new client: < 10 ms (the baseline reads only the
  1D table with astropy; campfire reads every HDU into a SpectrumData, units resolved once per
  unit string in the process, then keeps recent reads); also as CPU time, for a busy machine
* ``import campfire``: < 0.3 s
* after an incremental sync that changed 1,000 objects, ``Catalog.refresh``: < 1 s at 1M objects
  (issue #16; the changed objects patched in), against a full build of the query tables from
  the store in the same run (what every change cost before); a new process ready to query
  (import, open the catalog, answer a count): < 0.3 s; the peak memory (VmHWM) of a process
  querying and of one building the snapshot

The baseline runs the same queries in the same process through plain ``sqlite3`` on the same
``campfire.db`` (indexed as the store defines it), the way the upstream client does: ``;``-joined
list columns matched with ``LIKE``, a cone search as an RA/Dec box plus a haversine filter
computed by SQL functions registered from Python, rows turned into dicts and an astropy Table.

``--quick`` (``make bench``) fills a synthetic store of 20,000 objects instead (no server, no
archive to build) and takes fewer repeats; ``--json`` prints the rows for ``run.py`` last. The
table's figures are medians.

Run (builds the large demo archive once, serves it on loopback and syncs it; a long first run)::

    .venv/bin/python benchmarks/bench_catalog.py --archive .demo/large
    .venv/bin/python benchmarks/bench_catalog.py --synthetic 100000   # no server: a filled store
    .venv/bin/python benchmarks/bench_catalog.py --quick --json
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from paths import ROOT, reference_data
from results import Row, Target, emit

SAMPLE = reference_data("samples/static-test-driz-center-bkg_933.spec.fits")
NAME = "catalog"
QUICK_OBJECTS = 20_000
STAMP = "2026-05-01T00:00:00+00:00"
LISTS = ("programs", "gratings", "observations", "member_target_ids")


def timed(
    fn: Callable[[], Any], repeat: int, clock: Callable[[], float] = time.perf_counter
) -> list[float]:
    fn()  # warm up (first query of a process loads the snapshot; reported separately)
    out = []
    for _ in range(repeat):
        t0 = clock()
        fn()
        out.append(clock() - t0)
    return out


# -- preparing a synced catalog --------------------------------------------------------------


def synthetic_catalog(data_dir: Path, n: int, seed: int = 1) -> None:
    """A store filled through Store upserts: n objects, 3 spectra each, realistic columns."""
    import random

    from campfire.catalog.store import Store

    rng = random.Random(seed)
    fields = {"uds": (34.4, -5.2), "cosmos": (150.1, 2.2), "egs": (214.9, 52.9)}
    objects, spectra = [], []
    for i in range(n):
        field = rng.choice(list(fields))
        ra0, dec0 = fields[field]
        ra, dec = ra0 + rng.uniform(-0.6, 0.6), dec0 + rng.uniform(-0.6, 0.6)
        obs = f"{field}_p{rng.randint(1, 9)}"
        oid = f"J{i:07d}"
        q = rng.choice([0, 0, 0, 1, 2, 3, 4])
        z_auto, z_insp = rng.uniform(0, 10), (rng.uniform(0, 10) if q > 1 else None)
        gratings = ["G140M", "G395M", "PRISM"]
        objects.append({
            "object_id": oid, "field": field, "ra": ra, "dec": dec, "n_targets": 1,
            "n_spectra": len(gratings), "programs": [f"PROG-{field.upper()}"],
            "gratings": gratings, "observations": [obs], "member_target_ids": [f"{obs}_{i}"],
            "max_snr": rng.uniform(0, 60), "max_exposure_time": 3000.0,
            "redshift_auto": z_auto, "redshift_quality": q, "redshift_inspected": z_insp,
            "redshift": None if q == 1 else (z_auto if z_insp is None else z_insp),
            "lists": ["lrd"] if i % 50 == 0 else [], "updated_at": STAMP,
        })  # fmt: skip
        for g in gratings:
            sid = f"{obs}_{g.lower()}_clear_{i}"
            spectra.append({
                "spectrum_id": sid, "target_id": f"{obs}_{i}", "object_id": oid, "grating": g,
                "fits_path": f"spectra/{obs}/{sid}_spec.fits", "file_hash": None,
                "file_size": 300000, "signal_to_noise": rng.uniform(0, 60),
                "exposure_time": 3000.0, "reduction_version": "v1.0",
                "dq_flags": rng.choice([0, 0, 0, 1, 2, 32, 34]),
                "program_slug": f"PROG-{field.upper()}", "observation": obs, "field": field,
                "updated_at": STAMP,
            })  # fmt: skip
    with Store(data_dir / "meta" / "campfire.db") as store, store.transaction():
        store.upsert("objects", objects, STAMP)
        store.upsert("spectra", spectra, STAMP)
        store.bump("catalog_version")
        if SAMPLE is not None:  # one downloaded file for the open_spectrum benchmark
            s = spectra[0]
            rel = f"{s['observation']}/{s['spectrum_id']}_spec.fits"
            (data_dir / "products" / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(SAMPLE, data_dir / "products" / rel)
            store.record_download(s["spectrum_id"], rel, "sha256:x", 1, 0.0)
            store.bump("files_version")


def demo_catalog(archive: Path, data_dir: Path) -> None:
    """Build (once) and serve the large demo archive, sync it and fetch one file."""
    from campfire import Campfire
    from campfire.server.demo.archive import build_demo_archive
    from campfire.server.testing import running_server

    if not (archive / "archive.db").is_file():
        print(f"building the large demo archive in {archive} (once; this takes a while) ...")
        t0 = time.perf_counter()
        build_demo_archive(archive, scale="large", seed=42)
        print(f"  built in {time.perf_counter() - t0:.0f} s")
    with running_server(archive) as srv:
        os.environ["CAMPFIRE_API_KEY"] = srv.users[0]["api_key"]
        cf = Campfire(base_url=srv.base_url, data_dir=data_dir)
        if not cf.is_local:
            t0 = time.perf_counter()
            result = cf.sync()
            print(f"synced {result['objects']} objects, {result['spectra']} spectra in "
                  f"{time.perf_counter() - t0:.0f} s")  # fmt: skip
        sid = str(cf.query_spectra(limit=1, sort="spectrum_id")["spectrum_id"][0])
        cf.open_spectrum(sid)  # fetched once through the API, then local


# -- the plain sqlite3 baseline --------------------------------------------------------------


def sqlite_connection(db: Path) -> sqlite3.Connection:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    con.row_factory = sqlite3.Row
    for name, nargs, fn in (("COS", 1, math.cos), ("SIN", 1, math.sin), ("SQRT", 1, math.sqrt),
                            ("RADIANS", 1, math.radians), ("ASIN", 1, math.asin),
                            ("POWER", 2, math.pow)):  # fmt: skip
        con.create_function(name, nargs, fn, deterministic=True)
    return con


def _row(r: sqlite3.Row) -> dict[str, Any]:
    d = dict(r)
    for c in LISTS:
        d[c] = d[c].split(";") if d.get(c) else []
    return d


def sqlite_query_objects(con: sqlite3.Connection, field: str, zr: tuple[float, float],
                         grating: str, cone: tuple[float, float, float]) -> Any:  # fmt: skip
    from astropy.table import Table

    ra, dec, radius = cone
    r = radius / 3600.0
    dra = r / max(math.cos(math.radians(min(89.9, abs(dec) + r))), 1e-6)
    hav = (
        "2 * ASIN(SQRT(POWER(SIN(RADIANS(dec - ?) / 2), 2) + COS(RADIANS(dec)) * "
        "COS(RADIANS(?)) * POWER(SIN(RADIANS(ra - ?) / 2), 2))) * 206264.80624709636"
    )
    sql = (
        f"SELECT *, {hav} AS distance FROM objects WHERE is_active = 1 AND field = ? "
        "AND redshift BETWEEN ? AND ? AND (';' || gratings || ';') LIKE ? "
        "AND dec BETWEEN ? AND ? AND ra BETWEEN ? AND ? AND distance <= ? "
        "ORDER BY distance, object_id"
    )
    args = (dec, dec, ra, field, *zr, f"%;{grating};%", dec - r, dec + r, ra - dra, ra + dra,
            radius)  # fmt: skip
    rows = [_row(r) for r in con.execute(sql, args)]
    return Table(rows=rows) if rows else Table()


def sqlite_get_object(con: sqlite3.Connection, oid: str) -> dict[str, Any]:
    obj = _row(con.execute("SELECT * FROM objects WHERE object_id = ?", (oid,)).fetchone())
    obj["spectra"] = [dict(r) for r in con.execute(
        "SELECT * FROM spectra WHERE object_id = ? ORDER BY spectrum_id", (oid,))]  # fmt: skip
    obj["tags"] = [
        r[0]
        for r in con.execute(
            "SELECT list_slug FROM object_list_memberships WHERE object_id = ? ORDER BY 1", (oid,)
        )
    ]
    obj["photometry"] = con.execute(
        "SELECT * FROM object_photometry WHERE object_id = ? ORDER BY catalog_name LIMIT 1", (oid,)
    ).fetchone()
    return obj


def sqlite_iter_objects(con: sqlite3.Connection) -> int:
    n = 0
    for r in con.execute("SELECT * FROM objects WHERE is_active = 1 ORDER BY object_id"):
        _row(r)
        n += 1
    return n


# -- the run -----------------------------------------------------------------------------------


def import_times(n: int = 5) -> list[float]:
    """Seconds to ``import campfire`` in ``n`` fresh interpreters."""
    code = "import time; t = time.perf_counter(); import campfire; print(time.perf_counter() - t)"
    return [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                 check=True).stdout) for _ in range(n)]  # fmt: skip


def rows(
    quick: bool = False,
    archive: Path = ROOT / ".demo" / "large",
    data_dir: Path | None = None,
    synthetic: int = 0,
    repeat: int = 30,
    scale_only: bool = False,
) -> list[Row]:
    """Every figure of this benchmark (``quick``: a synthetic store of 20,000 objects)."""
    if quick:
        synthetic, repeat = synthetic or QUICK_OBJECTS, min(repeat, 10)
    os.environ.pop("CAMPFIRE_OFFLINE", None)
    tmp = None
    if data_dir is None:
        tmp = Path(tempfile.mkdtemp(prefix="bench-catalog-"))
        data_dir = (archive.parent / "large-client") if not synthetic else tmp
    try:
        if synthetic:
            if not (data_dir / "meta" / "campfire.db").is_file():
                t0 = time.perf_counter()
                synthetic_catalog(data_dir, synthetic)
                print(f"filled a synthetic store in {time.perf_counter() - t0:.1f} s")
            on = f"{'quick: ' if quick else ''}synthetic store, {synthetic:,} objects"
        else:
            demo_catalog(archive.resolve(), data_dir)
            on = f"{archive.name} demo archive, synced"
        if scale_only:
            return measure_scale(data_dir, 3 if quick else 5, on)
        return measure(data_dir, repeat, 3 if quick else 5, on)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def measure(data_dir: Path, repeat: int, imports: int, on: str) -> list[Row]:
    """Time the queries on the synced catalog in ``data_dir``, offline, against sqlite3."""
    os.environ["CAMPFIRE_OFFLINE"] = "1"  # from here on, nothing may touch the network

    from campfire import Campfire

    shutil.rmtree(data_dir / "meta" / "snapshot", ignore_errors=True)
    cf = Campfire(data_dir=data_dir)
    t0 = time.perf_counter()
    cf.catalog.refresh()
    cold = time.perf_counter() - t0
    build_rss = _peak_mb()  # this process held little before: the build's peak
    ready = [_in_new_process(data_dir) for _ in range(3)]  # the snapshot is current
    t0 = time.perf_counter()
    Campfire(data_dir=data_dir).catalog.refresh()
    warm = time.perf_counter() - t0
    n_obj = len(cf.sql("SELECT object_id FROM objects"))
    n_spec = len(cf.sql("SELECT spectrum_id FROM spectra"))
    print(f"\ncatalog: {n_obj} objects, {n_spec} spectra  ({data_dir})")
    print(f"snapshot from SQLite (after a sync): {cold:.2f} s; load in a new process: {warm:.2f} s")

    # the three-filter + cone query, centred on a real object of the busiest field
    top = cf.sql("SELECT field, count(*) AS n FROM objects GROUP BY 1 ORDER BY 2 DESC LIMIT 1")
    field = str(top["field"][0])
    centre = cf.sql(f"SELECT ra, dec, object_id FROM objects WHERE field = '{field}' "
                    "ORDER BY object_id LIMIT 1 OFFSET 100")  # fmt: skip
    ra, dec, oid = float(centre["ra"][0]), float(centre["dec"][0]), str(centre["object_id"][0])
    grating = "PRISM"
    cone = (ra, dec, 60.0)
    zr = (1.0, 8.0)
    con = sqlite_connection(data_dir / "meta" / "campfire.db")

    ours_q = timed(lambda: cf.query_objects(fields=[field], redshift_range=zr, gratings=[grating],
                                            cone_search=cone), repeat)  # fmt: skip
    base_q = timed(lambda: sqlite_query_objects(con, field, zr, grating, cone), repeat)
    n_hits = len(cf.query_objects(fields=[field], redshift_range=zr, gratings=[grating],
                                  cone_search=cone))  # fmt: skip
    n_base = len(sqlite_query_objects(con, field, zr, grating, cone))
    ours_g = timed(lambda: cf.get_object(oid), repeat * 10)
    base_g = timed(lambda: sqlite_get_object(con, oid), repeat * 10)
    n_iter = sum(1 for _ in cf.iter_objects())
    ours_it = n_iter / statistics.median(timed(lambda: sum(1 for _ in cf.iter_objects()), 3))
    cpu0 = time.process_time()
    sum(1 for _ in cf.iter_objects())
    ours_cpu = n_iter / (time.process_time() - cpu0)  # less sensitive to a busy machine
    n_base_iter = sqlite_iter_objects(con)
    base_it = n_base_iter / statistics.median(timed(lambda: sqlite_iter_objects(con), 3))
    local = cf.sql("SELECT spectrum_id, local_path FROM spectra WHERE local_path IS NOT NULL "
                   "LIMIT 1")  # fmt: skip
    open_ms = None
    if len(local):
        sid = str(local["spectrum_id"][0])
        path = data_dir / "products" / str(local["local_path"][0])
        ours_o = timed(lambda: Campfire(data_dir=data_dir).open_spectrum(sid), repeat)
        cpu_o = timed(  # a new client each time: the file is read, not taken from its cache
            lambda: Campfire(data_dir=data_dir).open_spectrum(sid), repeat, time.process_time
        )
        again_o = timed(lambda: cf.open_spectrum(sid), repeat)

        def astropy_read() -> Any:
            from astropy.io import fits

            with fits.open(path) as hdul:
                return {c: hdul[1].data[c].copy() for c in hdul[1].columns.names[:3]}

        base_o = timed(astropy_read, repeat)
        open_ms = (
            statistics.median(ours_o) * 1e3,
            statistics.median(base_o) * 1e3,
            statistics.median(again_o) * 1e3,
            statistics.median(cpu_o) * 1e3,
        )
    imp = import_times(imports)
    changed = incremental(cf, data_dir, 3 if repeat <= 10 else 5)
    changed.update(
        rebuild=cold,
        build_rss=build_rss,
        ready=statistics.median(r[1] for r in ready),
        ready_total=statistics.median(r[0] for r in ready),
        ready_rss=max(r[2] for r in ready),
    )

    def line(name: str, ours: float, base: float | None, unit: str, target: str, ok: bool) -> None:
        ratio = "" if base is None else f"{base / ours:6.1f}x" if unit != "rows/s" else (
            f"{ours / base:6.1f}x")  # fmt: skip
        b = "" if base is None else f"{base:10.2f}"
        flag = "ok" if ok else "MISSED"
        print(f"{name:<34}{ours:10.2f}{b:>12} {unit:<7}{ratio:>8}   {target:<12}{flag}")

    print(f"\n{'benchmark':<34}{'campfire':>10}{'sqlite3':>12} {'unit':<7}{'speed-up':>8}   target")
    mq, bq = statistics.median(ours_q) * 1e3, statistics.median(base_q) * 1e3
    line(f"query_objects 3 filters + cone ({n_hits})", mq, bq, "ms", "< 20 ms", mq < 20)
    mg, bg = statistics.median(ours_g) * 1e3, statistics.median(base_g) * 1e3
    line("get_object", mg, bg, "ms", "< 5 ms", mg < 5)
    line("iter_objects (rows/s, thousands)", ours_it / 1e3, base_it / 1e3, "rows/s",
         ">= 200k", ours_it >= 2e5)  # fmt: skip
    line("iter_objects, per CPU second", ours_cpu / 1e3, None, "rows/s", ">= 200k", ours_cpu >= 2e5)
    out = [
        Row(NAME, f"query_objects, 3 filters + cone ({n_hits} rows)", mq, "ms", Target("<", 20),
            bq, "sqlite3", on),
        Row(NAME, "get_object", mg, "ms", Target("<", 5), bg, "sqlite3", on),
        Row(NAME, "iter_objects", ours_it, "rows/s", Target(">=", 200_000), base_it, "sqlite3",
            on),
        Row(NAME, "iter_objects, per CPU second", ours_cpu, "rows/s", Target(">=", 200_000),
            note=on),
    ]  # fmt: skip
    if open_ms:
        line("open_spectrum, reading the file", open_ms[0], open_ms[1], "ms", "< 10 ms",
             open_ms[0] < 10)  # fmt: skip
        line("open_spectrum, reading, CPU time", open_ms[3], None, "ms", "< 10 ms", open_ms[3] < 10)
        line("open_spectrum, opened before", open_ms[2], None, "ms", "< 10 ms", open_ms[2] < 10)
        out += [
            Row(NAME, "open_spectrum, first read", open_ms[0], "ms", Target("<", 10), open_ms[1],
                "astropy 1D table"),
            Row(NAME, "open_spectrum, first read, CPU time", open_ms[3], "ms", Target("<", 10)),
            Row(NAME, "open_spectrum, opened before", open_ms[2], "ms", Target("<", 10)),
        ]  # fmt: skip
    else:
        why = "no downloaded file (the 933 sample is in neither tests/data nor ../shared)"
        out.append(Row(NAME, "open_spectrum, first read", None, "ms", skipped=why))
    line("import campfire", min(imp) * 1e3, None, "ms", "< 300 ms", min(imp) < 0.3)
    out += [
        Row(NAME, "import campfire (new process)", statistics.median(imp) * 1e3, "ms",
            Target("<", 300)),
        Row(NAME, "snapshot build after a sync", cold, "s", note=on),
        Row(NAME, "snapshot load, new client", warm, "s", note=on),
    ]  # fmt: skip
    c = changed
    print(f"refresh after 1,000 changed objects: {c['apply']:.3f} s; full build "
          f"{c['rebuild']:.2f} s; new process: catalog open + first query {c['ready']:.3f} s, "
          f"{c['ready_total']:.2f} s with the imports (peak RSS {c['ready_rss']:.0f} MB; "
          f"building the snapshot {c['build_rss']:.0f} MB)")  # fmt: skip
    out += [
        Row(NAME, "refresh after a sync changing 1,000 objects", c["apply"], "s",
            Target("<", 1), c["rebuild"], "full build", on),
        Row(NAME, "new process: catalog open + first query", c["ready"], "s", Target("<", 0.3),
            note=f"{on}; {c['ready_total']:.2f} s from the first import; peak RSS "
            f"{c['ready_rss']:.0f} MB"),
        Row(NAME, "snapshot build, peak RSS", c["build_rss"], "MB", note=on),
    ]  # fmt: skip
    assert n_hits == n_base, f"DuckDB and sqlite3 disagree: {n_hits} vs {n_base} rows"
    assert n_iter == n_base_iter == n_obj
    con.close()
    return out


_READY = """
import sys, time
t0 = time.perf_counter()
from campfire import Campfire
import duckdb
cf = Campfire(data_dir=sys.argv[1])
t1 = time.perf_counter()
n = cf.catalog.connection().execute("SELECT count(*) FROM objects WHERE is_active").fetchall()
ready = time.perf_counter() - t1  # open the catalog and answer a query (imports done)
total = time.perf_counter() - t0  # from the first import
# VmHWM: this process's own peak (ru_maxrss survives exec, so it may be the parent's)
hwm = [ln for ln in open("/proc/self/status") if ln.startswith("VmHWM")]
cf.catalog.close()
print(total, ready, float(hwm[0].split()[1]) / 1024 if hwm else 0.0)
"""


def measure_scale(data_dir: Path, repeat: int, on: str) -> list[Row]:
    """Only the catalog-at-scale figures (issue #16): the snapshot build and its peak memory,
    a new process ready to query, and the refresh after 1,000 changed objects."""
    os.environ["CAMPFIRE_OFFLINE"] = "1"
    from campfire import Campfire

    shutil.rmtree(data_dir / "meta" / "snapshot", ignore_errors=True)
    cf = Campfire(data_dir=data_dir)
    t0 = time.perf_counter()
    cf.catalog.refresh()
    cold, build_rss = time.perf_counter() - t0, _peak_mb()
    ready = [_in_new_process(data_dir) for _ in range(repeat)]
    c = incremental(cf, data_dir, repeat)
    after = [_in_new_process(data_dir) for _ in range(repeat)]  # patched, maybe not published
    r, a = statistics.median(x[1] for x in ready), statistics.median(x[1] for x in after)
    print(f"full build {cold:.2f} s (peak RSS {build_rss:.0f} MB); refresh after 1,000 changed "
          f"objects {c['apply']:.3f} s (runs {', '.join(f'{x:.3f}' for x in c['runs'])}); "
          f"new process ready {r:.3f} s ({', '.join(f'{x[1]:.3f}' for x in ready)}), "
          f"{statistics.median(x[0] for x in ready):.2f} s with imports, peak RSS "
          f"{max(x[2] for x in ready):.0f} MB; after the patches {a:.3f} s")  # fmt: skip
    return [
        Row(NAME, "refresh after a sync changing 1,000 objects", c["apply"], "s",
            Target("<", 1), cold, "full build", on),
        Row(NAME, "new process: catalog open + first query", r, "s", Target("<", 0.3),
            note=on),
        Row(NAME, "new process after patches: open + first query", a, "s", Target("<", 0.3),
            note=on),
        Row(NAME, "snapshot build, peak RSS", build_rss, "MB", note=on),
    ]  # fmt: skip


def _peak_mb() -> float:
    """This process's peak resident memory so far (VmHWM), in MB."""
    with open("/proc/self/status") as status:
        hwm = [ln for ln in status if ln.startswith("VmHWM")]
    return float(hwm[0].split()[1]) / 1024 if hwm else 0.0


def _in_new_process(data_dir: Path) -> tuple[float, float, float]:
    """(seconds from the first import, seconds to open the catalog and answer a query, peak
    RSS in MB) of a new process."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", _READY, str(data_dir)], env=env,
                         capture_output=True, text=True, check=True).stdout.split()  # fmt: skip
    return float(out[-3]), float(out[-2]), float(out[-1])


def incremental(cf: Any, data_dir: Path, repeat: int) -> dict[str, Any]:
    """Refresh after an incremental sync changed 1,000 objects (written as a sync writes them:
    changes noted and recorded with the version), ``repeat`` times. The baseline is the full
    build this run measured first (what every change cost before): at 1M objects a build takes
    minutes on a busy machine, so it is not repeated."""
    from campfire.catalog import changes
    from campfire.catalog.store import Store

    apply = []
    db = data_dir / "meta" / "campfire.db"
    for i in range(repeat):
        with Store(db) as store, store.transaction(), changes.track(store.conn):
            store.conn.execute(
                "UPDATE objects SET redshift_auto = coalesce(redshift_auto, 0) + 0.001, "
                "updated_at = ? WHERE id IN (SELECT id FROM objects ORDER BY random() LIMIT 1000)",
                (f"2026-06-01T00:00:{i:02d}+00:00",),
            )
            assert changes.record(store.conn, store.bump("catalog_version"))
        t0 = time.perf_counter()
        cf.catalog.refresh()
        apply.append(time.perf_counter() - t0)
    return {"apply": statistics.median(apply), "runs": apply}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--archive", type=Path, default=ROOT / ".demo" / "large")
    ap.add_argument("--data-dir", type=Path, default=None, help="synced client data directory")
    ap.add_argument("--synthetic", type=int, default=0, help="fill a store with N objects instead")
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--quick", action="store_true", help="a synthetic 20,000-object store")
    ap.add_argument("--json", action="store_true", help="print the rows as a last JSON line")
    ap.add_argument(
        "--scale-only",
        action="store_true",
        help="only the build, new-process and refresh-after-1,000-changes figures",
    )
    args = ap.parse_args()
    out = rows(
        args.quick, args.archive, args.data_dir, args.synthetic, args.repeat, args.scale_only
    )
    if args.json:
        print(emit(NAME, "quick" if args.quick else "full", out))


if __name__ == "__main__":
    main()
