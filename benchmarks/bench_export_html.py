"""Benchmark the standalone HTML page (``campfire export-html``) against same-run baselines.

Targets (issue #11): exporting 500 objects < 10 s on this machine; the page interactive in
Chromium < 2 s; 500 PRISM objects < 10 MB.

"Interactive" is measured as a reader meets it: from navigation (the page's ``timeOrigin``)
until the table's rows are on screen *and* a click on a row (the third) has put that object's
spectrum into the page's Bokeh models (``spectrum.tags`` names the row, its lines hold data).
The click is a real Playwright click on the row, issued as soon as the rows show.

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
* the 500-object page opened from ``file://`` in Debian's Chromium with the network cut,
  until interactive (above); baseline: bokeh's own ``file_html`` of an empty figure with inline
  resources, opened the same way, until its document is idle (rendered). A second row gives
  bokeh's own page with the same three bundles as ours (a figure, a 500-row ``DataTable`` and
  a slider) until its rows show: what any bokeh page with a table costs here. The note gives
  our page's phases (BokehJS parsed and run, rows shown, document idle) and the renderer's
  busy time. Without ``/usr/bin/chromium`` or Playwright these rows say "skipped".

Run: ``.venv/bin/python benchmarks/bench_export_html.py [--quick] [--page] [--json]``
(``--page``: only the 500-object page and the browser rows, from the tiny archive's PRISM
files; what the page-speed work measures under the bench lock).
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
CLICKED_ROW = 2
# the table's rows on screen (ms since navigation), else false
ROWS_SHOWN = """(n) => {
  const d = window.Bokeh && Bokeh.documents.length === 1 && Bokeh.documents[0];
  const table = d && d.get_model_by_name('table');
  const view = table && Bokeh.index.find_one(table);
  if (!view || !view.grid || view.grid.getDataLength() !== n) return false;
  return view.shadow_el.querySelectorAll('.slick-row').length > 0 ? performance.now() : false }"""
# the clicked row's object in the spectrum pane (ms since navigation), else false
ROW_DRAWN = """(i) => {
  const d = Bokeh.documents[0];
  const spec = d.get_model_by_name('spectrum');
  const ok = spec.tags[0] === i && d.get_model_by_name('objects').selected.indices[0] === i &&
    spec.data.xs.length > 0;
  return ok ? performance.now() : false }"""
IDLE = """() => window.Bokeh && Bokeh.documents.length === 1 && Bokeh.documents[0].is_idle ?
  performance.now() : false"""


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


def bokeh_table_page(n: int) -> str:
    """Bokeh's own inline page with the bundles ours loads: a figure, an n-row table, a slider."""
    from bokeh.embed import file_html
    from bokeh.layouts import column
    from bokeh.models import ColumnDataSource, DataTable, Slider, TableColumn
    from bokeh.plotting import figure
    from bokeh.resources import INLINE

    src = ColumnDataSource({"x": list(range(n)), "y": [float(i % 7) for i in range(n)]})
    fig = figure(width=380, height=340)
    fig.scatter("x", "y", source=src)
    cols = [TableColumn(field="x", title="x"), TableColumn(field="y", title="y")]
    table = DataTable(source=src, columns=cols, width=600, height=280, name="table")
    page = column(fig, table, Slider(start=0, end=1, value=0, step=0.1))
    return str(file_html(page, resources=INLINE, title="bokeh table"))


def open_page(browser, target: Path, until, requests: list[str]) -> tuple[float, dict]:
    """Open ``target`` from file:// with the network cut; ``until(tab)`` -> ms since navigation.

    Returns that figure and the page's phases (ms since navigation) with the renderer's busy
    time (``TaskDuration``, the main thread's work: load-independent, unlike the wall clock).
    """
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
    tab.goto(target.as_uri(), wait_until="commit")
    figure_ms, phases = until(tab)
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    phases["busy"] = metrics.get("TaskDuration", float("nan")) * 1e3
    phases["cpu"] = metrics.get("ThreadTime", float("nan")) * 1e3  # main thread CPU time
    phases["cpu_all"] = metrics.get("ProcessTime", float("nan")) * 1e3  # renderer process
    phases["script"] = tab.evaluate(
        "() => performance.getEntriesByType('navigation')[0].domInteractive"
    )
    context.close()
    return figure_ms, phases


def interactive(n: int):
    """Rows shown, then a click on a row, until its spectrum is in the models (ms)."""

    def until(tab) -> tuple[float, dict]:
        rows = tab.wait_for_function(ROWS_SHOWN, arg=n, polling="raf", timeout=60_000)
        shown = rows.json_value()
        tab.locator(".slick-row").nth(CLICKED_ROW).click()
        drawn = tab.wait_for_function(ROW_DRAWN, arg=CLICKED_ROW, polling="raf", timeout=60_000)
        done = drawn.json_value()
        idle = tab.wait_for_function(IDLE, polling="raf", timeout=60_000).json_value()
        return done, {"rows": shown, "idle": idle}

    return until


def rows_shown(n: int):
    def until(tab) -> tuple[float, dict]:
        shown = tab.wait_for_function(ROWS_SHOWN, arg=n, polling="raf", timeout=60_000)
        return shown.json_value(), {}

    return until


def idle(tab) -> tuple[float, dict]:
    return tab.wait_for_function(IDLE, polling="raf", timeout=60_000).json_value(), {}


def bench_browser(
    page: Path, work: Path, repeat: int, n: int = 500, compare: Path | None = None
) -> list[Row]:
    """The page interactive (rows shown, a click drawn) against bokeh's own pages, same run;
    ``compare``: another page of ``n`` objects (an older build, say) measured alongside."""
    name = f"page interactive in Chromium ({n} objects)"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return [Row(NAME, name, None, "ms", skipped="playwright is not installed")]
    if not os.access(CHROMIUM, os.X_OK):
        return [Row(NAME, name, None, "ms", skipped=f"{CHROMIUM} not found")]
    empty = work / "empty.html"
    empty.write_text(empty_bokeh_page())
    table = work / "bokeh_table.html"
    table.write_text(bokeh_table_page(n))
    times: list[float] = []
    base: list[float] = []
    tables: list[float] = []
    phases: list[dict] = []
    base_cpu: list[float] = []
    other: list[float] = []
    requests: list[str] = []
    loads = []
    with sync_playwright() as p:
        args = ["--headless", "--no-sandbox", "--disable-gpu"]
        browser = p.chromium.launch(executable_path=CHROMIUM, args=args)
        open_page(browser, empty, idle, requests)  # warm the browser process once
        for _ in range(repeat):  # alternating, so load changes fall on all three alike
            loads.append(os.getloadavg()[0])
            ms, ph = open_page(browser, page, interactive(n), requests)
            times.append(ms)
            phases.append(ph)
            ms, ph = open_page(browser, empty, idle, requests)
            base.append(ms)
            base_cpu.append(ph["cpu"])
            tables.append(open_page(browser, table, rows_shown(n), requests)[0])
            if compare is not None:
                other.append(open_page(browser, compare, interactive(n), requests)[0])
        browser.close()

    def med(key: str) -> float:
        return statistics.median(ph[key] for ph in phases)

    note = (
        f"BokehJS parsed and run {med('script'):.0f} ms, rows shown {med('rows'):.0f} ms, "
        f"document idle {med('idle'):.0f} ms; main thread busy {med('busy'):.0f} ms, its CPU "
        f"{med('cpu'):.0f} ms (empty page {statistics.median(base_cpu):.0f} ms), renderer "
        f"CPU {med('cpu_all'):.0f} ms; "
        f"{len(requests)} requests attempted; load {min(loads):.1f}-{max(loads):.1f}; "
        f"runs {', '.join(f'{t:.0f}' for t in times)}"
    )
    return [
        Row(NAME, name, statistics.median(times), "ms", Target("<", 2000),
            statistics.median(base), "bokeh's empty inline page, until idle", note=note),
        Row(NAME, f"bokeh's own page with a {n}-row table, rows shown",
            statistics.median(tables), "ms", None, statistics.median(base),
            "bokeh's empty inline page, until idle"),
    ] + ([
        Row(NAME, f"{compare.name} interactive (the same way)", statistics.median(other), "ms",
            None, statistics.median(times), "this page", note=", ".join(f"{t:.0f}" for t in other)),
    ] if other and compare is not None else [])  # fmt: skip


def page_files() -> list[Path]:
    """The tiny demo archive's PRISM files (built once under ``.demo/``), for ``--page``."""
    archive = ensure_archive(DEMO / "tiny", "tiny")
    return sorted(archive.glob("store/spectra/*/*prism*_spec.fits"))


def rows(quick: bool = False, page_only: bool = False, compare: Path | None = None) -> list[Row]:
    """Every figure of this benchmark (``quick``: the tiny archive, fewer repeats;
    ``page_only``: the 500-object page and the browser rows alone; ``compare``: another
    500-object page measured in the browser alongside)."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if page_only:
            page_rows, page = five_hundred(page_files(), work)
            return [*page_rows, *bench_browser(page, work, 3 if quick else 5, compare=compare)]
        out, files = bench_export("small" if not quick else "tiny", 1 if not quick else 2, work)
        page_rows, page = five_hundred(files, work)
        read_rows = bench_read(files)
        browser = bench_browser(page, work, 3 if quick else 5, compare=compare)
        return [*out, *page_rows, *read_rows, *browser]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the tiny archive, fewer repeats")
    parser.add_argument("--page", action="store_true", help="only the page and browser rows")
    parser.add_argument("--compare", type=Path, help="another 500-object page to open alongside")
    parser.add_argument("--json", action="store_true", help="print the rows as a last JSON line")
    args = parser.parse_args()
    out = rows(args.quick, args.page, args.compare)
    for r in out:
        print(r)
    if args.json:
        print(emit(NAME, "quick" if args.quick else "full", out))


if __name__ == "__main__":
    sys.exit(main())
