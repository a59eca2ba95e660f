"""Benchmark the explorer widgets' kernel side against simple baselines, in the same run.

Targets (issue #6): first rows of a 100,000-object catalog on screen < 1 s; each further page
< 50 ms; a PRISM + three-grating object's SpectrumViewer payload < 200 KB. (Redshift dragging
at 60 fps with 40 lines is measured in Chromium by ``tests/widgets/browser``; its figures land
in ``test-artifacts/widgets/metrics.json``, printed here when present.)

Baselines:
* paging: the obvious query per page, ``ORDER BY … LIMIT 25 OFFSET k`` in DuckDB, against our
  one query per filter/sort materialised to Arrow and sliced per page;
* what travels: the whole filtered table as JSON (a widget that ships every row) against one
  page;
* spectra: arrays as JSON lists of numbers (the default traitlets way) against float32 buffers.

``--quick`` (``make bench``) takes fewer repeats (the catalog keeps its 100,000 objects: about
half a minute to make); ``--json`` prints
the rows for ``run.py`` last (medians). Without the NIRSpec dispersion tables (``tests/data`` or
``../shared/data``) the viewer's rows say "skipped".

Run: ``.venv/bin/python benchmarks/bench_widgets.py [--objects 100000] [--quick] [--json]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from paths import ROOT, reference_data
from results import Row, Target, emit

sys.path.insert(0, str(ROOT / "tests" / "widgets"))

from catalog_data import fill_catalog

from campfire import Campfire
from campfire.catalog.engine import compile_local
from campfire.models.data import SpectrumData
from campfire.widgets import ObjectBrowser, SpectrumViewer

NAME = "widgets"
SETUPS = {"PRISM": ("prism", 0.60, 5.30), "G140M": ("g140m", 0.97, 1.89),
          "G235M": ("g235m", 1.66, 3.17), "G395M": ("g395m", 2.87, 5.27)}  # fmt: skip


def timed(fn: Callable[[], object], repeat: int = 5) -> list[float]:
    """Wall times of ``repeat`` calls, in milliseconds."""
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1e3)
    return out


def row(name: str, ms: float, target: float | None = None, baseline: float | None = None) -> None:
    extra = (
        "" if target is None else f"  target < {target:g} ms: {'ok' if ms < target else 'MISSED'}"
    )
    if baseline is not None:
        extra += f"  baseline {baseline:8.2f} ms ({baseline / ms:5.1f}x)"
    print(f"  {name:<44} {ms:9.2f} ms{extra}")


def bench_browser(n: int, repeat: int = 5, note: str = "") -> list[Row]:
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        fill_catalog(Path(tmp), n, seed=1, with_spectra=False)
        Campfire(data_dir=tmp).catalog.refresh()  # the snapshot a synced user already has
        print(
            f"ObjectBrowser over {n:,} objects (catalog made in {time.perf_counter() - t0:.1f} s)"
        )
        cf = Campfire(data_dir=tmp)
        t0 = time.perf_counter()
        cf.catalog.connection()
        load = (time.perf_counter() - t0) * 1e3
        first = timed(lambda: ObjectBrowser(cf, page_size=25), 3)
        row("catalog snapshot load (new process, once)", load)
        row("first rows (ObjectBrowser built, page in state)", min(first), 1000)
        row("first rows, catalog load included", load + min(first), 1000)
        b = ObjectBrowser(cf, page_size=25)
        offsets = [0, n // 4, n // 2, n - 25]

        def ours() -> None:
            for off in offsets:
                b.page(off)

        def naive() -> None:
            assert b._applied is not None
            for off in offsets:
                flt = dataclasses.replace(b._applied, limit=25, offset=off)
                sql, params = compile_local("objects", flt)
                cf.catalog.connection().execute(sql, params).fetchall()

        page = statistics.median(timed(ours, repeat)) / len(offsets)
        base = statistics.median(timed(naive, repeat)) / len(offsets)
        row("one page (any offset)", page, 50, base)
        b.page_size = 25
        resort = timed(lambda: setattr(b, "sort", "redshift" if b.sort != "redshift" else "ra"), 3)
        row("re-sort all rows (new query, first page)", statistics.median(resort))
        refilter = timed(
            lambda: setattr(b, "filters", {"redshift_range": [2, 2 + np.random.rand()]}), 3
        )
        row("new filter (new query, first page)", statistics.median(refilter))
        b.filters = {}
        one = len(json.dumps({"rows": b.page(n // 2)}))
        assert b._table is not None
        everything = len(json.dumps(b._table.to_pylist()))  # what shipping every row would send
        print(f"  sent per page {one:,} bytes; every row as JSON {everything:,} bytes "
              f"({everything / one:,.0f}x)")  # fmt: skip
        first_med = statistics.median(first)
        return [
            Row(NAME, "ObjectBrowser first rows", first_med, "ms", Target("<", 1000), note=note),
            Row(NAME, "first rows, snapshot load included", load + first_med, "ms",
                Target("<", 1000), note=note),
            Row(NAME, "one page (any offset)", page, "ms", Target("<", 50), base,
                "LIMIT/OFFSET query", note),
            Row(NAME, "re-sort (new query, first page)", statistics.median(resort), "ms",
                note=note),
            Row(NAME, "new filter (new query, first page)", statistics.median(refilter), "ms",
                note=note),
            Row(NAME, "bytes sent per page", one / 1e3, "kB", None, everything / 1e3,
                "every row as JSON", note),
        ]  # fmt: skip


def grid(name: str) -> np.ndarray:
    from astropy.io import fits

    stem, lo, hi = SETUPS[name]
    path = reference_data(f"nirspec_dispersion/jwst_nirspec_{stem}_disp.fits")
    if path is None:
        raise FileNotFoundError(f"jwst_nirspec_{stem}_disp.fits")
    tab = fits.getdata(path, 1)
    lam, dlds = np.asarray(tab["WAVELENGTH"], float), np.asarray(tab["DLDS"], float)
    out = [lo]
    while out[-1] < hi:
        out.append(out[-1] + float(np.interp(out[-1], lam, dlds)))
    return np.array(out)


def bench_viewer() -> list[Row]:
    tables = [f"nirspec_dispersion/jwst_nirspec_{s}_disp.fits" for s, *_ in SETUPS.values()]
    missing = [t for t in tables if reference_data(t) is None]
    if missing:
        why = "NIRSpec dispersion tables not found (tests/data or ../shared/data)"
        print(f"SpectrumViewer: {why}")
        return [Row(NAME, "SpectrumViewer payload, PRISM + 3 gratings", None, "kB", skipped=why)]
    rng = np.random.default_rng(2)
    specs = []
    for name in SETUPS:
        w = grid(name)
        f = 1 + 0.2 * w + rng.normal(0, 0.05, w.size)
        sci = np.exp(-0.5 * ((np.arange(31) - 15) / 2.0) ** 2)[:, None] * f[None, :]
        noisy = sci + rng.normal(0, 0.02, sci.shape)
        err = np.full(w.size, 0.05)
        specs.append(
            SpectrumData(w, f, err, grating=name, spectrum_id=name, extras={"sci2d": noisy})
        )
    print(f"SpectrumViewer, PRISM + 3 gratings ({sum(len(s) for s in specs):,} pixels, 2D 31 rows)")
    build = timed(lambda: SpectrumViewer(specs), 3)
    v = SpectrumViewer(specs)
    as_json = sum(
        len(json.dumps([float(x) for x in a]))
        for s in specs
        for a in (s.wavelength, s.fnu, s.fnu_err, *np.asarray(s.extras["sci2d"]))
    )
    ok = "ok" if v.payload_bytes < 200_000 else "MISSED"
    print(f"  payload {v.payload_bytes:,} bytes (target < 200,000: {ok}); 2D columns binned by "
          f"{v.traces[0]['bin']}; the same arrays as JSON lists {as_json:,} bytes "
          f"({as_json / v.payload_bytes:.1f}x)")  # fmt: skip
    row("build the viewer's state", min(build))
    return [
        Row(NAME, "SpectrumViewer payload, PRISM + 3 gratings", v.payload_bytes / 1e3, "kB",
            Target("<", 200), as_json / 1e3, "JSON lists"),
        Row(NAME, "SpectrumViewer build", statistics.median(build), "ms"),
    ]  # fmt: skip


def rows(quick: bool = False, objects: int = 100_000) -> list[Row]:
    """Every figure of this benchmark (``quick``: fewer repeats; the sizes are the targets')."""
    return [*bench_browser(objects, 3 if quick else 5, f"{objects:,} objects"), *bench_viewer()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument("--json", action="store_true", help="print the rows as a last JSON line")
    args = parser.parse_args()
    out = rows(args.quick, args.objects)
    metrics = ROOT / "test-artifacts" / "widgets" / "metrics.json"
    if metrics.exists():
        print(f"In Chromium (last browser test run, {metrics.relative_to(ROOT)}):")
        for name, values in json.loads(metrics.read_text()).items():
            print(f"  {name}: {values}")
    if args.json:
        print(emit(NAME, "quick" if args.quick else "full", out))


if __name__ == "__main__":
    main()
