"""Flux-conserving resampling and stacking of spectra on a common wavelength grid.

Resampling treats each pixel as a bin (edges halfway between pixel centres) holding a constant
f_ν, and gives each output bin the overlap-weighted mean of the input bins it covers::

    f_out,i = Σ_j f_j o_ij / Σ_j o_ij        σ_out,i = sqrt(Σ_j (σ_j o_ij)²) / Σ_j o_ij

where ``o_ij`` is the wavelength overlap of input bin j with output bin i, over valid input
pixels only. So ``∫ f dλ`` over any range of whole output bins equals the input's integral
(flux is conserved), and an output bin that valid pixels cover less than ``min_coverage`` of
is masked. Errors propagate as for independent pixels (neighbouring output pixels become
correlated when the output grid is finer than the input).

Stacking (``method``) per output pixel, over the inputs valid there:

* ``'weighted_mean'``: ``f = Σ f_k/σ_k² / Σ 1/σ_k²``, ``σ = (Σ 1/σ_k²)^-1/2``
* ``'mean'``: ``f = Σ f_k / n``, ``σ = sqrt(Σ σ_k²) / n``
* ``'median'``: ``f = median(f_k)``, ``σ = sqrt(π/2) sqrt(Σ σ_k²) / n`` (large-n Gaussian)

Examples
--------
>>> import numpy as np
>>> from campfire.models.data import SpectrumData
>>> from campfire.science.stacking import stack_spectra
>>> w = np.linspace(1, 5, 200)
>>> a = SpectrumData(w, np.full(200, 1.0), np.full(200, 0.2))
>>> b = SpectrumData(w, np.full(200, 3.0), np.full(200, 0.2))
>>> s = stack_spectra([a, b], method="mean", object_id="demo")
>>> float(np.nanmedian(s.fnu)), round(float(np.nanmedian(s.fnu_err)), 4), s.spectrum_id
(2.0, 0.1414, 'demo_stack')
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from campfire.errors import ValidationError
from campfire.models.data import SpectrumData

__all__ = [
    "STACK_METHODS",
    "as_spectrum_data",
    "pixel_edges",
    "rebin_flux",
    "resample_spectrum",
    "stack_spectra",
]

STACK_METHODS = ("weighted_mean", "median", "mean")
#: sqrt(π/2): the error of a median relative to the mean's, for Gaussian noise.
_MEDIAN_ERR = float(np.sqrt(np.pi / 2))


def as_spectrum_data(item: Any) -> SpectrumData:
    """Return ``item`` if it is a SpectrumData, else ``item.open()`` (a Spectrum row).

    Examples
    --------
    >>> as_spectrum_data(SpectrumData([1, 2], [1, 1], [1, 1])).n_valid
    2
    """
    if isinstance(item, SpectrumData):
        return item
    opener = getattr(item, "open", None)
    if callable(opener):
        spec = opener()
        if isinstance(spec, SpectrumData):
            return spec
    raise ValidationError(
        f"expected a SpectrumData or a Spectrum (anything with .open()), got {type(item).__name__}"
    )


def pixel_edges(wave: np.ndarray) -> np.ndarray:
    """Bin edges halfway between pixel centres (the outer edges mirror the inner ones).

    Examples
    --------
    >>> pixel_edges(np.array([1.0, 2.0, 4.0])).tolist()
    [0.5, 1.5, 3.0, 5.0]
    """
    wave = np.asarray(wave, dtype=float)
    mid = 0.5 * (wave[1:] + wave[:-1])
    return np.concatenate([[2 * wave[0] - mid[0]], mid, [2 * wave[-1] - mid[-1]]])


def _check_grid(grid: Any, what: str) -> np.ndarray:
    g = np.asarray(getattr(grid, "value", grid), dtype=float).ravel()
    if hasattr(grid, "unit"):
        import astropy.units as u

        g = np.asarray(grid.to_value(u.um, equivalencies=u.spectral()), dtype=float).ravel()
    if g.size < 2 or not np.all(np.isfinite(g)):
        raise ValidationError(f"{what} needs at least two finite wavelengths (µm)")
    if np.any(np.diff(g) <= 0):
        raise ValidationError(f"{what} must be strictly increasing (µm)")
    if np.median(g) > 100:
        raise ValidationError(
            f"{what} looks like Å (median {np.median(g):.0f}); give µm (divide by 1e4)"
        )
    return g


def rebin_flux(
    wave: np.ndarray,
    flux: np.ndarray,
    err: np.ndarray | None,
    new_wave: np.ndarray,
    valid: np.ndarray | None = None,
    min_coverage: float = 0.5,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flux-conserving resampling of one spectrum onto ``new_wave`` (pixel centres).

    Parameters
    ----------
    wave
        Input pixel centres (increasing).
    flux, err
        Input flux density and 1σ error (``err`` may be None).
    new_wave
        Output pixel centres (increasing), same unit as ``wave``.
    valid
        Usable input pixels (default: finite flux, and finite positive error if given).
    min_coverage
        Output bins covered by valid input less than this fraction are NaN.

    Returns
    -------
    flux, err, coverage : numpy.ndarray
        Resampled flux and error, and the covered fraction of each output bin.

    Examples
    --------
    >>> f, e, c = rebin_flux(np.arange(4.0), np.array([1.0, 3, 3, 1]), None, np.array([0.5, 2.5]))
    >>> f.tolist(), c.tolist()
    ([2.0, 2.0], [1.0, 1.0])
    """
    wave = np.asarray(wave, dtype=float)
    flux = np.asarray(flux, dtype=float)
    e = np.zeros_like(flux) if err is None else np.asarray(err, dtype=float)
    if valid is None:
        valid = np.isfinite(flux) & np.isfinite(wave)
        if err is not None:
            with np.errstate(invalid="ignore"):
                valid &= np.isfinite(e) & (e > 0)
    valid = np.asarray(valid, dtype=bool)
    new_wave = np.asarray(new_wave, dtype=float)
    m = new_wave.size
    e_in = pixel_edges(wave)
    e_out = pixel_edges(new_wave)
    lo, hi = max(e_in[0], e_out[0]), min(e_in[-1], e_out[-1])
    num = np.zeros(m)
    cov = np.zeros(m)
    var = np.zeros(m)
    if hi > lo:
        cuts = np.union1d(e_in[(e_in > lo) & (e_in < hi)], e_out[(e_out > lo) & (e_out < hi)])
        cuts = np.concatenate([[lo], cuts, [hi]])
        seg = np.diff(cuts)
        mid = 0.5 * (cuts[1:] + cuts[:-1])
        j = np.clip(np.searchsorted(e_in, mid, side="right") - 1, 0, wave.size - 1)
        i = np.clip(np.searchsorted(e_out, mid, side="right") - 1, 0, m - 1)
        use = valid[j] & (seg > 0)
        j, i, seg = j[use], i[use], seg[use]
        # bincount sums the float weights per bin (numpy's stubs call the result intp)
        num = np.asarray(np.bincount(i, weights=flux[j] * seg, minlength=m), dtype=np.float64)
        cov = np.asarray(np.bincount(i, weights=seg, minlength=m), dtype=np.float64)
        var = np.asarray(np.bincount(i, weights=(e[j] * seg) ** 2, minlength=m), dtype=np.float64)
    coverage = cov / np.diff(e_out)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = num / cov
        out_err = np.sqrt(var) / cov
    bad = ~(coverage >= min_coverage) | ~(cov > 0)
    out[bad] = np.nan
    out_err[bad] = np.nan
    if err is None:
        out_err[:] = np.nan
    return out, out_err, coverage


def resample_spectrum(spec: Any, wavelength_grid: Any, min_coverage: float = 0.5) -> SpectrumData:
    """Resample a spectrum onto ``wavelength_grid`` (µm pixel centres), conserving flux.

    Examples
    --------
    >>> s = SpectrumData(np.linspace(1, 2, 11), np.ones(11), np.full(11, 0.1))
    >>> r = resample_spectrum(s, np.linspace(1.1, 1.9, 5))
    >>> r.fnu.tolist()
    [1.0, 1.0, 1.0, 1.0, 1.0]
    """
    data = as_spectrum_data(spec)
    grid = _check_grid(wavelength_grid, "wavelength_grid")
    f, e, _ = rebin_flux(data.wavelength, data.fnu, data.fnu_err, grid, data.valid, min_coverage)
    valid = np.isfinite(f) & np.isfinite(e) & (e > 0)
    return data.copy(wavelength=grid, fnu=f, fnu_err=e, valid=valid, extras={})


def _combine(flux: np.ndarray, err: np.ndarray, method: str) -> tuple[np.ndarray, np.ndarray]:
    ok = np.isfinite(flux) & np.isfinite(err) & (err > 0)
    n = ok.sum(axis=0)
    f0 = np.where(ok, flux, 0.0)
    e0 = np.where(ok, err, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        if method == "weighted_mean":
            w = np.where(ok, 1.0 / np.where(ok, err, 1.0) ** 2, 0.0)
            wsum = w.sum(axis=0)
            out = (w * f0).sum(axis=0) / wsum
            out_err = 1.0 / np.sqrt(wsum)
        else:
            out_err = np.sqrt((e0**2).sum(axis=0)) / n
            if method == "mean":
                out = f0.sum(axis=0) / n
            else:
                out = np.full(flux.shape[1], np.nan)
                cols = n > 0  # nanmedian warns on all-NaN columns
                out[cols] = np.nanmedian(np.where(ok, flux, np.nan)[:, cols], axis=0)
                out_err = out_err * _MEDIAN_ERR
    out = np.where(n > 0, out, np.nan)
    out_err = np.where(n > 0, out_err, np.nan)
    return out, out_err


def stack_spectra(
    spectra: Iterable[Any],
    method: str = "weighted_mean",
    wavelength_grid: Any = None,
    object_id: str | None = None,
    min_coverage: float = 0.5,
) -> SpectrumData:
    """Resample spectra onto a common wavelength grid and combine them.

    Parameters
    ----------
    spectra
        SpectrumData objects, or Spectrum rows (anything with ``.open()``), e.g. a
        SpectrumCollection.
    method
        ``'weighted_mean'`` (inverse-variance), ``'median'`` or ``'mean'``.
    wavelength_grid
        Output pixel centres in µm; default: the grid of the input with the most pixels.
    object_id
        Stored on the result, which is named ``'<object_id>_stack'``.
    min_coverage
        Resampled pixels covered less than this fraction by an input's valid pixels are
        left out of the stack for that input.

    Returns
    -------
    SpectrumData
        The stack; ``extras['n_combined']`` counts the inputs at each pixel and the header
        records ``NCOMBINE``, ``STACKMTH`` and ``STACKIN<k>`` (input spectrum ids).

    Examples
    --------
    >>> w = np.linspace(1, 5, 100)
    >>> s = stack_spectra([SpectrumData(w, np.ones(100), np.full(100, 0.1))] * 4)
    >>> round(float(np.nanmedian(s.fnu_err)), 3)
    0.05
    """
    if method not in STACK_METHODS:
        raise ValidationError(
            f"unknown stacking method {method!r}; choose one of {', '.join(STACK_METHODS)}"
        )
    if isinstance(spectra, SpectrumData):
        spectra = [spectra]
    specs = [as_spectrum_data(s) for s in spectra]
    if not specs:
        raise ValidationError("stack_spectra needs at least one spectrum; got none")
    if wavelength_grid is None:
        longest = max(specs, key=len)
        grid = _check_grid(longest.wavelength, f"the wavelength grid of {longest!r}")
    else:
        grid = _check_grid(wavelength_grid, "wavelength_grid")
    flux = np.empty((len(specs), grid.size))
    err = np.empty_like(flux)
    for k, s in enumerate(specs):
        flux[k], err[k], _ = rebin_flux(s.wavelength, s.fnu, s.fnu_err, grid, s.valid, min_coverage)
    out, out_err = _combine(flux, err, method)
    n_comb = (np.isfinite(flux) & np.isfinite(err)).sum(axis=0)
    valid = (n_comb > 0) & np.isfinite(out) & np.isfinite(out_err) & (out_err > 0)
    gratings = sorted({s.grating for s in specs if s.grating})
    redshifts = {s.redshift for s in specs if s.redshift is not None}
    header: dict[str, Any] = {"NCOMBINE": len(specs), "STACKMTH": method}
    for k, s in enumerate(specs):
        header[f"STACKIN{k}"] = s.spectrum_id
    return SpectrumData(
        wavelength=grid,
        fnu=out,
        fnu_err=out_err,
        valid=valid,
        header=header,
        grating="+".join(gratings),
        spectrum_id=f"{object_id}_stack" if object_id else "stack",
        object_id=object_id or next((s.object_id for s in specs if s.object_id), None),
        redshift=redshifts.pop() if len(redshifts) == 1 else None,
        extras={"n_combined": n_comb},
    )
