"""NIRSpec dispersers for the synthetic demo archive: pixel grids, resolution, noise, chip gaps.

The pixel sampling and resolving power come from the STScI/ESA dispersion tables shipped in
``campfire/server/demo/data`` (``WAVELENGTH`` [µm], ``DLDS`` [µm/pixel], ``R``). A disperser's
wavelength grid is built pixel by pixel, ``λ[i+1] = λ[i] + DLDS(λ[i])``, over the coverage of
its grating/filter configuration, so the PRISM grid is strongly non-uniform (R≈30 near 1.2 µm,
R≈300 at 5 µm) while the M gratings are nearly uniform.

Noise is modelled on the real msaexp sample ``static-test-driz-center-bkg_933.spec.fits``
(3063 s PRISM): a per-pixel 1σ error of ≈0.006-0.03 µJy that rises to both ends of the band,
scaled by ``sqrt(3000 s / t)`` and, for gratings, by ``sqrt(DLDS_prism / DLDS_grating)`` (a
background-limited pixel collects photons in proportion to its width in wavelength).

Examples
--------
>>> d = get_disperser("PRISM", "CLEAR")
>>> d.wave.size > 300, round(float(d.wave[0]), 2)
(True, 0.6)
>>> float(d.resolution(2.0)) < 200 < float(get_disperser("G395M", "F290LP").resolution(4.0))
True
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "CONFIGURATIONS",
    "DATA_DIR",
    "Disperser",
    "chip_gap_mask",
    "get_disperser",
    "pixel_noise",
]

FloatArray = NDArray[np.float64]

#: package data: dispersion curves and the rest-frame line list (see data/README.md)
DATA_DIR = Path(__file__).with_name("data")

#: (grating, filter) -> wavelength coverage in µm (data-formats section 0.4)
CONFIGURATIONS: dict[tuple[str, str], tuple[float, float]] = {
    ("PRISM", "CLEAR"): (0.60, 5.30),
    ("G140M", "F070LP"): (0.70, 1.27),
    ("G140M", "F100LP"): (0.97, 1.89),
    ("G235M", "F170LP"): (1.66, 3.17),
    ("G395M", "F290LP"): (2.87, 5.27),
    ("G140H", "F070LP"): (0.70, 1.27),
    ("G140H", "F100LP"): (0.97, 1.89),
    ("G235H", "F170LP"): (1.66, 3.17),
    ("G395H", "F290LP"): (2.87, 5.27),
}

#: the width of the gap between the two NIRSpec detectors, in detector pixels (≈18″)
GAP_PIXELS = 160

# 1σ per-pixel PRISM error [µJy] for a 3000 s exposure, read off the real msaexp sample
_NOISE_WAVE = np.array([0.6, 0.8, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 5.3])
_NOISE_UJY = np.array(
    [0.045, 0.022, 0.013, 0.0095, 0.0065, 0.007, 0.0075, 0.0085, 0.011, 0.016, 0.024, 0.032]
)
_GRATING_THROUGHPUT_PENALTY = 1.25


@dataclass(frozen=True, eq=False)
class Disperser:
    """One grating/filter configuration: its pixel grid and resolving power.

    Attributes
    ----------
    grating, filter
        Upper-case names, e.g. ``"G395M"``, ``"F290LP"``.
    wave
        Pixel-centre wavelengths in µm (increasing).
    edges
        Pixel edges in µm (``wave.size + 1`` values).
    curve_wave, curve_dlds, curve_r
        The tabulated dispersion curve (µm, µm/pixel, resolving power).
    """

    grating: str
    filter: str
    wave: FloatArray
    edges: FloatArray
    curve_wave: FloatArray
    curve_dlds: FloatArray
    curve_r: FloatArray

    @property
    def is_prism(self) -> bool:
        """True for the PRISM (no chip gap in our model, non-uniform sampling)."""
        return self.grating == "PRISM"

    def resolution(self, wave_um: FloatArray) -> FloatArray:
        """Resolving power R = λ/FWHM at ``wave_um`` (µm)."""
        return np.interp(wave_um, self.curve_wave, self.curve_r)

    def dlds(self, wave_um: FloatArray) -> FloatArray:
        """Pixel width in µm at ``wave_um``."""
        return np.interp(wave_um, self.curve_wave, self.curve_dlds)

    def sigma_um(self, wave_um: FloatArray) -> FloatArray:
        """Gaussian σ of the line-spread function in µm: ``λ / (R · 2.3548)``."""
        w = np.asarray(wave_um, dtype=float)
        return w / (self.resolution(w) * 2.354820045)


def _read_curve(grating: str) -> tuple[FloatArray, FloatArray, FloatArray]:
    from astropy.io import fits

    path = DATA_DIR / f"jwst_nirspec_{grating.lower()}_disp.fits"
    with fits.open(path, memmap=False) as hdul:
        tab = hdul[1].data
        return (
            np.asarray(tab["WAVELENGTH"], dtype=float),
            np.asarray(tab["DLDS"], dtype=float),
            np.asarray(tab["R"], dtype=float),
        )


@cache
def get_disperser(grating: str, filt: str) -> Disperser:
    """The :class:`Disperser` of a configuration (cached).

    Raises
    ------
    ValueError
        For a configuration NIRSpec does not have; the message lists the known ones.
    """
    key = (grating.upper(), filt.upper())
    if key not in CONFIGURATIONS:
        known = ", ".join(f"{g}/{f}" for g, f in CONFIGURATIONS)
        raise ValueError(f"unknown disperser {grating}/{filt}; use one of {known}")
    lo, hi = CONFIGURATIONS[key]
    cw, cd, cr = _read_curve(key[0])
    pix = [lo]
    while pix[-1] < hi:
        pix.append(pix[-1] + float(np.interp(pix[-1], cw, cd)))
    wave = np.array(pix[:-1]) if pix[-1] > hi + 1e-9 else np.array(pix)
    half = 0.5 * np.interp(wave, cw, cd)
    edges = np.concatenate([wave - half, [wave[-1] + half[-1]]])
    return Disperser(key[0], key[1], wave, edges, cw, cd, cr)


def pixel_noise(disperser: Disperser, exptime: float) -> FloatArray:
    """The 1σ per-pixel error (µJy) of an optimally extracted point source.

    Parameters
    ----------
    disperser
        The configuration.
    exptime
        Total exposure time in seconds.

    Examples
    --------
    >>> d = get_disperser("PRISM", "CLEAR")
    >>> s1, s4 = pixel_noise(d, 3000.0), pixel_noise(d, 12000.0)
    >>> bool(np.allclose(s1 / s4, 2.0))
    True
    """
    wave = disperser.wave
    scale = np.sqrt(3000.0 / max(exptime, 1.0))
    sigma: FloatArray = np.interp(wave, _NOISE_WAVE, _NOISE_UJY) * scale
    if not disperser.is_prism:
        prism = get_disperser("PRISM", "CLEAR")
        ratio = prism.dlds(wave) / disperser.dlds(wave)
        sigma = sigma * np.sqrt(ratio) * _GRATING_THROUGHPUT_PENALTY
    return sigma


def chip_gap_mask(disperser: Disperser, msa_x: float) -> np.ndarray:
    """Pixels lost in the detector gap for a source at dispersion position ``msa_x``.

    ``msa_x`` in [-1, 1] is the source's position across the MSA along the dispersion
    direction; it slides the spectrum over the two detectors, so the gap falls at a
    source-dependent wavelength (or off the spectrum). The PRISM spectrum fits on one
    detector in this model.

    Examples
    --------
    >>> g = get_disperser("G395M", "F290LP")
    >>> int(chip_gap_mask(g, 0.0).sum()) == GAP_PIXELS
    True
    >>> int(chip_gap_mask(get_disperser("PRISM", "CLEAR"), 0.0).sum())
    0
    """
    n = disperser.wave.size
    mask = np.zeros(n, dtype=bool)
    if disperser.is_prism:
        return mask
    spread = 0.45 if disperser.grating.endswith("H") else 0.9
    centre = n / 2.0 + float(np.clip(msa_x, -1.0, 1.0)) * spread * n
    lo = round(centre - GAP_PIXELS / 2)
    mask[max(lo, 0) : max(min(lo + GAP_PIXELS, n), 0)] = True
    return mask
