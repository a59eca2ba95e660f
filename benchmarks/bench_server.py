"""Benchmark the reference archive server: build times, sync-feed rows/s, file throughput.

Prints figures and ratios:

1. time to build each demo scale (generate + ingest, timed separately);
2. rows/s from ``/sync/objects`` and ``/sync/spectra`` on a ~100k-object archive (the large demo
   if built, else a "wide" archive of hard-linked products), server-bound (bytes read) and
   end to end (JSON parsed), pages of 1000 and 10000, with and without gzip;
3. file throughput through signed URLs vs a plain static file server (``python -m http.server``)
   serving the same files in the same run, sequential and with 4 workers.

Both servers run as separate processes; the client is this process.

``--quick`` (``make bench``) builds only the tiny demo, serves the feeds from a 5,000-object wide
archive and the files from the tiny demo (63 files); ``--json`` prints the rows for ``run.py``
last: each build's time, ``/sync/objects`` and ``/sync/spectra`` rows/s (server-bound, identity,
pages of 10,000) and the signed-URL throughput against ``http.server`` (medians of the
alternations, 3 in quick mode; aim >= 0.8x).

Usage::

    python benchmarks/bench_server.py                 # tiny + small, wide 100k, files
    python benchmarks/bench_server.py --large         # also build the large demo (minutes)
    python benchmarks/bench_server.py --scales tiny --wide 20000 --files 100
    python benchmarks/bench_server.py --quick --json
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import requests
from paths import ROOT
from results import Row, Target, emit

sys.path.insert(0, str(ROOT / "tests" / "server"))
NAME = "server"
QUICK_WIDE = 5_000


def banner(text: str) -> None:
    print(f"\n== {text} " + "=" * max(0, 70 - len(text)))


def build_scale(work: Path, scale: str, seed: int = 42) -> tuple[Path, dict[str, Any]]:
    """Generate and ingest one demo scale, timing each step (the archive is kept)."""
    from campfire.server.archive import Archive
    from campfire.server.demo.generate import generate_products
    from campfire.server.ingest.deploy import deploy_products
    from campfire.server.ingest.spectrumfile import ContentCache

    products, archive = work / f"{scale}-products", work / f"{scale}-archive"
    t0 = time.perf_counter()
    dirs = generate_products(products, scale=scale, seed=seed)
    t1 = time.perf_counter()
    cache = ContentCache()  # as build_demo_archive does: one cache for all programs
    reports = [deploy_products(d, archive, cache=cache) for d in dirs]
    t2 = time.perf_counter()
    again = [deploy_products(d, archive) for d in dirs] if scale != "large" else []
    t3 = time.perf_counter()
    arch = Archive(archive)
    conn = arch.db.conn()
    n_obj = conn.execute("SELECT count(*) FROM objects WHERE is_active = 1").fetchone()[0]
    n_spec = conn.execute("SELECT count(*) FROM spectra").fetchone()[0]
    arch.close()
    shutil.rmtree(products, ignore_errors=True)
    stats = {
        "generate_s": t1 - t0,
        "ingest_s": t2 - t1,
        "reingest_s": t3 - t2,
        "objects": n_obj,
        "spectra": n_spec,
        "skipped": sum(len(r.skipped) for r in reports),
        "reingest_changed": sum(r.ingested + r.objects_changed for r in again),
    }
    return archive, stats


def build_wide(work: Path, n: int) -> Path:
    """One program, ``n`` targets x 2 spectra, hard-linked from a small pool of real files."""
    from astropy.table import Table
    from server_products import write_spec, write_zfit

    from campfire.server.ingest.deploy import deploy_products

    prod = work / "wide-products" / "WIDE"
    obs = prod / "wide_uds_p1"
    obs.mkdir(parents=True)
    (prod / "program.json").write_text(json.dumps({"slug": "WIDE", "is_public": True}))
    (obs / "observation.json").write_text(
        json.dumps({"observation": "wide_uds_p1", "field": "uds", "program_slug": "WIDE"})
    )
    rng = np.random.default_rng(1)
    sids = np.arange(1, n + 1)
    Table(
        {
            "source_id": sids,
            "ra": 34.4 + rng.uniform(-0.5, 0.5, n),
            "dec": -5.2 + rng.uniform(-0.5, 0.5, n),
        }
    ).write(obs / "targets.ecsv")
    pool = work / "wide-pool"
    pool.mkdir()
    per_file = 60000  # stay under the file system's links-per-inode cap
    for k in range(n // per_file + 1):
        write_spec(pool / f"p{k}.fits", "prism", "clear", 1, nwave=400, ny=30)
        write_spec(pool / f"g{k}.fits", "g395m", "f290lp", 1, nwave=400, ny=30)
        write_zfit(pool / f"z{k}.fits", 2.0)
    for s in sids.tolist():
        k = s // per_file
        os.link(pool / f"p{k}.fits", obs / f"wide_uds_p1_prism_clear_{s}_spec.fits")
        os.link(pool / f"z{k}.fits", obs / f"wide_uds_p1_prism_clear_{s}_zfit.fits")
        os.link(pool / f"g{k}.fits", obs / f"wide_uds_p1_g395m_f290lp_{s}_spec.fits")
    t = time.perf_counter()
    report = deploy_products(prod, work / "wide-archive")
    print(
        f"wide archive: {report.objects_created} objects, {report.ingested} spectra "
        f"ingested in {time.perf_counter() - t:.1f} s"
    )
    shutil.rmtree(work / "wide-products")
    return work / "wide-archive"


class Served:
    """``campfire serve`` (or ``python -m http.server``) in a subprocess."""

    def __init__(self, args: list[str], marker: str, cwd: Path | None = None) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=cwd
        )
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if marker in line:
                self.line = line
                # keep draining its output (request logs), or the server blocks on a full pipe
                threading.Thread(target=self.proc.stdout.read, daemon=True).start()
                return
        raise RuntimeError("server did not start")

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=20)
        if self.proc.stdout:
            self.proc.stdout.close()


def serve_archive(archive: Path) -> tuple[Served, str]:
    s = Served(
        [sys.executable, "-m", "campfire", "serve", "--archive", str(archive), "--port", "0"],
        "Serving ",
    )
    return s, s.line.split(" at ")[1].split()[0]


def api_key(archive: Path) -> str:
    from campfire.server.archive import Archive
    from campfire.server.auth.users import add_user, create_api_key, list_users

    arch = Archive(archive)
    try:
        if not any(u["email"] == "bench@example.org" for u in list_users(arch)):
            add_user(arch, "bench@example.org", None)
            from campfire.server.auth.users import grant_program

            for (slug,) in arch.db.conn().execute("SELECT slug FROM programs"):
                grant_program(arch, "bench@example.org", slug)
        return str(create_api_key(arch, "bench@example.org"))
    finally:
        arch.close()


def _read_feed(
    s: requests.Session, url: str, headers: dict[str, str], limit: int, enc: str, parse: bool
) -> tuple[int, int, float]:
    """Page through one feed as the client does; return (rows, bytes on the wire, seconds).

    ``parse=False`` reads the raw (maybe compressed) bytes only: the server-bound figure.
    """
    t, rows, wire, offset, total = time.perf_counter(), 0, 0, 0, 0
    while True:
        params: dict[str, int | str] = {"limit": limit, "offset": offset}
        params["include_counts"] = "true" if offset == 0 else "false"
        hdrs = {**headers, "Accept-Encoding": enc}
        r = s.get(url, params=params, headers=hdrs, stream=not parse)
        if parse:
            n = len(r.json()["data"])
            wire += int(r.headers.get("content-length", 0))
        else:
            raw = r.raw.read()
            wire += len(raw)
            if offset == 0:
                body = raw if enc == "identity" else gzip.decompress(raw)
                total = json.loads(body)["pagination"]["total"]
            n = min(limit, total - offset)
        if n <= 0:
            break
        rows += n
        offset += n
    return rows, wire, time.perf_counter() - t


def bench_feeds(archive: Path) -> dict[tuple[str, int, str, bool], float]:
    """Rows/s of each feed, by (feed, page size, encoding, parsed)."""
    out = {}
    key = api_key(archive)
    server, base = serve_archive(archive)
    headers = {"Authorization": f"Bearer {key}"}
    try:
        s = requests.Session()
        for feed in ("/sync/objects", "/sync/spectra"):
            for limit in (1000, 10000):
                for enc in ("identity", "gzip"):
                    for parse in (False, True):
                        rows, wire, dt = _read_feed(s, base + feed, headers, limit, enc, parse)
                        out[feed, limit, enc, parse] = rows / dt
                        mode = "end-to-end" if parse else "server-bound"
                        print(
                            f"{feed:15s} limit={limit:<5d} {enc:8s} {mode:12s} {rows:7d} rows "
                            f"{dt:6.2f} s {rows / dt:10,.0f} rows/s  {wire / 1e6:6.1f} MB"
                        )
    finally:
        server.close()
    return out


def _fetch_all(urls: list[str], workers: int) -> tuple[int, float]:
    def get(session: requests.Session, url: str) -> int:
        n = 0
        with session.get(url, stream=True, timeout=60) as r:
            r.raise_for_status()
            for chunk in r.iter_content(1 << 20):
                n += len(chunk)
        return n

    local = threading.local()

    def fetch(url: str) -> int:
        if not hasattr(local, "session"):
            local.session = requests.Session()  # one keep-alive connection per worker
        return get(local.session, url)

    t = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        sizes = list(pool.map(fetch, urls))
    return sum(sizes), time.perf_counter() - t


def bench_files(archive: Path, n_files: int, rounds: int = 2) -> dict[str, float]:
    """MB/s through signed URLs and from ``http.server``, medians by worker count, and sizes."""
    out: dict[str, float] = {}
    key = api_key(archive)
    server, base = serve_archive(archive)
    headers = {"Authorization": f"Bearer {key}"}
    static = None
    try:
        obs = requests.get(base + "/observations", headers=headers, timeout=30).json()
        entries = []
        for o in obs["observations"]:
            m = requests.get(
                base + f"/observations/{o['observation']}/manifest", headers=headers, timeout=60
            ).json()
            entries += m["spectra"]
        entries = entries[:n_files]
        store = archive / "store"
        static = Served(
            [
                sys.executable,
                "-m",
                "http.server",
                "0",
                "--bind",
                "127.0.0.1",
                "--directory",
                str(store),
            ],
            "Serving HTTP",
        )
        port = static.line.split("port ")[1].split()[0]
        static_urls = [f"http://127.0.0.1:{port}/{e['fits_path']}" for e in entries]
        signed_urls = [e["download_url"] for e in entries]
        _fetch_all(signed_urls[:20], 2)  # warm the page cache and both servers
        _fetch_all(static_urls[:20], 2)
        size = sum(e["file_size"] for e in entries)
        print(
            f"{len(entries)} files, {size / 1e6:.1f} MB (mean {size / len(entries) / 1e3:.0f} kB)"
        )
        for workers in (1, 4):
            results: dict[str, list[float]] = {}
            for name, urls in [
                ("static http.server", static_urls),
                ("signed URLs", signed_urls),
            ] * rounds:
                got, dt = _fetch_all(urls, workers)
                assert got == size, (name, got, size)
                results.setdefault(name.strip(), []).append(got / dt / 1e6)
            st, sg = max(results["static http.server"]), max(results["signed URLs"])
            print(
                f"workers={workers}: static {st:7.1f} MB/s   signed URLs {sg:7.1f} MB/s   "
                f"ratio {sg / st:5.2f}"
            )
            out[f"static{workers}"] = statistics.median(results["static http.server"])
            out[f"signed{workers}"] = statistics.median(results["signed URLs"])
        out.update(files=len(entries), bytes=size)
    finally:
        server.close()
        if static is not None:
            static.close()
    return out


def rows(
    quick: bool = False,
    scales: tuple[str, ...] = ("tiny", "small"),
    wide: int = 100_000,
    n_files: int = 400,
    keep: Path | None = None,
) -> list[Row]:
    """Build times, feed rows/s and file throughput (``quick``: tiny, a 5,000-object wide)."""
    if quick:
        scales, wide = ("tiny",), min(wide, QUICK_WIDE)
    q = "quick: " if quick else ""
    work = keep or Path(tempfile.mkdtemp(prefix="bench-server-"))
    work.mkdir(parents=True, exist_ok=True)
    archives, out = {}, []
    try:
        banner("build times")
        for scale in scales:
            archive, st = build_scale(work, scale)
            archives[scale] = archive
            total = st["generate_s"] + st["ingest_s"]
            print(
                f"{scale:6s} {st['objects']:7d} objects {st['spectra']:7d} spectra | generate "
                f"{st['generate_s']:6.1f} s  ingest {st['ingest_s']:6.1f} s  total "
                f"{total:6.1f} s | re-ingest {st['reingest_s']:5.1f} s "
                f"({st['reingest_changed']} changed) | skipped {st['skipped']}"
            )
            target = Target("<", 600) if scale == "large" else None
            note = (f"{q}generate {st['generate_s']:.0f} s + ingest {st['ingest_s']:.0f} s, "
                    f"{st['objects']:,} objects, {st['spectra']:,} spectra")  # fmt: skip
            out.append(Row(NAME, f"build the {scale} demo archive", total, "s", target, note=note))
        banner("sync feeds")
        feed_archive = archives.get("large") or build_wide(work, wide)
        feeds = bench_feeds(feed_archive)
        on = f"{q}large demo" if "large" in archives else f"{q}wide archive, {wide:,} objects"
        for feed in ("/sync/objects", "/sync/spectra"):
            rate = feeds[feed, 10000, "identity", False]
            out.append(Row(NAME, f"{feed}, server-bound, pages of 10,000", rate, "rows/s",
                           note=on))  # fmt: skip
        banner("file downloads: signed URLs vs a static file server")
        name = next((s for s in ("small", "tiny") if s in archives), "")
        files_archive = archives.get(name) or feed_archive
        files = bench_files(files_archive, n_files, 3 if quick else 2)
        on = f"{q}{name or 'feed'} archive, {files['files']:.0f} files, "
        on += f"{files['bytes'] / 1e6:.0f} MB"
        for w in (1, 4):
            out.append(Row(NAME, f"signed-URL files, {w} worker{'s' * (w > 1)}",
                           files[f"signed{w}"], "MB/s", Target(">=", 0.8, "ratio"),
                           files[f"static{w}"], "python -m http.server", on))  # fmt: skip
    finally:
        if keep is None:
            shutil.rmtree(work, ignore_errors=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scales", default="tiny,small", help="demo scales to build")
    parser.add_argument("--large", action="store_true", help="also build the large demo")
    parser.add_argument("--wide", type=int, default=100_000, help="objects in the wide archive")
    parser.add_argument("--files", type=int, default=400, help="files in the throughput test")
    parser.add_argument("--keep", type=Path, default=None, help="keep archives in this folder")
    parser.add_argument("--quick", action="store_true", help="tiny demo, 5,000-object wide")
    parser.add_argument("--json", action="store_true", help="print the rows as a last JSON line")
    args = parser.parse_args()
    scales = [s for s in args.scales.split(",") if s] + (["large"] if args.large else [])
    out = rows(args.quick, tuple(scales), args.wide, args.files, args.keep)
    if args.json:
        print(emit(NAME, "quick" if args.quick else "full", out))


if __name__ == "__main__":
    main()
