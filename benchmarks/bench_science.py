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

Run: ``.venv/bin/python benchmarks/bench_science.py``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from campfire.models.data import SpectrumData
from campfire.models.object import Photometry
from campfire.science.calibration import calibrate_to_photometry
from campfire.science.photometry import get_filter, synthetic_photometry, synthetic_photometry_bands
from campfire.science.stacking import pixel_edges, stack_spectra

BANDS_20 = ["f070w", "f090w", "f115w", "f150w", "f200w", "f277w", "f356w", "f410m", "f444w",
            "f140m", "f162m", "f182m", "f210m", "f250m", "f300m", "f335m", "f360m", "f430m",
            "f460m", "f480m"]  # fmt: skip
DISP = Path(__file__).resolve().parents[1].parent / "shared/data/nirspec_dispersion"


def best_of(fn: Callable[[], object], repeat: int = 5, number: int = 1) -> float:
    """Best wall time of ``repeat`` runs of ``number`` calls, per call, in seconds."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - t0) / number)
    return min(times)


def prism_grid() -> np.ndarray:
    """The PRISM pixel grid from the real dispersion table (λ_{i+1} = λ_i + dλ/dpix)."""
    path = DISP / "jwst_nirspec_prism_disp.fits"
    if path.exists():
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


def bench_stacking() -> None:
    specs = make_spectra(100)
    grid = specs[0].wavelength
    ours = best_of(lambda: stack_spectra(specs, method="weighted_mean"), repeat=5)
    loop = best_of(
        lambda: np.nanmean([loop_rebin(s.wavelength, s.fnu, grid) for s in specs], axis=0),
        repeat=1,
    )
    interp = best_of(
        lambda: np.nanmean([np.interp(grid, s.wavelength, s.fnu) for s in specs], axis=0),
        repeat=5,
    )
    print(f"stack 100 PRISM spectra ({grid.size} px), weighted_mean: {ours * 1e3:8.2f} ms "
          f"(target < 200 ms) {'OK' if ours < 0.2 else 'SLOW'}")  # fmt: skip
    print(f"  baseline python-loop bin-overlap resampler + mean:  {loop * 1e3:8.2f} ms "
          f"-> ours is {loop / ours:.1f}x faster")  # fmt: skip
    print(f"  reference np.interp + mean (not flux conserving):   {interp * 1e3:8.2f} ms "
          f"-> ours costs {ours / interp:.1f}x that")  # fmt: skip


def bench_photometry() -> None:
    from sedpy import observate

    spec = make_spectra(1)[0]
    for b in BANDS_20:  # warm the filter cache: curves are read once per process
        get_filter(b)
    ours = best_of(
        lambda: synthetic_photometry_bands(spec.wavelength, spec.fnu, spec.fnu_err, BANDS_20),
        repeat=20,
        number=5,
    )
    filters = [observate.Filter(f"jwst_{b}") for b in BANDS_20]
    wave_aa = spec.wavelength * 1e4
    flam = spec.flam

    def sedpy_loop() -> list[float]:
        return [f.ab_mag(wave_aa, flam) for f in filters]

    base = best_of(sedpy_loop, repeat=20, number=5)
    print(f"synthetic photometry, 20 bands, one spectrum:         {ours * 1e3:8.3f} ms "
          f"(target < 20 ms) {'OK' if ours < 0.02 else 'SLOW'}")  # fmt: skip
    print(f"  baseline sedpy Filter.ab_mag, band by band:         {base * 1e3:8.3f} ms "
          f"-> ratio {base / ours:.1f}x")  # fmt: skip


def bench_calibration() -> None:
    spec = make_spectra(1)[0]
    bands = ["f090w", "f115w", "f150w", "f200w", "f277w", "f356w", "f410m", "f444w"]
    res = synthetic_photometry_bands(spec.wavelength, spec.fnu * 1.3, None, bands)
    phot = Photometry(bands, res.flux, 0.03 * res.flux, res.pivot)
    ours = best_of(lambda: calibrate_to_photometry(spec, phot), repeat=20, number=5)

    def naive() -> np.ndarray:
        syn = np.array([synthetic_photometry(spec.wavelength, spec.fnu, None, b)[0]
                        for b in bands])  # fmt: skip
        coef = np.polyfit(res.pivot, phot.flux / syn, 3)
        return spec.fnu * np.polyval(coef, spec.wavelength)

    base = best_of(naive, repeat=20, number=5)
    print(f"one calibration (8 bands, chebyshev degree 3):        {ours * 1e3:8.3f} ms "
          f"(target < 50 ms) {'OK' if ours < 0.05 else 'SLOW'}")  # fmt: skip
    print(f"  baseline per-band photometry + polyfit of ratios:   {base * 1e3:8.3f} ms "
          f"-> ratio {base / ours:.1f}x")  # fmt: skip


def main() -> None:
    print("campfire science benchmarks (best of several runs, this machine)")
    bench_stacking()
    bench_photometry()
    bench_calibration()


if __name__ == "__main__":
    main()
