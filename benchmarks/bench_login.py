"""Benchmark: does a flood of wrong passwords stall everyone else? (issue #13, finding 2)

Measures the latency of ``GET /api/v1/version`` on an idle server (the same-run baseline), then
while four clients post wrong passwords to ``/login`` as fast as they can (each check is ~100 ms
of scrypt). The server runs in its own process with the sign-in throttle lifted, so what is
measured is the password check running off the event loop, not the throttle refusing early.
Before the fix, ``/version`` went from ~3 ms to ~1 s under this load.

Usage::

    python benchmarks/bench_login.py            # 200 samples each
    python benchmarks/bench_login.py --quick --json
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests
from paths import ROOT
from results import Row, Target, emit

sys.path.insert(0, str(ROOT / "tests" / "server"))
NAME = "login"
SERVER = """
import sys
from campfire.server.http.limiter import LoginThrottle
from campfire.server.testing import running_server
with running_server(sys.argv[1]) as srv:
    db = srv.app.state.archive.db
    srv.app.state.login_throttle = LoginThrottle(db, per_address=10**9, per_account=10**9)
    print(srv.root_url, flush=True)
    sys.stdin.read()
"""


def version_ms(root: str, n: int) -> list[float]:
    session = requests.Session()
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        session.get(root + "/api/v1/version", timeout=30).raise_for_status()
        out.append((time.perf_counter() - t0) * 1000)
        time.sleep(0.01)
    return out


def rows(quick: bool = False) -> list[Row]:
    """Idle and flooded ``/version`` medians, as one row (flooded, with idle the baseline)."""
    n = 40 if quick else 200
    from conftest import build_archive
    from server_products import USERS

    work = Path(tempfile.mkdtemp(prefix="bench-login-"))
    build_archive(work)
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(work / "archive")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        root = proc.stdout.readline().strip() if proc.stdout else ""
        version_ms(root, 5)  # warm
        idle = statistics.median(version_ms(root, n))
        stop = threading.Event()
        posted = [0]

        def flood(i: int) -> None:  # a registered account: scrypt runs, before the fix too
            s = requests.Session()
            while not stop.is_set():
                s.post(
                    root + "/login",
                    data={"email": USERS["full"]["email"], "password": f"wrong-{i}"},
                    allow_redirects=False,
                    timeout=60,
                )
                posted[0] += 1

        threads = [threading.Thread(target=flood, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        time.sleep(0.5)
        loaded = statistics.median(version_ms(root, n))
        stop.set()
        for t in threads:
            t.join()
    finally:
        if proc.stdin:
            proc.stdin.close()
        proc.wait(timeout=30)
        if proc.stdout:
            proc.stdout.close()
    print(f"/version median: idle {idle:.1f} ms, under 4 password floods {loaded:.1f} ms "
          f"({loaded / idle:.1f}x; {posted[0]} wrong passwords posted)")  # fmt: skip
    return [
        Row(
            NAME,
            "/version latency, 4 clients posting wrong passwords",
            loaded,
            "ms",
            Target("<", 50),
            baseline=idle,
            baseline_name="idle server",
            note=f"{n} samples",
        )
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="40 samples each")
    ap.add_argument("--json", action="store_true", help="print the rows as a last JSON line")
    args = ap.parse_args()
    out = rows(quick=args.quick)
    if args.json:
        print(emit(NAME, "quick" if args.quick else "full", out))


if __name__ == "__main__":
    main()
