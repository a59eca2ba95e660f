"""Benchmark the science tools against simple baselines, in the same run.

Targets (issue #5): stacking 100 PRISM spectra < 0.2 s; synthetic photometry in 20 bands for
one spectrum < 20 ms; one calibration < 50 ms.

Baselines:
* stacking: a pure-Python flux-conserving bin-overlap loop (SpectRes-style), and, for scale,
  plain ``np.interp`` + mean (fast but *not* flux conserving);
* photometry: sedpy's own ``Filter.ab_mag``, one band at a time;
* calibration: one ``synthetic_photometry`` call per band, then ``np.polyfit`` of the
  observed/synthetic ratios (a scale-only fit, which ignores that a band average of M·f is not
  M(pivot)·<f>).

The figures in ``run.py``'s table are medians; the printed lines give the best run. ``--quick``
takes fewer repeats (the sizes stay those of the targets: they take well under a second).

Run: ``.venv/bin/python benchmarks/bench_science.py [--quick] [--json]``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from paths import reference_data
from results import Row, Target, emit

from campfire.models.data import SpectrumData
from campfire.models.object import Photometry
from campfire.science.calibration import calibrate_to_photometry
from campfire.science.photometry import get_filter, synthetic_photometry, synthetic_photometry_bands
from campfire.science.stacking import pixel_edges, stack_spectra

BANDS_20 = ["f070w", "f090w", "f115w", "f150w", "f200w", "f277w", "f356w", "f410m", "f444w",
            "f140m", "f162m", "f182m", "f210m", "f250m", "f300m", "f335m", "f360m", "f430m",
            "f460m", "f480m"]  # fmt: skip
NAME = "science"


def run_times(fn: Callable[[], object], repeat: int = 5, number: int = 1) -> list[float]:
    """Wall times of ``repeat`` runs of ``number`` calls, per call, in seconds."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - t0) / number)
    return times


def median_ms(times: list[float]) -> float:
    return statistics.median(times) * 1e3


def prism_grid() -> np.ndarray:
    """The PRISM pixel grid from the real dispersion table (λ_{i+1} = λ_i + dλ/dpix)."""
    path = reference_data("nirspec_dispersion/jwst_nirspec_prism_disp.fits")
    if path is not None:
        from astropy.io import fits

        tab = fits.getdata(path, 1)
        lam, dlds = np.asarray(tab["WAVELENGTH"], float), np.asarray(tab["DLDS"], float)
        grid = [0.6]
        while grid[-1] < 5.3:
            grid.append(grid[-1] + float(np.interp(grid[-1], lam, dlds)))
        return np.array(grid)
    return 0.6 + 4.7 * np.linspace(0, 1, 435) ** 1.6  # fallback, similar sampling


def make_spectra(n: int) -> list[SpectrumData]:
    rng = np.random.default_rng(1)
    base = prism_grid()
    out = []
    for k in range(n):
        w = base * (1 + 1e-3 * rng.normal())
        flux = 1 + 0.2 * w + rng.normal(0, 0.05, w.size)
        out.append(SpectrumData(w, flux, np.full(w.size, 0.05), grating="PRISM",
                                spectrum_id=f"s{k}"))  # fmt: skip
    return out


def loop_rebin(wave: np.ndarray, flux: np.ndarray, new: np.ndarray) -> np.ndarray:
    """Baseline: flux-conserving rebinning with Python loops over output bins."""
    e_in, e_out = pixel_edges(wave), pixel_edges(new)
    out = np.full(new.size, np.nan)
    j = 0
    for i in range(new.size):
        lo, hi = e_out[i], e_out[i + 1]
        while j < wave.size and e_in[j + 1] <= lo:
            j += 1
        k, num, cov = j, 0.0, 0.0
        while k < wave.size and e_in[k] < hi:
            ov = min(hi, e_in[k + 1]) - max(lo, e_in[k])
            if ov > 0 and np.isfinite(flux[k]):
                num += flux[k] * ov
                cov += ov
            k += 1
        if cov > 0:
            out[i] = num / cov
    return out


def bench_stacking(repeat: int = 5) -> list[Row]:
    specs = make_spectra(100)
    grid = specs[0].wavelength
    ours = run_times(lambda: stack_spectra(specs, method="weighted_mean"), repeat=repeat)
    loop = run_times(
        lambda: np.nanmean([loop_rebin(s.wavelength, s.fnu, grid) for s in specs], axis=0),
        repeat=1 if repeat < 5 else 3,
    )
    interp = run_times(
        lambda: np.nanmean([np.interp(grid, s.wavelength, s.fnu) for s in specs], axis=0),
        repeat=repeat,
    )
    best, lbest, ibest = min(ours), min(loop), min(interp)
    print(f"stack 100 PRISM spectra ({grid.size} px), weighted_mean: {best * 1e3:8.2f} ms "
          f"(target < 200 ms) {'OK' if best < 0.2 else 'SLOW'}")  # fmt: skip
    print(f"  baseline python-loop bin-overlap resampler + mean:  {lbest * 1e3:8.2f} ms "
          f"-> ours is {lbest / best:.1f}x faster")  # fmt: skip
    print(f"  reference np.interp + mean (not flux conserving):   {ibest * 1e3:8.2f} ms "
          f"-> ours costs {best / ibest:.1f}x that")  # fmt: skip
    name = f"stack 100 PRISM spectra ({grid.size} px)"
    return [
        Row(NAME, name, median_ms(ours), "ms", Target("<", 200), median_ms(loop), "python loop"),
        Row(NAME, name + ", vs interp", median_ms(ours), "ms", None, median_ms(interp),
            "np.interp, not flux-conserving"),
    ]  # fmt: skip


def bench_photometry(repeat: int = 20) -> list[Row]:
    from sedpy import observate

    spec = make_spectra(1)[0]
    for b in BANDS_20:  # warm the filter cache: curves are read once per process
        get_filter(b)
    ours = run_times(
        lambda: synthetic_photometry_bands(spec.wavelength, spec.fnu, spec.fnu_err, BANDS_20),
        repeat=repeat,
        number=5,
    )
    filters = [observate.Filter(f"jwst_{b}") for b in BANDS_20]
    wave_aa = spec.wavelength * 1e4
    flam = spec.flam

    def sedpy_loop() -> list[float]:
        return [f.ab_mag(wave_aa, flam) for f in filters]

    base = run_times(sedpy_loop, repeat=repeat, number=5)
    best, bbest = min(ours), min(base)
    print(f"synthetic photometry, 20 bands, one spectrum:         {best * 1e3:8.3f} ms "
          f"(target < 20 ms) {'OK' if best < 0.02 else 'SLOW'}")  # fmt: skip
    print(f"  baseline sedpy Filter.ab_mag, band by band:         {bbest * 1e3:8.3f} ms "
          f"-> ratio {bbest / best:.1f}x")  # fmt: skip
    return [Row(NAME, "synthetic photometry, 20 bands", median_ms(ours), "ms", Target("<", 20),
                median_ms(base), "sedpy ab_mag loop")]  # fmt: skip


def bench_calibration(repeat: int = 20) -> list[Row]:
    spec = make_spectra(1)[0]
    bands = ["f090w", "f115w", "f150w", "f200w", "f277w", "f356w", "f410m", "f444w"]
    res = synthetic_photometry_bands(spec.wavelength, spec.fnu * 1.3, None, bands)
    phot = Photometry(bands, res.flux, 0.03 * res.flux, res.pivot)
    ours = run_times(lambda: calibrate_to_photometry(spec, phot), repeat=repeat, number=5)

    def naive() -> Any:
        syn = np.array([synthetic_photometry(spec.wavelength, spec.fnu, None, b)[0]
                        for b in bands])  # fmt: skip
        coef = np.polyfit(res.pivot, phot.flux / syn, 3)
        return spec.fnu * np.polyval(coef, spec.wavelength)

    base = run_times(naive, repeat=repeat, number=5)
    best, bbest = min(ours), min(base)
    print(f"one calibration (8 bands, chebyshev degree 3):        {best * 1e3:8.3f} ms "
          f"(target < 50 ms) {'OK' if best < 0.05 else 'SLOW'}")  # fmt: skip
    print(f"  baseline per-band photometry + polyfit of ratios:   {bbest * 1e3:8.3f} ms "
          f"-> ratio {bbest / best:.1f}x")  # fmt: skip
    return [Row(NAME, "one calibration, 8 bands", median_ms(ours), "ms", Target("<", 50),
                median_ms(base), "per-band + polyfit")]  # fmt: skip


def rows(quick: bool = False) -> list[Row]:
    """Every figure of this benchmark; ``quick`` takes fewer repeats."""
    print("campfire science benchmarks (best of several runs, this machine)")
    return [
        *bench_stacking(3 if quick else 5),
        *bench_photometry(5 if quick else 20),
        *bench_calibration(5 if quick else 20),
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer repeats")
    ap.add_argument("--json", action="store_true", help="print the rows as a last JSON line")
    args = ap.parse_args()
    out = rows(args.quick)
    if args.json:
        print(emit(NAME, "quick" if args.quick else "full", out))


if __name__ == "__main__":
    main()
