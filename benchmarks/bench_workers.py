"""Benchmark the stateless server (#12): what the shared rate limit costs, what workers give.

Prints figures and same-run ratios:

1. requests/s of a small authenticated route (``/auth/whoami``) from 4 concurrent clients,
   with ``--rate-limit`` (one UPSERT and one read of the database a request) and without;
2. sync rows/s (``/sync/objects`` then ``/sync/spectra``, pages of 10,000, server-bound: bytes
   read, not parsed) with 4 concurrent clients, ``campfire serve --workers 2`` against one
   process (aim: at least 1.6x).

Every server is ``campfire serve`` in its own process(es); the clients are threads of this one
(each with its own keep-alive connection). Runs alternate the two settings, medians reported.

``--quick`` serves a 5,000-object wide archive (2 rounds); the default a 100,000-object one
(3 rounds).

Usage::

    python benchmarks/bench_workers.py                 # wide 100k
    python benchmarks/bench_workers.py --wide 20000
    python benchmarks/bench_workers.py --quick --json
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from bench_server import QUICK_WIDE, Served, api_key, banner, build_wide
from results import Row, Target, emit

NAME = "workers"
CLIENTS = 4


def serve(archive: Path, *extra: str) -> tuple[Served, str]:
    """``campfire serve`` on a free port with ``extra`` options; ``(process, base URL)``."""
    cmd = [sys.executable, "-m", "campfire", "serve", "--archive", str(archive), "--port", "0"]
    s = Served([*cmd, *extra], "Serving ")
    base = s.line.split(" at ")[1].split()[0]
    deadline = time.monotonic() + 60
    while True:  # workers start after the URL is printed
        try:
            if requests.get(base + "/version", timeout=5).ok:
                return s, base
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            s.close()
            raise RuntimeError("the server did not answer")
        time.sleep(0.05)


def _clients(job, n: int = CLIENTS) -> tuple[int, float]:
    """Run ``job(session)`` on ``n`` threads at once; ``(sum of their counts, wall seconds)``."""
    sessions = [requests.Session() for _ in range(n)]
    for s in sessions:
        job(s, warm=True)
    t = time.perf_counter()
    with ThreadPoolExecutor(n) as ex:
        counts = list(ex.map(job, sessions))
    return sum(counts), time.perf_counter() - t


def requests_per_s(base: str, headers: dict[str, str], per_client: int) -> float:
    """Requests/s of ``/auth/whoami`` from 4 concurrent clients."""

    def job(s: requests.Session, warm: bool = False) -> int:
        for _ in range(5 if warm else per_client):
            r = s.get(base + "/auth/whoami", headers=headers, timeout=30)
            assert r.status_code == 200, r.status_code
        return per_client

    n, dt = _clients(job)
    return n / dt


def feed_rows_per_s(base: str, headers: dict[str, str]) -> float:
    """Rows/s of both sync feeds read in full by each of 4 concurrent clients."""

    def job(s: requests.Session, warm: bool = False) -> int:
        rows = 0
        for feed in ("/sync/objects", "/sync/spectra"):
            offset, total = 0, None
            while total is None or offset < total:
                params = {"limit": 10000, "offset": offset}
                params["include_counts"] = "true" if offset == 0 else "false"
                hdrs = {**headers, "Accept-Encoding": "identity"}
                r = s.get(base + feed, params=params, headers=hdrs, stream=True, timeout=120)
                raw = r.raw.read()
                if total is None:
                    tail = raw[raw.rindex(b'"pagination"') :].decode()
                    total = int(json.loads("{" + tail)["pagination"]["total"])
                n = min(10000, total - offset)
                rows, offset = rows + n, offset + n
                if warm:
                    return rows
        return rows

    n, dt = _clients(job)
    return n / dt


def rows(quick: bool = False, wide: int = 100_000, keep: Path | None = None) -> list[Row]:
    """The rate limit's cost and the workers' gain (``quick``: 5,000 objects, 2 rounds)."""
    wide = min(wide, QUICK_WIDE) if quick else wide
    rounds = 2 if quick else 3
    q = "quick: " if quick else ""
    work = keep or Path(tempfile.mkdtemp(prefix="bench-workers-"))
    work.mkdir(parents=True, exist_ok=True)
    out: list[Row] = []
    try:
        archive = work / "wide-archive"
        if not archive.exists():
            archive = build_wide(work, wide)
        headers = {"Authorization": f"Bearer {api_key(archive)}"}
        banner("requests/s with and without the shared rate limit")
        found: dict[str, list[float]] = {"limited": [], "unlimited": []}
        for _ in range(rounds):
            for name, extra in (("unlimited", ()), ("limited", ("--rate-limit", "1000000"))):
                server, base = serve(archive, *extra)
                try:
                    rate = requests_per_s(base, headers, 300 if quick else 1000)
                finally:
                    server.close()
                found[name].append(rate)
                print(f"{name:10s} {rate:8.0f} requests/s")
        lim, unlim = (statistics.median(found[k]) for k in ("limited", "unlimited"))
        on = f"{q}{CLIENTS} clients, /auth/whoami"
        name = "requests/s with --rate-limit (counted in the database)"
        target = Target(">=", 0.8, "ratio")
        out.append(Row(NAME, name, lim, "req/s", target, unlim, "no rate limit", on))
        banner("sync rows/s: --workers 2 against one process, 4 clients")
        found = {"1": [], "2": []}
        for _ in range(rounds):
            for workers in ("1", "2"):
                server, base = serve(archive, "--workers", workers)
                try:
                    rate = feed_rows_per_s(base, headers)
                finally:
                    server.close()
                found[workers].append(rate)
                print(f"workers={workers} {rate:10,.0f} rows/s")
        two, one = statistics.median(found["2"]), statistics.median(found["1"])
        on = f"{q}wide archive, {wide:,} objects, {CLIENTS} clients, pages of 10,000"
        out.append(Row(NAME, "sync rows/s, --workers 2", two, "rows/s",
                       Target(">=", 1.6, "ratio"), one, "one process", on))  # fmt: skip
    finally:
        if keep is None:
            shutil.rmtree(work, ignore_errors=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--wide", type=int, default=100_000, help="objects in the wide archive")
    parser.add_argument("--keep", type=Path, default=None, help="keep the archive in this folder")
    parser.add_argument("--quick", action="store_true", help="a 5,000-object archive, 2 rounds")
    parser.add_argument("--json", action="store_true", help="print the rows as a last JSON line")
    args = parser.parse_args()
    out = rows(args.quick, args.wide, args.keep)
    if args.json:
        print(emit(NAME, "quick" if args.quick else "full", out))


if __name__ == "__main__":
    main()
