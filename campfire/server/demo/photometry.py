"""Broadband photometry of the synthetic galaxies through real filter curves (astro-sedpy).

Band fluxes are photon-counting averages, ``<f_ν> = ∫ f_ν T dλ/λ / ∫ T dλ/λ`` (data-formats
section 6), of the same SED the spectra come from: the continuum is sampled on each filter's
own curve, and each emission line adds ``F λ_l T(λ_l) / (c ∫ T dλ/λ)`` exactly. Errors follow
each band's 5σ depth; noise is added per source. Photometric redshifts scatter around the true
redshift by 0.04(1+z) with a few catastrophic outliers.

Examples
--------
>>> from campfire.server.demo.sed import Population
>>> pop = Population.single(z=2.0, mag=24.0, ew_ha=0.0)
>>> flux = band_fluxes(pop, ["f356w"])
>>> 0.8 < float(flux[0, 0]) < 1.05      # ≈ 0.91 µJy, the 24.0 AB set at 3.56 µm
True
"""

from __future__ import annotations

from functools import cache

import numpy as np

from campfire.server.demo.sed import Population, continuum_fnu, line_fluxes

__all__ = ["BANDS", "band_fluxes", "catalog_columns", "filter_curve"]

#: catalog band name -> (sedpy filter name, 5σ point-source depth in AB)
BANDS: dict[str, tuple[str, float]] = {
    "acs_f606w": ("acs_wfc_f606w", 28.2),
    "acs_f814w": ("acs_wfc_f814w", 27.9),
    "wfc3_f160w": ("wfc3_ir_f160w", 27.4),
    "f090w": ("jwst_f090w", 28.6),
    "f115w": ("jwst_f115w", 28.8),
    "f150w": ("jwst_f150w", 29.0),
    "f200w": ("jwst_f200w", 29.1),
    "f277w": ("jwst_f277w", 29.4),
    "f356w": ("jwst_f356w", 29.4),
    "f444w": ("jwst_f444w", 29.1),
}
_SAMPLES = 96
_C_AA = 2.99792458e18  # Å/s


@cache
def filter_curve(band: str) -> tuple[np.ndarray, np.ndarray, float]:
    """A band's curve resampled to :data:`_SAMPLES` points: (λ [µm], T, ∫ T dλ/λ [λ in Å]).

    The curve is the sedpy file's, cut where it falls below 0.1 % of its peak.
    """
    from sedpy.observate import Filter

    name = BANDS[band][0] if band in BANDS else band
    filt = Filter(name)
    wave = np.asarray(filt.wavelength, dtype=float)
    trans = np.asarray(filt.transmission, dtype=float)
    keep = np.nonzero(trans > 1e-3 * trans.max())[0]
    lo, hi = wave[max(keep[0] - 1, 0)], wave[min(keep[-1] + 1, wave.size - 1)]
    grid = np.linspace(lo, hi, _SAMPLES)
    t = np.interp(grid, wave, trans)
    norm = float(np.trapezoid(t / grid, grid))
    return grid / 1e4, t, norm


def band_fluxes(pop: Population, bands: list[str], chunk: int = 4096) -> np.ndarray:
    """Noiseless band-averaged f_ν (µJy) of every galaxy, shape ``(len(pop), len(bands))``.

    Parameters
    ----------
    pop
        The galaxies.
    bands
        Catalog band names (keys of :data:`BANDS`) or sedpy filter names.
    chunk
        Galaxies evaluated at once (bounds memory).
    """
    out = np.zeros((len(pop), len(bands)))
    for lo in range(0, len(pop), chunk):
        part = pop.take(slice(lo, lo + chunk))
        rest, flux, _ = line_fluxes(part)
        lam_obs_aa = rest[None, :] * (1.0 + part["z"][:, None])
        for j, band in enumerate(bands):
            wave_um, t, norm = filter_curve(band)
            cont = continuum_fnu(part, wave_um)
            wave_aa = wave_um * 1e4
            cont_avg = np.trapezoid(cont * t / wave_aa, wave_aa, axis=1) / norm
            t_line = np.interp(lam_obs_aa, wave_aa, t, left=0.0, right=0.0)
            lines = np.sum(flux * lam_obs_aa * t_line, axis=1) / (_C_AA * norm) * 1e29
            out[lo : lo + chunk, j] = cont_avg + lines
    return out


def flux_errors(bands: list[str]) -> np.ndarray:
    """1σ errors (µJy) of each band from its 5σ depth."""
    return np.array([10.0 ** ((23.9 - BANDS[b][1]) / 2.5) / 5.0 for b in bands])


def catalog_columns(
    pop: Population, rng: np.random.Generator, bands: list[str] | None = None
) -> dict[str, np.ndarray]:
    """Noisy catalog columns: ``photo_z``, ``photo_z_err_lo``/``_hi`` (positive 1σ sizes)
    and ``f_<band>``/``e_<band>`` in µJy.
    """
    bands = list(BANDS) if bands is None else bands
    n = len(pop)
    true = band_fluxes(pop, bands)
    err = np.broadcast_to(flux_errors(bands), true.shape)
    # brighter sources carry a 3 % calibration floor
    err = np.sqrt(err**2 + (0.03 * np.abs(true)) ** 2)
    noisy = true + err * rng.standard_normal(true.shape)
    z = pop["z"]
    width = 0.04 * (1.0 + z)
    pz = z + width * rng.standard_normal(n)
    outlier = rng.random(n) < 0.05
    pz = np.where(outlier, 0.2 + 7.5 * rng.random(n), pz)
    pz = np.clip(pz, 0.01, None)
    cols: dict[str, np.ndarray] = {
        "photo_z": np.round(pz, 3),
        "photo_z_err_lo": np.round(width * (0.7 + 0.6 * rng.random(n)), 3),
        "photo_z_err_hi": np.round(width * (0.7 + 0.6 * rng.random(n)), 3),
    }
    for j, band in enumerate(bands):
        cols[f"f_{band}"] = np.round(noisy[:, j], 5)
        cols[f"e_{band}"] = np.round(err[:, j], 5)
    return cols
