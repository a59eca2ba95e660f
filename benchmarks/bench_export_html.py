"""Benchmark the standalone HTML page (``campfire export-html``) against same-run baselines.

Targets (issue #11): exporting 500 objects < 10 s on this machine; the page interactive in
Chromium (first object's spectrum drawn) < 2 s; 500 PRISM objects < 10 MB.

Rows:
* ``export_html`` end to end (catalog records, FITS files, binning, bokeh, the file) on a served
  demo archive whose spectra are downloaded: the small archive (~500 objects) by default, the
  tiny one (~50) with ``--quick``, where the 10 s target does not apply;
* a page of 500 PRISM objects built from that archive's PRISM FITS files (each read again with
  ``read_spectrum(products="1d")`` as ``export_html`` reads them, so file reading counts): its
  time and its size;
* one PRISM file read by ``read_spectrum(products="1d")`` and by the full ``read_spectrum``;
  baseline: astropy's ``fits.getdata`` of the same ``SPEC1D`` extension;
* baseline for both: bokeh's own ``file_html`` of an empty figure with inline resources (the
  fixed cost of any standalone bokeh page);
* the 500-object page opened from ``file://`` in Debian's Chromium with the network cut, until
  the first object's spectrum is drawn; baseline: loading a blank page the same way. Without
  ``/usr/bin/chromium`` or Playwright this row says "skipped".

Run: ``.venv/bin/python benchmarks/bench_export_html.py [--quick] [--json]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from demo_server import Served, ensure_archive
from paths import DEMO
from results import Row, Target, emit

NAME = "export_html"
CHROMIUM = "/usr/bin/chromium"
READY = """() => window.Bokeh && Bokeh.documents.length === 1 &&
  Bokeh.documents[0].get_model_by_name('spectrum').data.xs.length > 0"""


CPU: list[float] = []  # process CPU seconds of the last timed() calls (load-independent)


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    """Wall times of ``repeat`` calls, in seconds (their CPU times go to ``CPU``)."""
    out = []
    CPU.clear()
    for _ in range(repeat):
        c0, t0 = time.process_time(), time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
        CPU.append(time.process_time() - c0)
    return out


def cpu_note() -> str:
    """The median CPU time of the last timed() calls, and the machine's load, for the note."""
    return f"CPU {statistics.median(CPU):.2f} s; load {os.getloadavg()[0]:.1f}"


def empty_bokeh_page() -> str:
    from bokeh.embed import file_html
    from bokeh.plotting import figure
    from bokeh.resources import INLINE

    return str(file_html(figure(), resources=INLINE, title="empty"))


def synced_client(srv: Served, data: Path):  # -> Campfire, with every spectrum downloaded
    from campfire import Campfire

    os.environ["CAMPFIRE_API_KEY"] = srv.users[0]["api_key"]
    cf = Campfire(base_url=srv.base_url, data_dir=data)
    cf.sync()
    cf.download(observations=cf.get_observations())
    return cf


def bench_export(scale: str, repeat: int, work: Path) -> tuple[list[Row], list[Path]]:
    """export_html end to end on a served archive; returns the rows and its PRISM files."""
    archive = ensure_archive(DEMO / scale, scale)
    with Served(archive) as srv:
        cf = synced_client(srv, work / f"data-{scale}")
        table = cf.query_objects()
        n = len(table)
        path = work / f"{scale}.html"
        times = timed(lambda: cf.export_html(table, path, max_objects=max(n, 1)), repeat)
        note = f"{path.stat().st_size / 1e6:.1f} MB; {cpu_note()}"
        base = timed(lambda: (work / "empty.html").write_text(empty_bokeh_page()), repeat)
        files = sorted(cf.data_dir.glob("products/*/*prism*_spec.fits"))
    applies = scale != "tiny"
    return [
        Row(NAME, f"export_html, {n} objects ({scale} archive, end to end)",
            statistics.median(times), "s", Target("<", 10, applies=applies),
            statistics.median(base), "bokeh file_html, empty figure",
            note=note),
    ], files  # fmt: skip


def five_hundred(files: list[Path], work: Path) -> tuple[list[Row], Path]:
    """A page of 500 PRISM objects from FITS files (read each time): time and size."""
    from campfire.io.fits import read_spectrum
    from campfire.models.object import Object
    from campfire.views.htmlpage import PageObject, page_html

    rng = np.random.default_rng(5)
    path = work / "page500.html"

    def build() -> None:
        pages = []
        for i in range(500):
            obj = Object(
                object_id=f"J0217{i:05d}", field="uds", ra=34.3 + rng.uniform(0, 0.2),
                dec=-5.2 + rng.uniform(0, 0.2), redshift=float(rng.uniform(1, 9)),
                max_snr=float(rng.uniform(1, 50)), redshift_quality=int(rng.integers(0, 5)),
            )  # fmt: skip
            spec = read_spectrum(files[i % len(files)], products="1d")  # as export_html reads
            pages.append(PageObject(obj=obj, spectra=[spec]))
        path.write_text(page_html(pages, "500 PRISM objects"), encoding="utf-8")

    times = timed(build, 3)
    note = cpu_note()
    base = timed(lambda: (work / "empty.html").write_text(empty_bokeh_page()), 3)
    size = path.stat().st_size / 1e6
    return [
        Row(NAME, "page of 500 PRISM objects (FITS, binning, bokeh, file)",
            statistics.median(times), "s", Target("<", 10), statistics.median(base),
            "bokeh file_html, empty figure", note=note),
        Row(NAME, "page size, 500 PRISM objects", size, "MB", Target("<", 10)),
    ], path  # fmt: skip


def bench_read(files: list[Path], repeat: int = 3) -> list[Row]:
    """Per PRISM file: ``read_spectrum(products="1d")`` and the full read, each against
    astropy's ``fits.getdata`` of the same ``SPEC1D`` extension (same files, same run)."""
    from astropy.io import fits

    from campfire.io.fits import read_spectrum

    sample = files[:200]

    def per_file(fn: Callable[[Path], object]) -> float:
        times = timed(lambda: [fn(f) for f in sample], repeat)
        return statistics.median(times) / len(sample) * 1e3

    base = per_file(lambda f: fits.getdata(f, "SPEC1D"))
    one_d = per_file(lambda f: read_spectrum(f, products="1d"))
    full = per_file(read_spectrum)
    note = f"{len(sample)} files; load {os.getloadavg()[0]:.1f}"
    return [
        Row(NAME, 'read_spectrum(products="1d"), one PRISM file', one_d, "ms", None, base,
            "astropy fits.getdata(path, 'SPEC1D')", note=note),
        Row(NAME, "read_spectrum (1D and 2D), one PRISM file", full, "ms", None, base,
            "astropy fits.getdata(path, 'SPEC1D')", note=note),
    ]  # fmt: skip


def bench_browser(page: Path, work: Path, repeat: int) -> list[Row]:
    """From navigation to the first spectrum drawn, network cut; baseline: a blank page."""
    name = "page interactive in Chromium (500 objects)"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return [Row(NAME, name, None, "ms", skipped="playwright is not installed")]
    if not os.access(CHROMIUM, os.X_OK):
        return [Row(NAME, name, None, "ms", skipped=f"{CHROMIUM} not found")]
    blank = work / "blank.html"
    blank.write_text("<!DOCTYPE html><html><head><title>blank</title></head><body></body></html>")
    times: list[float] = []
    base: list[float] = []
    busy: list[float] = []
    requests: list[str] = []
    with sync_playwright() as p:
        args = ["--headless", "--no-sandbox", "--disable-gpu"]
        browser = p.chromium.launch(executable_path=CHROMIUM, args=args)
        for _ in range(repeat):
            for target, out in ((page, times), (blank, base)):
                context = browser.new_context(viewport={"width": 1300, "height": 1400})

                def route(r) -> None:
                    if r.request.url.startswith("file:"):
                        r.continue_()
                    else:
                        requests.append(r.request.url)
                        r.abort()

                context.route("**/*", route)
                tab = context.new_page()
                cdp = context.new_cdp_session(tab)
                cdp.send("Performance.enable")
                t0 = time.perf_counter()
                tab.goto(target.as_uri())
                if target == page:
                    tab.wait_for_function(READY, polling="raf", timeout=60_000)
                out.append((time.perf_counter() - t0) * 1e3)
                if target == page:  # the renderer's main thread: busy time, load-independent
                    metrics = {m["name"]: m["value"] for m in
                               cdp.send("Performance.getMetrics")["metrics"]}  # fmt: skip
                    busy.append(metrics.get("TaskDuration", float("nan")) * 1e3)
                context.close()
        browser.close()
    return [
        Row(NAME, name, statistics.median(times), "ms", Target("<", 2000),
            statistics.median(base), "blank page",
            note=f"main thread busy {statistics.median(busy):.0f} ms; {len(requests)} requests "
            f"attempted; load {os.getloadavg()[0]:.1f}"),
    ]  # fmt: skip


def rows(quick: bool = False) -> list[Row]:
    """Every figure of this benchmark (``quick``: the tiny archive, fewer repeats)."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        out, files = bench_export("small" if not quick else "tiny", 1 if not quick else 2, work)
        page_rows, page = five_hundred(files, work)
        read_rows = bench_read(files)
        return [*out, *page_rows, *read_rows, *bench_browser(page, work, 3 if quick else 5)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the tiny archive, fewer repeats")
    parser.add_argument("--json", action="store_true", help="print the rows as a last JSON line")
    args = parser.parse_args()
    out = rows(args.quick)
    for r in out:
        print(r)
    if args.json:
        print(emit(NAME, "quick" if args.quick else "full", out))


if __name__ == "__main__":
    sys.exit(main())
