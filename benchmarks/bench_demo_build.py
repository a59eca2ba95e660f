"""Benchmark building the demo archive (generate, deploy, users) against same-run baselines.

Targets (issues #15 item 15 and #16): the small archive in under 60 s on this machine, the large
one in under 4 minutes; the tiny one as fast as it can be (every test session builds it).

Rows:
* ``build_demo_archive`` of each scale (tiny with ``--quick``; tiny and small by default, large
  with ``--large``), wall time, with the CPU time of the process and its workers in the note;
  baseline: writing the same number of ``_spec.fits`` and ``_zfit.fits`` files (same HDUs, same
  shapes) with plain astropy, the floor any generator built on astropy's writer starts from;
* one ``_spec.fits`` written by the demo's direct writer (``campfire.server.demo.fitsfile``);
  baseline: astropy's ``HDUList.writeto`` of the same HDUs (the bytes are the same).

Run: ``.venv/bin/python benchmarks/bench_demo_build.py [--quick] [--large] [--scale S] [--json]``.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from results import Row, Target, emit

NAME = "demo_build"
TARGETS = {"small": 60.0, "large": 240.0}


def _cpu() -> float:
    """CPU seconds of this process and its finished children (the pool's workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _spec_hdus(n_wave: int, rows: int = 31) -> list:
    """The HDUs of a ``_spec.fits`` file of ``n_wave`` pixels, as astropy objects."""
    from astropy.io import fits

    rng = np.random.default_rng(0)
    cols = [fits.Column(name="wave", format="D", unit="um", array=np.linspace(0.6, 5.3, n_wave))]
    cols += [fits.Column(name=f"c{i}", format="E", unit="uJy", array=rng.normal(size=n_wave))
             for i in range(16)]  # fmt: skip
    primary = fits.PrimaryHDU()
    for i in range(30):
        primary.header[f"KEY{i}"] = (float(i) + 0.5, "a keyword")
    hdus = [primary, fits.BinTableHDU.from_columns(cols, name="SPEC1D")]
    for name in ("SCI", "ERR", "WAVELENGTH", "WHT"):
        img = fits.ImageHDU(rng.normal(size=(rows, n_wave)).astype(np.float32), name=name)
        for i in range(12):
            img.header[f"KEY{i}"] = (float(i), "a keyword")
        hdus.append(img)
    prof = [fits.Column(name=f"p{i}", format="E", array=np.arange(rows, dtype=float))
            for i in range(5)]  # fmt: skip
    hdus.append(fits.BinTableHDU.from_columns(prof, name="PROF1D"))
    expo = [fits.Column(name="filename", format="40A", array=np.array(["x" * 40] * 3)),
            fits.Column(name="exptime", format="D", array=np.ones(3))]  # fmt: skip
    hdus.append(fits.BinTableHDU.from_columns(expo, name="EXPOSURES"))
    return hdus


def _zfit_hdus(n_wave: int, n_z: int = 730) -> list:
    from astropy.io import fits

    model = [fits.Column(name="wav", format="D", array=np.ones(n_wave)),
             fits.Column(name="fnu", format="E", array=np.ones(n_wave))]  # fmt: skip
    chi2 = [fits.Column(name="z", format="D", array=np.ones(n_z)),
            fits.Column(name="chi2", format="D", array=np.ones(n_z))]  # fmt: skip
    primary = fits.PrimaryHDU()
    for i in range(14):
        primary.header[f"KEY{i}"] = (float(i), "a keyword")
    return [primary, fits.BinTableHDU.from_columns(model, name="MODEL"),
            fits.BinTableHDU.from_columns(chi2, name="CHI2")]  # fmt: skip


def astropy_writes(counts: dict[int, int], work: Path) -> float:
    """Seconds to write ``counts[n_wave]`` spec and zfit files of each size with astropy."""
    from astropy.io import fits

    t0 = time.perf_counter()
    k = 0
    for n_wave, n in counts.items():
        for _ in range(n):
            spec, zfit = _spec_hdus(n_wave), _zfit_hdus(n_wave)  # built per file, as a generator
            fits.HDUList(spec).writeto(work / f"{k}_spec.fits", overwrite=True)
            fits.HDUList(zfit).writeto(work / f"{k}_zfit.fits", overwrite=True)
            k += 1
    return time.perf_counter() - t0


def _counts(archive: Path) -> dict[int, int]:
    """Spectrum files per pixel count (PRISM 404, gratings about 1,400) in a built archive."""
    files = list(archive.glob("store/**/*_spec.fits"))
    prism = sum("_prism_" in f.name for f in files)
    return {404: prism, 1400: len(files) - prism}


def bench_build(scale: str, work: Path) -> Row:
    """One build of ``scale`` from nothing, and the astropy baseline for its files."""
    from campfire.server.demo.archive import build_demo_archive

    archive = work / f"archive-{scale}"
    c0, t0 = _cpu(), time.perf_counter()
    build_demo_archive(archive, scale=scale, seed=42)
    wall, cpu = time.perf_counter() - t0, _cpu() - c0
    counts = _counts(archive)
    base_dir = work / f"astropy-{scale}"
    base_dir.mkdir()
    base = astropy_writes(counts, base_dir)
    bound = TARGETS.get(scale)
    return Row(
        NAME, f"build_demo_archive, {scale} ({sum(counts.values())} spectra)", wall, "s",
        Target("<", bound) if bound else None, base,
        f"astropy writes of the same {2 * sum(counts.values())} FITS files",
        note=f"CPU {cpu:.1f} s (process and workers); {os.cpu_count()} CPUs; "
        f"load {os.getloadavg()[0]:.1f}",
    )  # fmt: skip


def bench_writer(work: Path, repeat: int = 20) -> Row:
    """One 404-pixel ``_spec.fits``: the demo's writer against astropy's, same HDUs."""
    from astropy.io import fits

    from campfire.server.demo.fitsfile import image_hdu, primary_hdu, table_hdu, write_fits

    hdus = _spec_hdus(404)
    keys = [{c.keyword: (c.value, c.comment) for c in h.header.cards if c.keyword.startswith("KEY")}
            for h in hdus]  # fmt: skip
    parts = [
        (h.name, [(c.name, c.format, c.unit, np.array(h.data[c.name])) for c in h.columns])
        if isinstance(h, fits.BinTableHDU)
        else (h.name, np.array(h.data))
        for h in hdus[1:]
    ]  # plain arrays and keywords, as the generator holds them

    def mine() -> None:
        out = [primary_hdu(keys[0])]
        for (name, data), extra in zip(parts, keys[1:], strict=True):
            if isinstance(data, list):
                out.append(table_hdu(name, data, extra))
            else:
                out.append(image_hdu(name, data, extra))
        write_fits(work / "mine.fits", out)

    def theirs() -> None:  # the HDUs already built: only the write is timed
        fits.HDUList(hdus).writeto(work / "astropy.fits", overwrite=True)

    times, base = [], []
    for _ in range(repeat):
        for fn, out in ((mine, times), (theirs, base)):
            t0 = time.perf_counter()
            fn()
            out.append((time.perf_counter() - t0) * 1e3)
    same = (work / "mine.fits").read_bytes() == (work / "astropy.fits").read_bytes()
    return Row(
        NAME, "one _spec.fits written (demo's direct writer)", statistics.median(times), "ms",
        None, statistics.median(base), "astropy HDUList.writeto, same HDUs",
        note=f"bytes identical: {same}; load {os.getloadavg()[0]:.1f}",
    )  # fmt: skip


def rows(quick: bool = False, large: bool = False, only: list[str] | None = None) -> list[Row]:
    """Every figure of this benchmark (``quick``: the tiny archive only; ``only``: these)."""
    scales = ["tiny"] if quick else ["tiny", "small"] + (["large"] if large else [])
    scales = only or scales
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        out = [bench_writer(work)]
        out += [bench_build(scale, work) for scale in scales]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the tiny archive only")
    parser.add_argument("--large", action="store_true", help="also the large archive (minutes)")
    parser.add_argument("--json", action="store_true", help="print the rows as a last JSON line")
    parser.add_argument("--scale", action="append", choices=["tiny", "small", "large"],
                        help="build only this scale (repeatable)")  # fmt: skip
    args = parser.parse_args()
    out = rows(args.quick, args.large, args.scale)
    for r in out:
        print(r)
    if args.json:
        print(emit(NAME, "quick" if args.quick else "full", out))


if __name__ == "__main__":
    sys.exit(main())
