"""Flux-calibrate spectra against broadband photometry, and calibrate-then-stack.

:func:`calibrate_to_photometry` fits a smooth multiplier ``M(λ)`` so that synthetic
photometry of ``M × f_ν`` matches the observed bands. Synthetic photometry is linear in the
spectrum, so with ``M(λ) = Σ_k c_k T_k(x)`` (Chebyshev polynomials ``T_k``) the band averages
are ``A c`` with ``A_bk = <T_k(x) f_ν>_b``, and ``c`` is the weighted least-squares solution of
``A c = F_obs`` with ``σ_b² = σ_obs,b² + (s σ_syn,b)²`` (``s`` the flat scale). ``x`` maps the
wavelength range spanned by the bands used (from the bluest band's blue half-maximum edge to
the reddest band's red one) onto [-1, 1]; outside it ``M`` is held at its edge value instead
of extrapolating a polynomial. The degree is at most ``n_bands - 1``, and is lowered further
if the fitted multiplier would turn negative anywhere on the spectrum.

Examples
--------
>>> import numpy as np
>>> from campfire.models.data import SpectrumData
>>> from campfire.models.object import Photometry
>>> from campfire.science.calibration import calibrate_to_photometry
>>> w = np.linspace(0.6, 5.3, 600)
>>> spec = SpectrumData(w, np.full(600, 1.0), np.full(600, 0.05))
>>> phot = Photometry(["f150w", "f277w", "f444w"], [2.0, 2.0, 2.0], [0.1, 0.1, 0.1],
...                   [1.5, 2.78, 4.40])
>>> res = calibrate_to_photometry(spec, phot, method="flat")
>>> round(float(res.multiplier[0]), 6), res.bands_used
(2.0, ['f150w', 'f277w', 'f444w'])
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from campfire.errors import ValidationError
from campfire.models.data import SpectrumData
from campfire.science.photometry import MIN_COVERAGE, band_weights, get_filter
from campfire.science.stacking import STACK_METHODS, as_spectrum_data, stack_spectra

__all__ = [
    "CALIBRATION_METHODS",
    "CalibrationResult",
    "StackResult",
    "calibrate_and_stack",
    "calibrate_to_photometry",
]

CALIBRATION_METHODS = ("chebyshev", "flat")


@dataclass(eq=False)
class CalibrationResult:
    """The outcome of :func:`calibrate_to_photometry`.

    Attributes
    ----------
    spectrum
        The calibrated spectrum (f_ν and its error multiplied by ``multiplier``).
    original
        The input spectrum, unchanged.
    multiplier
        The correction curve, one value per pixel of ``original.wavelength``.
    bands_used
        Bands that constrained the fit (photometry names).
    method, degree
        ``'chebyshev'`` or ``'flat'``, and the polynomial degree actually fitted.
    coefficients
        Chebyshev coefficients of the multiplier in ``x`` (see ``wave_range``).
    wave_range
        (λ_lo, λ_hi) in µm mapped onto x ∈ [-1, 1]; the multiplier is constant outside.
    observed, observed_err, synthetic_before, synthetic_after, pivot
        Per band used: photometry, its error, synthetic photometry of the spectrum before
        and after calibration (µJy), and the band pivot wavelength (µm).
    chi2
        Σ ((observed - synthetic_after) / σ)² of the fit.
    skipped
        Photometry bands not used, with the reason.
    """

    spectrum: SpectrumData
    original: SpectrumData
    multiplier: np.ndarray
    bands_used: list[str]
    method: str
    degree: int
    coefficients: np.ndarray
    wave_range: tuple[float, float]
    observed: np.ndarray
    observed_err: np.ndarray
    synthetic_before: np.ndarray
    synthetic_after: np.ndarray
    pivot: np.ndarray
    chi2: float
    skipped: dict[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        return (
            f"CalibrationResult({self.original.spectrum_id or '?'}, {self.method} "
            f"degree {self.degree}, {len(self.bands_used)} bands, chi2={self.chi2:.2f})"
        )

    def plot(self, fig: Any = None) -> Any:
        """Diagnostic matplotlib figure (spectra before/after with the photometry, and the
        multiplier); returns the Figure.
        """
        from campfire.views.plotting import plot_calibration

        return plot_calibration(self, fig=fig)


@dataclass(eq=False)
class StackResult:
    """The outcome of :func:`calibrate_and_stack`.

    Attributes
    ----------
    spectrum
        The stacked, calibrated spectrum.
    calibrations
        One :class:`CalibrationResult` per input.
    input_spectra
        The calibrated inputs, before stacking.
    method, stacking_method
        How the inputs were calibrated and combined.
    """

    spectrum: SpectrumData
    calibrations: list[CalibrationResult]
    input_spectra: list[SpectrumData]
    method: str = "chebyshev"
    stacking_method: str = "weighted_mean"

    def __repr__(self) -> str:
        return (
            f"StackResult({self.spectrum.spectrum_id}, {len(self.input_spectra)} spectra, "
            f"{self.method} + {self.stacking_method})"
        )

    def plot(self, fig: Any = None) -> Any:
        """Three-panel matplotlib diagnostic (inputs, multipliers, stack); returns the Figure."""
        from campfire.views.plotting import plot_stack

        return plot_stack(self, fig=fig)


def _photometry_arrays(photometry: Any) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Bands, fluxes and errors (µJy) from a Photometry, or a dict band -> (flux, err)."""
    if photometry is None:
        raise ValidationError("calibration needs photometry (the object has none)")
    if isinstance(photometry, dict):
        bands = [str(b).lower() for b in photometry]
        vals = [
            (v["flux"], v["flux_err"]) if isinstance(v, dict) else tuple(v)
            for v in photometry.values()
        ]
        flux = np.array([float(f) for f, _ in vals])
        err = np.array([float(e) for _, e in vals])
        return bands, flux, err
    try:
        bands = [str(b).lower() for b in photometry.bands]
        flux = np.asarray(photometry.flux, dtype=float)
        err = np.asarray(photometry.flux_err, dtype=float)
    except AttributeError as exc:
        raise ValidationError(
            "photometry must be a campfire Photometry (obj.photometry) or a dict "
            "{band: (flux_uJy, err_uJy)}"
        ) from exc
    unit = getattr(photometry, "flux_unit", "uJy")
    if str(unit).lower() not in ("ujy", "µjy", "μjy"):
        raise ValidationError(f"photometry flux_unit is {unit!r}; calibration expects µJy")
    return bands, flux, err


def _same_filter(band: str, filter_name: str) -> bool:
    try:
        return get_filter(band).name == filter_name
    except ValidationError:
        return False


def _select_bands(
    spec: SpectrumData, photometry: Any, bands: Sequence[str] | None, min_snr: float
) -> tuple[list[str], list[Any], np.ndarray, np.ndarray, np.ndarray, dict[str, str]]:
    names, flux, err = _photometry_arrays(photometry)
    index = {n: i for i, n in enumerate(names)}
    skipped: dict[str, str] = {}
    chosen: list[tuple[str, Any]] = []
    if bands is not None:
        for b in bands:
            filt = get_filter(b)  # unknown filter curve: clear error
            key = str(b).lower()
            if key not in index:  # same filter under another name ('f814w' / 'acs_f814w')
                key = next((n for n in names if _same_filter(n, filt.name)), key)
            if key not in index:
                raise ValidationError(f"band {b!r} is not in the photometry; it has {names}")
            chosen.append((key, filt))
    else:
        for n in names:
            try:
                chosen.append((n, get_filter(n)))
            except ValidationError:
                skipped[n] = "no filter curve for this band name"
    assert spec.valid is not None  # SpectrumData.__post_init__ always sets the mask
    _, coverage = band_weights(spec.wavelength, spec.valid, [f for _, f in chosen])
    keep: list[tuple[str, Any]] = []
    for (n, filt), cov in zip(chosen, coverage, strict=True):
        f, e = flux[index[n]], err[index[n]]
        reason = None
        if not (np.isfinite(f) and np.isfinite(e) and e > 0):
            reason = "flux or error missing"
        elif f / e < min_snr:
            reason = f"S/N {f / e:.2f} < min_snr {min_snr}"
        elif cov < MIN_COVERAGE:
            reason = f"the spectrum covers {cov:.0%} of the band (< {MIN_COVERAGE:.0%})"
        if reason is None:
            keep.append((n, filt))
        elif bands is not None:
            raise ValidationError(f"band {n!r} cannot be used: {reason}")
        else:
            skipped[n] = reason
    if not keep:
        detail = "; ".join(f"{k}: {v}" for k, v in skipped.items()) or "no bands"
        raise ValidationError(
            f"no photometric band can calibrate {spec!r} ({detail}). Pass bands=[...] "
            "covered by the spectrum, or lower min_snr."
        )
    used = [n for n, _ in keep]
    return (
        used,
        [f for _, f in keep],
        np.array([flux[index[n]] for n in used]),
        np.array([err[index[n]] for n in used]),
        np.array([f.pivot for _, f in keep]),
        skipped,
    )


def calibrate_to_photometry(
    spec: Any,
    photometry: Any,
    method: str = "chebyshev",
    bands: Sequence[str] | None = None,
    degree: int = 3,
    min_snr: float = 0.5,
) -> CalibrationResult:
    """Fit a smooth correction so the spectrum's synthetic photometry matches observed bands.

    Parameters
    ----------
    spec
        A SpectrumData, or a Spectrum row (anything with ``.open()``).
    photometry
        A :class:`campfire.models.object.Photometry` (µJy), or ``{band: (flux, err)}``.
    method
        ``'chebyshev'`` (smooth multiplier, default) or ``'flat'`` (one scale factor).
    bands
        Bands to use; default: every band with a filter curve that valid pixels cover
        ≥ 90 % of and whose photometric S/N ≥ ``min_snr``.
    degree
        Chebyshev degree (capped at ``n_bands - 1``).
    min_snr
        Per-band photometric S/N threshold for automatic band choice.

    Returns
    -------
    CalibrationResult

    Raises
    ------
    ValidationError
        Unknown method, no usable band, or a requested band that cannot be used.

    Examples
    --------
    >>> res = calibrate_to_photometry(spec, obj.photometry)  # doctest: +SKIP
    >>> res.spectrum.plot()  # doctest: +SKIP
    """
    if method not in CALIBRATION_METHODS:
        raise ValidationError(
            f"unknown calibration method {method!r}; choose 'chebyshev' or 'flat'"
        )
    if int(degree) != degree or degree < 0:
        raise ValidationError(f"degree must be a non-negative integer, got {degree!r}")
    spec = as_spectrum_data(spec)
    if spec.n_valid < 2:
        raise ValidationError(f"{spec!r} has fewer than two valid pixels; nothing to calibrate")
    used, filters, obs, obs_err, pivot, skipped = _select_bands(spec, photometry, bands, min_snr)

    wave = spec.wavelength
    valid = np.asarray(spec.valid)
    weights, _ = band_weights(wave, valid, filters)
    norm = weights.sum(axis=1)
    f0 = np.where(valid, spec.fnu, 0.0)
    e0 = np.where(valid, spec.fnu_err, 0.0)
    syn_before = weights @ f0 / norm
    syn_err = np.sqrt((weights**2) @ (e0**2)) / norm
    lo = max(min(f.wave_min for f in filters), float(np.nanmin(wave[valid])))
    hi = min(max(f.wave_max for f in filters), float(np.nanmax(wave[valid])))
    x = np.zeros_like(wave) if hi <= lo else 2 * (np.clip(wave, lo, hi) - lo) / (hi - lo) - 1
    x = np.where(np.isfinite(x), x, 0.0)

    # flat scale first: it sets the synthetic-error term of σ_b
    s_inv = 1.0 / obs_err**2
    scale = np.sum(obs * syn_before * s_inv) / np.sum(syn_before**2 * s_inv)
    sigma = np.sqrt(obs_err**2 + (scale * syn_err) ** 2)
    max_deg = 0 if method == "flat" else min(int(degree), len(used) - 1)
    in_span = valid & np.isfinite(x)
    for deg in range(max_deg, -1, -1):
        basis = np.polynomial.chebyshev.chebvander(x, deg)  # (npix, deg + 1)
        design = (weights @ (basis * f0[:, None])) / norm[:, None]
        coef, *_ = np.linalg.lstsq(design / sigma[:, None], obs / sigma, rcond=None)
        mult = basis @ coef
        if np.all(mult[in_span] > 0):
            break
    else:
        raise ValidationError(
            f"calibrating {spec!r} needs a negative scale (synthetic fluxes "
            f"{np.round(syn_before, 4).tolist()} µJy vs observed {obs.tolist()} µJy in "
            f"{used}); the spectrum and photometry disagree in sign. Check the bands."
        )
    syn_after = design @ coef
    chi2 = float(np.sum(((obs - syn_after) / sigma) ** 2))
    header = dict(spec.header)
    header.update({"CALMETH": method, "CALDEG": deg, "CALBANDS": ",".join(used)})
    calibrated = spec.copy(fnu=spec.fnu * mult, fnu_err=spec.fnu_err * mult, header=header)
    return CalibrationResult(
        spectrum=calibrated,
        original=spec,
        multiplier=mult,
        bands_used=used,
        method=method,
        degree=deg,
        coefficients=coef,
        wave_range=(lo, hi),
        observed=obs,
        observed_err=obs_err,
        synthetic_before=syn_before,
        synthetic_after=syn_after,
        pivot=pivot,
        chi2=chi2,
        skipped=skipped,
    )


def calibrate_and_stack(
    spectra: Iterable[Any],
    photometry: Any,
    method: str = "chebyshev",
    stacking_method: str = "weighted_mean",
    object_id: str | None = None,
    *,
    bands: Sequence[str] | None = None,
    degree: int = 3,
    min_snr: float = 0.5,
    wavelength_grid: Any = None,
) -> StackResult:
    """Calibrate each spectrum to the photometry, then resample and stack them.

    Parameters
    ----------
    spectra
        A SpectrumCollection, a list of Spectrum rows, or a list of SpectrumData.
    photometry
        The object's :class:`campfire.models.object.Photometry`.
    method
        Calibration method per spectrum (``'chebyshev'`` or ``'flat'``).
    stacking_method
        ``'weighted_mean'``, ``'median'`` or ``'mean'``.
    object_id
        Name of the result (default: the spectra's or the photometry's object id).
    bands, degree, min_snr
        Passed to :func:`calibrate_to_photometry`.
    wavelength_grid
        Passed to :func:`campfire.science.stacking.stack_spectra`.

    Returns
    -------
    StackResult

    Examples
    --------
    >>> prism = obj.spectra[obj.spectra.grating == 'PRISM']  # doctest: +SKIP
    >>> res = calibrate_and_stack(prism, obj.photometry, object_id=obj.object_id)  # doctest: +SKIP
    """
    if method not in CALIBRATION_METHODS:
        raise ValidationError(
            f"unknown calibration method {method!r}; choose 'chebyshev' or 'flat'"
        )
    if stacking_method not in STACK_METHODS:
        raise ValidationError(
            f"unknown stacking method {stacking_method!r}; choose one of {', '.join(STACK_METHODS)}"
        )
    specs = [as_spectrum_data(s) for s in spectra]
    if not specs:
        raise ValidationError("calibrate_and_stack needs at least one spectrum; got none")
    calibrations = []
    for s in specs:
        try:
            calibrations.append(
                calibrate_to_photometry(s, photometry, method, bands, degree, min_snr)
            )
        except ValidationError as exc:
            raise ValidationError(f"cannot calibrate {s!r}: {exc}") from exc
    inputs = [c.spectrum for c in calibrations]
    if object_id is None:
        object_id = next((s.object_id for s in specs if s.object_id), None) or getattr(
            photometry, "object_id", None
        )
    stacked = stack_spectra(inputs, stacking_method, wavelength_grid, object_id)
    stacked.header["CALMETH"] = method
    return StackResult(stacked, calibrations, inputs, method, stacking_method)
