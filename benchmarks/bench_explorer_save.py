"""Benchmark saving an inspection from the Explorer: the local write to the on-screen confirmation.

Target (issue #10): a save from the explorer's inspection bar (Enter) is confirmed on screen in
under 50 ms, with the server round trip off the UI path, on a large catalog too.

What is timed is the kernel side of Enter: the bar's ``save`` message handled, the write applied
to the local catalog and queued in the outbox, and the bar's ``status`` set to "saved locally,
sending" (the confirmation the browser draws), the table row redrawn after. Rows:

* **online, demo archive**: a client of the served demo archive (``campfire serve`` in its own
  process); baseline, in the same run: the blocking call a simple widget would make,
  ``cf.inspect(...)`` with its archive round trip on the UI thread.
* **offline, large catalog**: a synthetic catalog of ``--objects`` objects (100,000) with its
  DuckDB tables loaded and ``CAMPFIRE_OFFLINE=1``; baseline: what the save would cost if the
  query tables were rebuilt after it (``Catalog.refresh(force=True)``), which the in-place update
  avoids.
* **archive answer, off the UI path**: from Enter to the archive's answer shown (informational).

``--quick`` (``make bench``) uses the tiny demo archive and fewer saves; full mode the small one.
Run: ``.venv/bin/python benchmarks/bench_explorer_save.py [--quick] [--json]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from demo_server import Served, ensure_archive
from paths import DEMO, ROOT, demo_copy
from results import Row, Target, emit

sys.path.insert(0, str(ROOT / "tests" / "widgets"))

NAME = "explorer_save"


def bar_for(cf: Any) -> Any:
    """An inspection bar joined to a table and a viewer, as the Explorer builds it."""
    from campfire.views.widgets.explorer_inspection import ExplorerInspection
    from campfire.widgets import ObjectBrowser, SpectrumViewer

    browser = ObjectBrowser(cf, page_size=25)
    return ExplorerInspection(cf, browser, SpectrumViewer(hold_rest_zoom=True)).bar


def time_saves(cf: Any, ids: list[str], answered: bool) -> dict[str, list[float]]:
    """Enter on each object in turn: ms to the confirmation, to the message handled (the table
    row redrawn too), and (if ``answered``) to the archive's answer."""
    bar = bar_for(cf)
    confirm: list[float] = []
    handled: list[float] = []
    answer: list[float] = []
    for i, oid in enumerate(ids):
        bar.set_object(cf.get_object(oid))
        bar.wait(60)  # its comments loaded: nothing else on the worker
        done = threading.Event()
        stamps: dict[str, float] = {}

        def seen(
            change: dict[str, Any],
            stamps: dict[str, float] = stamps,
            done: threading.Event = done,
        ) -> None:
            state = (change["new"] or {}).get("state")
            if state == "sending" and "confirm" not in stamps:
                stamps["confirm"] = time.perf_counter()
            if state in ("saved", "queued", "conflict", "error"):
                stamps.setdefault("answer", time.perf_counter())
                done.set()

        bar.observe(seen, "status")
        t0 = time.perf_counter()
        quality = 3 if bar.object.get("redshift_quality") == 4 else 4  # always a change
        bar._on_msg(bar, {"type": "save", "redshift": 2.0 + i * 1e-3, "quality": quality}, [])
        handled.append((time.perf_counter() - t0) * 1e3)
        if answered:
            done.wait(60)
        bar.unobserve(seen, "status")
        if "confirm" not in stamps:
            raise RuntimeError(f"no confirmation for {oid}: {bar.status} {bar.error}")
        confirm.append((stamps["confirm"] - t0) * 1e3)
        if answered and "answer" in stamps:
            answer.append((stamps["answer"] - t0) * 1e3)
    bar.wait(60)
    bar.close()
    return {"confirm": confirm, "handled": handled, "answer": answer}


def online_rows(quick: bool) -> list[Row]:
    scale = "tiny" if quick else "small"
    n = 8 if quick else 30
    with tempfile.TemporaryDirectory() as tmp:
        # a copy (its database: the saves change it; no files are read); alice may inspect
        demo = ensure_archive(DEMO / scale, scale)
        archive = demo_copy(demo, Path(tmp) / "archive", can_inspect=("alice@campfire.demo",))
        with Served(archive) as srv:
            t, blocking = _online_saves(srv, Path(tmp), n)
    note = f"{'quick: ' if quick else ''}{scale} demo archive, {n} saves"
    med = {k: statistics.median(v) for k, v in t.items()}
    base, base_name = statistics.median(blocking), "cf.inspect round trip on the UI thread"
    return [
        Row(NAME, "Enter to confirmation, online", med["confirm"], "ms", Target("<", 50), base,
            base_name, note=note),
        Row(NAME, "Enter handled (confirmation + table row), online", med["handled"], "ms",
            Target("<", 50), base, base_name, note=note),
        Row(NAME, "Enter to the archive's answer (off the UI path)", med["answer"], "ms",
            note=note),
    ]  # fmt: skip


def _online_saves(srv: Served, tmp: Path, n: int) -> tuple[dict[str, list[float]], list[float]]:
    """Our saves on ``n`` objects, then the blocking baseline on ``n`` others."""
    from campfire import Campfire

    os.environ.update(
        CAMPFIRE_API_URL=srv.base_url, CAMPFIRE_API_KEY=srv.user("alice@campfire.demo")["api_key"]
    )
    cf = Campfire(data_dir=tmp / "data")
    cf.sync()
    cf.catalog.connection()  # the query tables loaded, as in a running explorer
    ids = [str(o) for o in cf.query_objects(sort="object_id")["object_id"]]
    t = time_saves(cf, ids[:n], answered=True)
    blocking = []
    for i, oid in enumerate(ids[n : 2 * n]):
        t0 = time.perf_counter()
        cf.inspect(oid, redshift=3.0 + i * 1e-3, quality=3)
        blocking.append((time.perf_counter() - t0) * 1e3)
    return t, blocking


def offline_rows(quick: bool, objects: int) -> list[Row]:
    from catalog_data import fill_catalog

    from campfire import Campfire

    n = 8 if quick else 30
    with tempfile.TemporaryDirectory() as tmp:
        fill_catalog(Path(tmp), objects, seed=5, with_spectra=False)
        os.environ["CAMPFIRE_OFFLINE"] = "1"
        try:
            cf = Campfire(data_dir=tmp)
            cf.catalog.connection()
            ids = [f"J{i:05d}" for i in range(0, objects, max(1, objects // (2 * n)))]
            t = time_saves(cf, ids[:n], answered=False)
            rebuild = []
            for _ in range(3 if quick else 5):
                t0 = time.perf_counter()
                cf.catalog.refresh(force=True)
                rebuild.append((time.perf_counter() - t0) * 1e3)
            versions = cf.catalog.versions()
        finally:
            os.environ.pop("CAMPFIRE_OFFLINE", None)
    print(f"offline: {n} saves on {objects:,} objects, catalog versions {versions}")
    rebuilt = statistics.median(rebuild)
    note = f"{'quick: ' if quick else ''}synthetic catalog, {n} saves"
    return [
        Row(NAME, f"Enter to confirmation, offline, {objects:,} objects",
            statistics.median(t["confirm"]), "ms", Target("<", 50), rebuilt,
            "query tables rebuilt after the write", note=note),
        Row(NAME, f"Enter handled (confirmation + table row), offline, {objects:,} objects",
            statistics.median(t["handled"]), "ms", Target("<", 50), rebuilt,
            "query tables rebuilt after the write", note=note),
    ]  # fmt: skip


def rows(quick: bool = False, objects: int = 100_000) -> list[Row]:
    """The benchmark's rows (see the module docstring)."""
    return online_rows(quick) + offline_rows(quick, objects)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="tiny archive, fewer saves")
    parser.add_argument("--json", action="store_true", help="print the rows as a last JSON line")
    args = parser.parse_args()
    out = rows(args.quick, args.objects)
    for row in out:
        base = f" (baseline {row.baseline:.1f} ms: {row.baseline_name})" if row.baseline else ""
        print(f"{row.name}: {row.value:.1f} {row.unit}{base}")
    if args.json:
        print(emit(NAME, "quick" if args.quick else "full", out))


if __name__ == "__main__":
    main()
