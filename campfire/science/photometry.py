"""Synthetic broadband photometry from a spectrum, through real filter curves.

Filter curves come from the ``astro-sedpy`` package (``sedpy.observate``: JWST NIRCam wide and
medium bands from B. Hilbert, May 2024, post-flight; HST ACS/WFC and WFC3 IR/UVIS), read once
and cached. Band names are accepted the way users write them: ``'f444w'``, ``'F444W'``,
``'jwst_f444w'``, ``'nircam_f444w'``, ``'acs_f814w'``, ``'hst_acs_f814w'``, ``'f160w'``,
``'wfc3_ir_f160w'`` … (a bare HST name resolves to ACS/WFC, then WFC3/IR, then WFC3/UVIS).

The band average is the photon-counting one (the detector counts photons; T is the
photon-to-electron throughput)::

    <f_ν> = ∫ f_ν T dλ/λ / ∫ T dλ/λ

evaluated as a trapezoid sum over the spectrum's *valid* pixels, with T interpolated onto the
spectrum's wavelengths (msaexp's ``integrate_spectrum_filter``); masked pixels are left out of
both sums. The error is ``sqrt(Σ (w_i σ_i)²) / Σ w_i`` for independent pixels. ``coverage`` is
the fraction of ``∫ T dλ/λ`` that falls on valid pixels; below ``min_coverage`` a single band
raises :class:`~campfire.errors.ValidationError` and the many-band form returns NaN.

Examples
--------
>>> import numpy as np
>>> from campfire.science.photometry import synthetic_photometry, get_filter
>>> wave = np.linspace(0.6, 5.3, 800)
>>> flux, err = synthetic_photometry(wave, np.full(800, 2.0), np.full(800, 0.1), "f444w")
>>> round(flux, 6)
2.0
>>> round(get_filter("F444W").pivot, 4)
4.4017
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

from campfire.errors import ValidationError

if TYPE_CHECKING:
    from astropy.table import Table

__all__ = [
    "FilterCurve",
    "SyntheticPhotometry",
    "available_bands",
    "band_weights",
    "get_filter",
    "resolve_band",
    "synthetic_photometry",
    "synthetic_photometry_bands",
]

#: Default minimum fraction of a band's ∫T dλ/λ that valid pixels must cover.
MIN_COVERAGE = 0.9


@dataclass(frozen=True, eq=False)
class FilterCurve:
    """One filter's throughput curve.

    Attributes
    ----------
    name
        The sedpy name, e.g. ``'jwst_f444w'``.
    wavelength
        Wavelength in µm, increasing.
    transmission
        Photon-to-electron throughput (arbitrary normalisation).
    pivot
        Pivot wavelength in µm, ``sqrt(∫ T λ dλ / ∫ T dλ/λ)``.
    wave_min, wave_max
        Where the throughput first and last reaches half its maximum, in µm.
    """

    name: str
    wavelength: np.ndarray
    transmission: np.ndarray
    pivot: float
    wave_min: float
    wave_max: float
    #: ``T/λ`` times the trapezoid width of each curve point: Σ of it is ``∫ T dλ/λ``
    photon_weights: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))

    @property
    def short_name(self) -> str:
        """The name users write: ``'f444w'`` for JWST, ``'acs_f814w'``, ``'wfc3_ir_f160w'``."""
        if self.name.startswith("jwst_"):
            return self.name[5:]
        return self.name.replace("acs_wfc_", "acs_")

    def __repr__(self) -> str:
        return (
            f"FilterCurve({self.name}, pivot={self.pivot:.4f} µm, "
            f"{self.wave_min:.3f}-{self.wave_max:.3f} µm)"
        )


@lru_cache(maxsize=1)
def available_bands() -> tuple[str, ...]:
    """Names of every filter curve sedpy ships (e.g. ``'jwst_f444w'``, ``'acs_wfc_f814w'``)."""
    try:
        from sedpy import observate
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "synthetic photometry needs astro-sedpy: pip install 'campfire[science]'"
        ) from exc
    return tuple(sorted(observate.list_available_filters()))


@lru_cache(maxsize=1)
def _known_bands() -> frozenset[str]:
    return frozenset(available_bands())


def resolve_band(band: str) -> str:
    """Return the sedpy filter name for a band name as users write it.

    Examples
    --------
    >>> resolve_band("F444W"), resolve_band("acs_f814w"), resolve_band("f160w")
    ('jwst_f444w', 'acs_wfc_f814w', 'wfc3_ir_f160w')
    """
    if not isinstance(band, str) or not band.strip():
        raise ValidationError(f"a band name must be a non-empty string, got {band!r}")
    return _resolve(band)


@lru_cache(maxsize=1024)
def _resolve(band: str) -> str:
    known = _known_bands()
    key = band.strip().lower().replace(" ", "_").replace("-", "_")
    for prefix in ("hst_", "jwst_nircam_", "nircam_", "niriss_", "miri_"):
        if key.startswith(prefix):
            key = ("jwst_" if prefix != "hst_" else "") + key[len(prefix) :]
    candidates = [key, f"jwst_{key}"]
    if key.startswith("acs_"):
        candidates.append(f"acs_wfc_{key[4:]}")
    if key.startswith("wfc3_"):
        rest = key[5:]
        candidates += [f"wfc3_ir_{rest}", f"wfc3_uvis_{rest}"]
    candidates += [f"acs_wfc_{key}", f"wfc3_ir_{key}", f"wfc3_uvis_{key}"]
    for name in candidates:
        if name in known:
            return name
    close = difflib.get_close_matches(key, sorted(known), n=4, cutoff=0.6)
    hint = f" Close matches: {', '.join(close)}." if close else ""
    raise ValidationError(
        f"unknown band {band!r}: no filter curve for it in sedpy.{hint} Use names like "
        "'f444w', 'jwst_f444w', 'acs_f814w' or 'wfc3_ir_f160w' "
        "(campfire.science.photometry.available_bands() lists them all)."
    )


@lru_cache(maxsize=256)
def _load_filter(name: str) -> FilterCurve:
    from sedpy import observate

    filt = observate.Filter(name)
    wave = np.asarray(filt.wavelength, dtype=float) / 1e4  # Å -> µm
    trans = np.clip(np.asarray(filt.transmission, dtype=float), 0.0, None)
    order = np.argsort(wave, kind="stable")
    wave, trans = wave[order], trans[order]
    pivot = float(np.sqrt(np.trapezoid(trans * wave, wave) / np.trapezoid(trans / wave, wave)))
    half = np.flatnonzero(trans >= 0.5 * trans.max())
    dens = trans / wave * _trapezoid_widths(wave)
    for arr in (wave, trans, dens):
        arr.flags.writeable = False
    return FilterCurve(name, wave, trans, pivot, float(wave[half[0]]), float(wave[half[-1]]), dens)


def get_filter(band: str) -> FilterCurve:
    """The (cached) filter curve for a band name.

    Examples
    --------
    >>> get_filter("f150w").name
    'jwst_f150w'
    """
    return _load_filter(resolve_band(band))


def _prepare(
    wavelength: Any, fnu: Any, fnu_err: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Validate a spectrum; return wave [µm], fnu and err with invalid pixels zeroed, valid."""
    wave = np.asarray(getattr(wavelength, "value", wavelength), dtype=float).ravel()
    if hasattr(wavelength, "unit"):
        import astropy.units as u

        wave = np.asarray(wavelength.to_value(u.um, equivalencies=u.spectral())).ravel()
    flux = np.asarray(fnu, dtype=float).ravel()
    err = (
        np.full_like(flux, np.nan) if fnu_err is None else np.asarray(fnu_err, dtype=float).ravel()
    )
    if not (wave.size == flux.size == err.size):
        raise ValidationError(
            f"wavelength, fnu and fnu_err must have the same length "
            f"(got {wave.size}, {flux.size}, {err.size})"
        )
    if wave.size < 2:
        raise ValidationError("a spectrum needs at least two pixels for synthetic photometry")
    finite_wave = wave[np.isfinite(wave)]
    if finite_wave.size and np.median(finite_wave) > 100:
        raise ValidationError(
            f"wavelengths look like Å (median {np.median(finite_wave):.0f}); "
            "synthetic_photometry takes µm: divide by 1e4"
        )
    if np.any(np.diff(wave[np.isfinite(wave)]) < 0):
        order = np.argsort(wave, kind="stable")
        wave, flux, err = wave[order], flux[order], err[order]
    with np.errstate(invalid="ignore"):
        valid = np.isfinite(wave) & (wave > 0) & np.isfinite(flux)
        if fnu_err is not None:  # msaexp's rule for measured spectra
            valid &= np.isfinite(err) & (err > 0) & (flux != 0)
    wave = np.where(np.isfinite(wave), wave, np.nan)
    return wave, np.where(valid, flux, 0.0), np.where(valid, err, 0.0), valid


def _trapezoid_widths(wave: np.ndarray) -> np.ndarray:
    """Per-pixel trapezoid weights: Σ y_i Δ_i equals ∫ y dλ by the trapezoid rule."""
    w = np.zeros_like(wave)
    d = np.diff(wave)
    w[:-1] += 0.5 * d
    w[1:] += 0.5 * d
    return w


def _pixel_edges(wave: np.ndarray) -> np.ndarray:
    mid = 0.5 * (wave[1:] + wave[:-1])
    return np.concatenate([[wave[0] - (mid[0] - wave[0])], mid, [wave[-1] + (wave[-1] - mid[-1])]])


def band_weights(
    wavelength: np.ndarray, valid: np.ndarray, filters: Sequence[FilterCurve]
) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel weights ``T(λ_i)/λ_i × Δ_i`` of each band, and each band's coverage.

    Parameters
    ----------
    wavelength
        Pixel wavelengths in µm (increasing, finite).
    valid
        Usable pixels.
    filters
        Filter curves.

    Returns
    -------
    weights : numpy.ndarray, shape (n_band, n_pix)
        Zero at invalid pixels, so ``weights @ f / weights.sum(1)`` is the band average.
    coverage : numpy.ndarray, shape (n_band,)
        Fraction of each band's ``∫ T dλ/λ`` that falls on valid pixels.
    """
    wave = np.asarray(wavelength, dtype=float)
    ok = np.asarray(valid, dtype=bool) & np.isfinite(wave)
    safe = np.where(np.isfinite(wave), wave, 0.0)
    dlam = _trapezoid_widths(safe) if ok.all() else _trapezoid_widths_masked(safe, ok)
    weights = np.zeros((len(filters), wave.size))
    coverage = np.zeros(len(filters))
    good = np.flatnonzero(ok)
    if good.size < 2:
        return weights, coverage
    edges = _pixel_edges(safe[good[0] : good[-1] + 1])
    ok_span = ok[good[0] : good[-1] + 1]
    for k, filt in enumerate(filters):
        t = np.interp(safe, filt.wavelength, filt.transmission, left=0.0, right=0.0)
        weights[k] = np.where(ok, t / np.where(ok, safe, 1.0) * dlam, 0.0)
        fw, dens = filt.wavelength, filt.photon_weights
        idx = np.searchsorted(edges, fw, side="right") - 1
        inside = (idx >= 0) & (idx < ok_span.size)
        covered = np.zeros(fw.size, dtype=bool)
        covered[inside] = ok_span[idx[inside]]
        total = dens.sum()
        coverage[k] = dens[covered].sum() / total if total > 0 else 0.0
    return weights, coverage


def _trapezoid_widths_masked(wave: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """Trapezoid weights over the valid pixels only (gaps are bridged, as msaexp does)."""
    w = np.zeros_like(wave)
    idx = np.flatnonzero(ok)
    if idx.size >= 2:
        w[idx] = _trapezoid_widths(wave[idx])
    return w


@dataclass(eq=False)
class SyntheticPhotometry:
    """Synthetic photometry of one spectrum in several bands (parallel arrays).

    Attributes
    ----------
    bands
        The band names as given.
    filters
        Their sedpy names.
    flux, flux_err
        Band-averaged f_ν and error in µJy (NaN where coverage < ``min_coverage``).
    coverage
        Fraction of each band's ``∫ T dλ/λ`` on valid pixels.
    pivot
        Pivot wavelengths in µm.
    """

    bands: list[str]
    filters: list[str]
    flux: np.ndarray
    flux_err: np.ndarray
    coverage: np.ndarray
    pivot: np.ndarray

    def to_table(self) -> Table:
        """Return ``band, filter, pivot [µm], flux, flux_err [µJy], coverage`` as a Table."""
        import astropy.units as u
        from astropy.table import Table

        return Table(
            {
                "band": self.bands,
                "filter": self.filters,
                "pivot": self.pivot * u.um,
                "flux": self.flux * u.uJy,
                "flux_err": self.flux_err * u.uJy,
                "coverage": self.coverage,
            }
        )


def synthetic_photometry_bands(
    wavelength: Any,
    fnu: Any,
    fnu_err: Any,
    bands: Sequence[str],
    min_coverage: float = MIN_COVERAGE,
) -> SyntheticPhotometry:
    """Synthetic photometry in many bands at once (vectorised); NaN for poorly covered bands.

    Parameters
    ----------
    wavelength, fnu, fnu_err
        The spectrum: µm, µJy, µJy (``fnu_err`` may be None). NaN, non-finite and
        ``err <= 0`` pixels are excluded.
    bands
        Band names (see :func:`resolve_band`).
    min_coverage
        Bands whose throughput is covered less than this by valid pixels get NaN.

    Examples
    --------
    >>> import numpy as np
    >>> wave = np.linspace(0.6, 5.3, 500)
    >>> res = synthetic_photometry_bands(wave, np.ones(500), None, ["f070w", "f444w", "f560w"])
    >>> res.flux.round(6).tolist()[:2], bool(np.isnan(res.flux[2]))
    ([1.0, 1.0], True)
    """
    filters = [get_filter(b) for b in bands]
    wave, flux, err, valid = _prepare(wavelength, fnu, fnu_err)
    weights, coverage = band_weights(wave, valid, filters)
    norm = weights.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = weights @ flux / norm
        out_err = np.sqrt((weights**2) @ (err**2)) / norm
    if fnu_err is None:
        out_err = np.full_like(out, np.nan)
    bad = (coverage < min_coverage) | ~(norm > 0)
    out[bad] = np.nan
    out_err[bad] = np.nan
    return SyntheticPhotometry(
        bands=list(bands),
        filters=[f.name for f in filters],
        flux=out,
        flux_err=out_err,
        coverage=coverage,
        pivot=np.array([f.pivot for f in filters]),
    )


def synthetic_photometry(
    wavelength: Any,
    fnu: Any,
    fnu_err: Any,
    band: str | Sequence[str],
    min_coverage: float = MIN_COVERAGE,
) -> tuple[Any, Any]:
    """AB synthetic photometry of a spectrum in one band: ``(flux, err)`` in µJy.

    Parameters
    ----------
    wavelength
        Wavelength in µm.
    fnu, fnu_err
        Flux density and 1σ error in µJy (``fnu_err`` may be None: the error is then NaN).
        Pixels with NaN or non-finite flux or error, or ``err <= 0``, are left out.
    band
        Band name (``'f444w'``, ``'jwst_f444w'``, ``'acs_f814w'``, ``'wfc3_ir_f160w'`` …). A list
        of names returns arrays instead, with NaN for bands covered less than
        ``min_coverage`` (see :func:`synthetic_photometry_bands`).
    min_coverage
        Minimum fraction of the band's ``∫ T dλ/λ`` that valid pixels must cover.

    Returns
    -------
    tuple
        ``(flux, err)``: band-averaged f_ν and its error in µJy
        (use :func:`campfire.convert_flux_units` for AB magnitudes).

    Raises
    ------
    ValidationError
        Unknown band, or (single band) a band the spectrum covers too little of.

    Examples
    --------
    >>> import numpy as np
    >>> wave = np.linspace(0.6, 5.3, 800)
    >>> round(synthetic_photometry(wave, np.full(800, 3.0), None, "F150W")[0], 9)
    3.0
    """
    if not isinstance(band, str):
        res = synthetic_photometry_bands(wavelength, fnu, fnu_err, band, min_coverage)
        return res.flux, res.flux_err
    res = synthetic_photometry_bands(wavelength, fnu, fnu_err, [band], min_coverage=0.0)
    cov = float(res.coverage[0])
    if cov < min_coverage or not np.isfinite(res.flux[0]):
        filt = get_filter(band)
        what = "does not overlap" if cov == 0 else f"covers only {cov:.0%} of"
        raise ValidationError(
            f"the spectrum {what} band {band!r} ({filt.name}, "
            f"{filt.wave_min:.2f}-{filt.wave_max:.2f} µm) with valid pixels; at least "
            f"{min_coverage:.0%} is needed. Choose a band inside the spectrum, or pass a "
            "smaller min_coverage to accept a partial band."
        )
    return float(res.flux[0]), float(res.flux_err[0])
