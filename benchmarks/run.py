"""Run every benchmark and print one table: figure, target, same-run baseline, ratio, met.

Each ``bench_<name>.py`` runs in its own process (so import times and memory are its own) with
``--json``, and ``--quick`` unless ``--full`` is given; its last output line carries its rows
(see ``results.py``). Quick mode measures on the tiny demo archive or a small synthetic
catalog and a few repeats, and says so in the "measured on" column; full mode is each script's
own default (the large demo archive, minutes to build once).

The exit status is non-zero only when a benchmark crashed (or timed out); a missed target is a
row of the table, not a failure.

Run::

    make bench                                        # quick mode, every benchmark
    .venv/bin/python benchmarks/run.py --only science --only catalog
    .venv/bin/python benchmarks/run.py --full --markdown > bench.md
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from results import Row, find_rows, format_table

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BENCHMARKS = (
    "backends", "catalog", "demo_build", "download", "explorer", "explorer_save", "export_html",
    "inspect", "inspections", "login", "science", "server", "store", "sync", "widgets",
    "workers",
)  # fmt: skip
FOOTER = (
    "median of each script's repeats; ratio = median / baseline median, measured in the same run "
    "(times: below 1 is better; rates: above 1 is better)"
)


def command(name: str, full: bool) -> list[str]:
    """The command line that runs one benchmark script for ``run.py``."""
    quick = [] if full else ["--quick"]
    return [sys.executable, str(HERE / f"bench_{name}.py"), "--json", *quick]


def rows_of(name: str, output: str, returncode: int | None, seconds: float) -> list[Row]:
    """The rows a finished script reported, or one crash row saying why there are none.

    ``returncode`` None means the run was stopped after ``seconds`` (the timeout).
    """
    rows = find_rows(output)
    if returncode is None:
        return [Row(name, "", None, "", crashed=f"timed out after {seconds:.0f} s")]
    if returncode != 0 or rows is None:
        last = [ln.strip() for ln in output.splitlines() if ln.strip() and "{" not in ln[:1]]
        why = last[-1] if last else "no output"
        status = f"exit {returncode}" if returncode != 0 else "no rows printed"
        return [Row(name, "", None, "", crashed=f"{status}: {why}"[:160])]
    return rows


def run_one(name: str, full: bool, timeout: float, verbose: bool) -> tuple[list[Row], float]:
    """Run ``bench_<name>.py`` in its own process group; return its rows and wall time."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        command(name, full),
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its servers too are stopped if it times out
    )
    timed_out = threading.Event()

    def stop() -> None:  # SIGTERM to the script and the servers it started, then SIGKILL
        timed_out.set()
        for sig in (signal.SIGTERM, signal.SIGKILL):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(10)
                return

    timer = threading.Timer(timeout, stop)
    timer.start()
    out: list[str] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            out.append(line)
            if verbose:
                sys.stderr.write(f"  {name}| {line}")
        proc.wait()
    finally:
        timer.cancel()
    seconds = time.perf_counter() - t0
    code = None if timed_out.is_set() else proc.returncode
    return rows_of(name, "".join(out), code, seconds), seconds


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", action="append", choices=BENCHMARKS, help="run only this one")
    ap.add_argument("--full", action="store_true", help="each script's full mode (long)")
    ap.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    ap.add_argument("--timeout", type=float, default=None, help="seconds per benchmark")
    ap.add_argument("-v", "--verbose", action="store_true", help="show each script's output")
    args = ap.parse_args(argv)
    names = [n for n in BENCHMARKS if not args.only or n in args.only]
    timeout = args.timeout or (7200.0 if args.full else 900.0)
    mode = "full" if args.full else "quick"
    rows: list[Row] = []
    load = os.getloadavg()[0]  # the machine's load says how far to trust a busy run's figures
    t0 = time.perf_counter()
    for i, name in enumerate(names, 1):
        print(f"[{i}/{len(names)}] bench_{name} ({mode}) ...", end="", file=sys.stderr, flush=True)
        got, took = run_one(name, args.full, timeout, args.verbose)
        state = "CRASHED" if any(r.crashed for r in got) else f"{len(got)} rows"
        print(f" {took:.0f} s, {state}", file=sys.stderr, flush=True)
        rows += got
    total = time.perf_counter() - t0
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    title = (
        f"campfire benchmarks, {mode} mode, {stamp}, {total:.0f} s on {os.cpu_count()} CPUs "
        f"(load average {load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end)"
    )
    if args.markdown:
        print(f"**{title}**\n\n{format_table(rows, markdown=True)}\n\n{FOOTER}")
    else:
        print(f"{title}\n\n{format_table(rows)}\n\n{FOOTER}")
    return 1 if any(r.crashed for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
