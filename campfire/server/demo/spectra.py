"""Synthetic NIRSpec MOS spectra: 2D nod-subtracted frames, optimal and boxcar extraction, DQ.

For one galaxy and one disperser, :func:`observe` builds

* the noiseless spectrum: the galaxy's SED (continuum with the instrument softening its breaks,
  emission lines integrated over each pixel), times a smooth flux-calibration error
  (slit-loss residuals of a few to ~15 %);
* a rectified 2D spectrum (19 rows of 0.1″): a positive trace whose width is the PSF
  (∝ λ) ⊕ the source size ⊕ the pixel, and the two negative half-traces one shutter pitch
  (5.28 rows) away that 3-shutter nod subtraction leaves, with Gaussian noise from the sky
  background plus the source's own shot noise;
* the 1D spectrum by optimal (Horne) extraction with that signed profile, and boxcar
  extractions over 3, 4 and 5 rows (aperture-corrected), all from the same noisy 2D pixels.

The data carry what their DQ bits say: chip-gap pixels are NaN in 2D with zero flux and error in
1D (``CHIP_GAP``); a stuck-closed shutter costs one nod, so a third of the exposure
(``STUCK_SHUTTER``); neighbours in the slit add their own traces (``MULTIPLE_SOURCES``, and
``CONTAMINATION`` when they fall in the extraction aperture); an overlapping spectrum adds
shifted flux (``SPECTRAL_OVERLAP``); a detector artefact corrupts a block of columns
(``PRISM_CORRUPTED``/``GRATING_CORRUPTED``); ``LOW_SNR`` and ``NO_DETECTION`` follow the
measured median S/N (the ingest's definition) of the result.

Examples
--------
>>> from campfire.server.demo.dispersers import get_disperser
>>> from campfire.server.demo.sed import Population
>>> spec = observe(Population.single(z=2.5, mag=24.0), get_disperser("PRISM", "CLEAR"),
...                3000.0, np.random.default_rng(1))
>>> spec.sci.shape == (N_ROWS_2D, spec.wave.size), spec.dq & DQ["LOW_SNR"]
(True, 0)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from campfire.flags import DQFlags
from campfire.server.demo.dispersers import Disperser, chip_gap_mask, pixel_noise
from campfire.server.demo.sed import FLAM_PER_UJY_UM2, Population, model_fnu_pixels

__all__ = ["DQ", "N_ROWS_2D", "PIXEL_SCALE", "Contaminant", "SyntheticSpectrum", "observe"]

#: DQ bits (api-v1 section 3.3), by name, from the one definition in campfire.flags
DQ = {flag.name: int(flag.value) for flag in DQFlags}
N_ROWS_2D = 19
PIXEL_SCALE = 0.10  # arcsec per spatial row
NOD_ROWS = 0.528 / PIXEL_SCALE
APERTURES = (3, 4, 5)
LOW_SNR_LIMIT = 3.0
NO_DETECTION_LIMIT = 1.0
SHOT_NOISE_FACTOR = 50.0  # source shot variance = σ_bg · |signal| / this


@dataclass
class Contaminant:
    """Another source's light in this slit: its spectrum (µJy per pixel of this grid), where
    its trace sits (rows from the target's) and its spatial σ in rows.
    """

    fnu: np.ndarray
    offset_rows: float
    sigma_rows: float
    overlap: bool = False  # a different slitlet's spectrum, rather than a neighbour in the slit


@dataclass
class SyntheticSpectrum:
    """Everything a ``_spec.fits`` file holds, plus the noiseless truth for tests."""

    wave: np.ndarray
    model: np.ndarray  # noiseless 1D f_ν of the target (µJy), calibration error included
    continuum: np.ndarray  # its continuum part
    fnu: np.ndarray
    fnu_err: np.ndarray
    boxcar: dict[int, tuple[np.ndarray, np.ndarray]]
    sci: np.ndarray
    err: np.ndarray
    wht: np.ndarray
    profile: np.ndarray  # signed extraction profile at the reference wavelength, per row
    trace_row: float
    exptime: float
    dq: int
    valid: np.ndarray
    calibration: np.ndarray
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def snr(self) -> float:
        """Median fnu/fnu_err over valid pixels (what the ingest measures)."""
        ok = self.valid & (self.fnu != 0)
        return float(np.median(self.fnu[ok] / self.fnu_err[ok])) if ok.any() else 0.0


def _profile_rows(centre: float, sigma: np.ndarray) -> np.ndarray:
    """Pixel-integrated Gaussian profiles, shape (nrows, nwave), each column summing to ~1."""
    from scipy.special import erf

    edges = np.arange(N_ROWS_2D + 1, dtype=float)[:, None]
    cdf = 0.5 * erf((edges - centre) / (np.sqrt(2.0) * sigma[None, :]))
    return np.diff(cdf, axis=0)


def spatial_sigma_rows(wave_um: np.ndarray, size_arcsec: float) -> np.ndarray:
    """Trace σ in rows: diffraction (1.03 λ/D, D = 6.5 m) ⊕ instrument ⊕ source (r_e/1.18)."""
    psf = 0.0327 * wave_um / 2.3548
    return np.sqrt(psf**2 + 0.035**2 + (size_arcsec / 1.177) ** 2) / PIXEL_SCALE


def _signed(centre: float, sigma: np.ndarray) -> np.ndarray:
    pos = _profile_rows(centre, sigma)
    neg = _profile_rows(centre - NOD_ROWS, sigma) + _profile_rows(centre + NOD_ROWS, sigma)
    signed: np.ndarray = pos - 0.5 * neg
    return signed


def observe(
    galaxy: Population,
    disperser: Disperser,
    exptime: float,
    rng: np.random.Generator,
    *,
    offset_arcsec: float = 0.0,
    size_arcsec: float = 0.1,
    msa_x: float = 0.0,
    stuck: bool = False,
    contaminants: list[Contaminant] | None = None,
    corrupt: bool = False,
    calibration: tuple[float, float] = (0.0, 0.0),
) -> SyntheticSpectrum:
    """Simulate one reduced spectrum of ``galaxy`` (a one-row population).

    Parameters
    ----------
    galaxy
        The source.
    disperser
        Grating/filter configuration.
    exptime
        Planned exposure time (s); a stuck shutter removes one of the three nods.
    rng
        Random generator for the noise (and artefacts).
    offset_arcsec
        Source position along the slit relative to the shutter centre.
    size_arcsec
        Source half-light radius.
    msa_x
        Dispersion position on the MSA in [-1, 1] (sets the chip gap).
    stuck
        One of the slitlet's other shutters is stuck closed.
    contaminants
        Other light in the slit.
    corrupt
        Add a detector artefact to a block of columns.
    calibration
        ``(a, b)``: the flux scale error is ``(1 + a)(1 + b x)`` with ``x`` running -1 → 1
        over the band.
    """
    wave = disperser.wave
    nw = wave.size
    sig_instr = disperser.sigma_um(wave)
    cont, lines = model_fnu_pixels(galaxy, disperser.edges, sig_instr)
    xs = np.linspace(-1.0, 1.0, nw)
    calib = (1.0 + calibration[0]) * (1.0 + calibration[1] * xs)
    model = (cont[0] + lines[0]) * calib
    dq = 0
    if stuck:
        exptime = exptime * 2.0 / 3.0
        dq |= DQ["STUCK_SHUTTER"]

    centre = (N_ROWS_2D / 2.0) + offset_arcsec / PIXEL_SCALE
    sigma = spatial_sigma_rows(wave, size_arcsec)
    q = _signed(centre, sigma)
    q_point = _signed(N_ROWS_2D / 2.0, spatial_sigma_rows(wave, 0.0))
    sigma_1d = pixel_noise(disperser, exptime)
    sigma_bg = sigma_1d * np.sqrt(np.sum(q_point**2, axis=0))  # per 2D pixel
    signal = model[None, :] * q
    extra = np.zeros_like(signal)
    for c in contaminants or []:
        prof = _signed(centre + c.offset_rows, np.full(nw, c.sigma_rows))
        extra += c.fnu[None, :] * prof
        if c.overlap:
            dq |= DQ["SPECTRAL_OVERLAP"]
        else:
            dq |= DQ["MULTIPLE_SOURCES"]
            if abs(c.offset_rows) < 3.0:
                dq |= DQ["CONTAMINATION"]
    total = signal + extra
    var = sigma_bg[None, :] ** 2 + sigma_bg[None, :] * np.abs(total) / SHOT_NOISE_FACTOR
    err2d = np.sqrt(var)
    sci = total + err2d * rng.standard_normal(total.shape)
    if corrupt:
        width = int(rng.integers(6, 18))
        start = int(rng.integers(nw // 10, nw - nw // 10 - width))
        rows = slice(max(int(centre) - 3, 0), min(int(centre) + 4, N_ROWS_2D))
        sci[rows, start : start + width] += 8.0 * err2d[rows, start : start + width]
        dq |= DQ["PRISM_CORRUPTED"] if disperser.is_prism else DQ["GRATING_CORRUPTED"]

    gap = chip_gap_mask(disperser, msa_x)
    if gap.any():
        dq |= DQ["CHIP_GAP"]
    # optimal extraction with the signed profile
    wts = q / var
    fnu = np.sum(wts * sci, axis=0) / np.sum(wts * q, axis=0)
    fnu_err = 1.0 / np.sqrt(np.sum(q * q / var, axis=0))
    boxcar: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for width in APERTURES:
        lo = round(centre - width / 2.0)
        rows = slice(max(lo, 0), min(lo + width, N_ROWS_2D))
        # aperture correction of the signed profile (very extended sources self-subtract)
        norm = np.maximum(np.sum(q[rows], axis=0), 0.1)
        boxcar[width] = (
            np.sum(sci[rows], axis=0) / norm,
            np.sqrt(np.sum(var[rows], axis=0)) / np.abs(norm),
        )
    valid = ~gap
    for arr in (fnu, fnu_err, *[a for pair in boxcar.values() for a in pair]):
        arr[gap] = 0.0
    sci[:, gap] = np.nan
    err2d[:, gap] = np.nan
    wht = np.where(np.isfinite(err2d), 1.0 / np.where(np.isfinite(var), var, 1.0), 0.0)
    spec = SyntheticSpectrum(
        wave=wave,
        model=model,
        continuum=cont[0] * calib,
        fnu=fnu,
        fnu_err=fnu_err,
        boxcar=boxcar,
        sci=sci,
        err=err2d,
        wht=wht,
        profile=q[:, nw // 2],
        trace_row=centre,
        exptime=exptime,
        dq=dq,
        valid=valid,
        calibration=calib,
    )
    snr = spec.snr
    if snr < LOW_SNR_LIMIT:
        spec.dq |= DQ["LOW_SNR"]
    if snr < NO_DETECTION_LIMIT and _peak_snr(fnu, fnu_err, valid) < 5.0:
        spec.dq |= DQ["NO_DETECTION"]
    return spec


def _peak_snr(fnu: np.ndarray, err: np.ndarray, valid: np.ndarray) -> float:
    """The highest S/N of any three adjacent valid pixels summed (a line or a break)."""
    f = np.where(valid, fnu, 0.0)
    v = np.where(valid, err, 0.0) ** 2
    num = np.convolve(f, np.ones(3), mode="valid")
    den = np.sqrt(np.convolve(v, np.ones(3), mode="valid"))
    ok = den > 0
    return float(np.max(num[ok] / den[ok])) if ok.any() else 0.0


def flam(fnu: np.ndarray, wave_um: np.ndarray) -> np.ndarray:
    """f_λ in erg/s/cm²/Å from f_ν in µJy (``flam = fnu * 2.99792458e-19 / wave**2``)."""
    out: np.ndarray = fnu * FLAM_PER_UJY_UM2 / wave_um**2
    return out
