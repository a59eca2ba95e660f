"""Galaxy spectral energy distributions for the synthetic demo archive.

A galaxy is a handful of physical parameters (a :class:`Population` holds them column-wise,
so thousands of galaxies are evaluated at once). Its observed SED is

* a stellar continuum, ``f_λ ∝ (λ/1500 Å)^β`` in the UV, a Balmer/4000 Å break of amplitude
  ``balmer`` (the ratio of f_λ red- and blueward of 3650-4000 Å) and an optical slope ``gamma``,
  attenuated by dust, ``A(λ) = A_V (λ/5500 Å)^-0.7``;
* optionally a reddened AGN power law (little red dots, broad-line AGN);
* absorption lines (Ca II H+K, Balmer, Mg b, Na D) for old populations;
* the Lyman break: nothing below 912 Å, and the Lyα forest's mean transmission between 912
  and 1216 Å, ``exp(-τ)`` with ``τ = 0.0036 (λ_obs/1216 Å)^3.46`` (Madau-like) steepened by
  ``1 + (z_abs - 5)²`` above ``z_abs = 5``, so the forest turns into a Gunn-Peterson trough;
* emission lines at the rest-frame vacuum wavelengths of the real line list (msaexp's
  ``linelist.ecsv``; Lyα at 1215.67 Å as data-formats section 5 recommends), with Case-B
  Balmer/Paschen ratios, dust-reddened, normalised by the rest-frame Hα equivalent width, plus
  broad Balmer/Paschen components for AGN.

Fluxes are f_ν in µJy, wavelengths in µm (observed frame), line fluxes in erg/s/cm².

Examples
--------
>>> pop = Population.single(z=2.0, mag=24.0)
>>> wave = np.array([3.56])
>>> round(float(continuum_fnu(pop, wave)[0, 0]), 3)   # 24.0 AB at the normalisation point
0.912
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from campfire.server.demo.dispersers import DATA_DIR

__all__ = [
    "KINDS",
    "LINES",
    "NORM_WAVE_UM",
    "Population",
    "continuum_fnu",
    "line_fluxes",
    "line_wavelengths",
    "model_fnu_pixels",
]

#: galaxy kinds (the integer code is the index)
KINDS = ("sf", "qg", "lae", "lrd", "blagn", "dusty")
#: observed wavelength [µm] at which ``mag`` is defined (≈ NIRCam F356W)
NORM_WAVE_UM = 3.56
C_KMS = 299792.458
FLAM_PER_UJY_UM2 = 2.99792458e-19  # f_λ [erg/s/cm²/Å] = f_ν [µJy] × this / λ[µm]²

#: emission lines: (our key, line-list name, component index within that entry)
LINES: tuple[tuple[str, str, int], ...] = (
    ("lya", "Lya", 0),
    ("civ1548", "CIV-1549", 0),
    ("civ1551", "CIV-1549", 1),
    ("heii1640", "HeII-1640", 0),
    ("ciii1907", "CIII-1906x", 0),
    ("ciii1909", "CIII-1906x", 1),
    ("mgii2796", "MgII", 0),
    ("mgii2804", "MgII", 1),
    ("oii3727", "OII", 0),
    ("oii3730", "OII", 1),
    ("h9", "H9", 0),
    ("neiii3870", "NeIII-3867x", 0),
    ("h8", "H8", 0),
    ("h7", "H7", 0),
    ("hd", "Hd", 0),
    ("hg", "Hg", 0),
    ("oiii4363", "OIII-4363", 0),
    ("hb", "Hb", 0),
    ("oiii4960", "OIII-4959", 0),
    ("oiii5008", "OIII-5007", 0),
    ("hei5877", "HeI-5877", 0),
    ("oi6302", "OI-6300", 0),
    ("nii6550", "NII-6549", 0),
    ("ha", "Ha", 0),
    ("nii6585", "NII-6584", 0),
    ("sii6718", "SII-6717", 0),
    ("sii6733", "SII-6731", 0),
    ("siii9071", "SIII-9068", 0),
    ("siii9533", "SIII-9531", 0),
    ("pad", "PaD", 0),
    ("hei10830", "HeI-1083", 0),
    ("pag", "PaG", 0),
    ("pab", "PaB", 0),
    ("paa", "PaA", 0),
)
LYA_VACUUM = 1215.67

# Case B (10⁴ K) intensities relative to Hβ, the ratios msaexp's line list uses
_CASE_B = {
    "ha": 2.86,
    "hg": 0.468,
    "hd": 0.259,
    "h7": 0.159,
    "h8": 0.105,
    "h9": 0.0731,
    "paa": 0.348,
    "pab": 0.163,
    "pag": 0.0901,
    "pad": 0.0553,
    "hei5877": 0.127,
    "hei10830": 0.204,
}
_BROAD = ("ha", "hb", "hg", "pab", "paa", "hei10830")

# absorption features of old stars: rest vacuum Å and relative strength
_ABSORPTION = np.array(
    [
        [3934.78, 1.6],
        [3969.59, 1.4],
        [4102.94, 0.8],
        [4341.73, 0.7],
        [4862.74, 0.6],
        [5176.7, 0.8],
        [5895.6, 0.7],
        [6564.70, 0.5],
    ]
)

_FIELDS = (
    "z",
    "kind",
    "mag",
    "beta",
    "balmer",
    "gamma",
    "av",
    "agn_frac",
    "agn_av",
    "ew_ha",
    "o3hb",
    "o2hb",
    "n2ha",
    "lya_fesc",
    "sigma_v",
    "broad_fwhm",
    "broad_ratio",
    "absorb",
)
_DEFAULTS = {
    "kind": 0,
    "mag": 25.0,
    "beta": -2.0,
    "balmer": 1.1,
    "gamma": -1.5,
    "av": 0.2,
    "agn_frac": 0.0,
    "agn_av": 0.0,
    "ew_ha": 150.0,
    "o3hb": 3.0,
    "o2hb": 1.5,
    "n2ha": 0.08,
    "lya_fesc": 0.05,
    "sigma_v": 80.0,
    "broad_fwhm": 0.0,
    "broad_ratio": 0.0,
    "absorb": 0.0,
}


@dataclass
class Population:
    """SED parameters of many galaxies, one numpy array per parameter.

    Parameters (all arrays of the same length): ``z``; ``kind`` (index into :data:`KINDS`);
    ``mag`` (AB at :data:`NORM_WAVE_UM`); ``beta`` (UV slope of f_λ); ``balmer`` (break
    amplitude); ``gamma`` (optical slope of f_λ); ``av`` (stellar and nebular A_V);
    ``agn_frac`` (AGN/stellar f_λ at rest 5500 Å, after dust) and ``agn_av``; ``ew_ha`` (rest
    Hα EW, Å); ``o3hb``, ``o2hb``, ``n2ha`` (line ratios); ``lya_fesc``; ``sigma_v`` (narrow
    lines, km/s); ``broad_fwhm`` (km/s, 0 = none) and ``broad_ratio`` (broad/narrow Hα);
    ``absorb`` (absorption-line EW scale, Å).
    """

    cols: dict[str, np.ndarray]

    def __post_init__(self) -> None:
        n = len(self.cols["z"])
        for key in _FIELDS:
            if key not in self.cols:
                self.cols[key] = np.full(n, _DEFAULTS[key], dtype=float)
            self.cols[key] = np.asarray(self.cols[key], dtype=float).reshape(n)

    @classmethod
    def single(cls, **params: float) -> Population:
        """A population of one galaxy (unspecified parameters take typical values)."""
        return cls({k: np.array([float(v)]) for k, v in params.items()})

    def __len__(self) -> int:
        return len(self.cols["z"])

    def __getitem__(self, key: str) -> np.ndarray:
        return self.cols[key]

    def take(self, index: Any) -> Population:
        """A sub-population (``index`` as for numpy arrays)."""
        idx = np.atleast_1d(np.arange(len(self))[index])
        return Population({k: v[idx].copy() for k, v in self.cols.items()})

    @staticmethod
    def concatenate(parts: list[Population]) -> Population:
        """Join populations end to end."""
        return Population({k: np.concatenate([p.cols[k] for p in parts]) for k in _FIELDS})


@lru_cache(maxsize=1)
def line_wavelengths() -> np.ndarray:
    """Rest-frame vacuum wavelengths (Å) of :data:`LINES`, read from the real line list."""
    from astropy.table import Table

    table = Table.read(DATA_DIR / "linelist.ecsv", format="ascii.ecsv")
    by_name = {str(n): list(w) for n, w in zip(table["name"], table["wavelength"], strict=True)}
    out = [LYA_VACUUM if key == "lya" else float(by_name[name][i]) for key, name, i in LINES]
    return np.array(out)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _dust(av: np.ndarray, rest_aa: np.ndarray | float) -> np.ndarray:
    """Attenuation factor 10^(-0.4 A_V (λ/5500)^-0.7)."""
    factor: np.ndarray = 10.0 ** (-0.4 * av * (np.maximum(rest_aa, 500.0) / 5500.0) ** -0.7)
    return factor


def _shape_flam(pop: Population, rest: np.ndarray, smooth: np.ndarray | float) -> np.ndarray:
    """Unnormalised rest-frame f_λ of stars + AGN (before the Lyman break)."""
    c = {k: v[:, None] for k, v in pop.cols.items()}
    lx = np.log(rest)
    w_break = np.sqrt(0.02**2 + np.square(smooth))
    ln_f = (
        c["beta"] * (lx - np.log(1500.0))
        + np.log(np.maximum(c["balmer"], 1e-3)) * _sigmoid((lx - np.log(3800.0)) / w_break)
        + (c["gamma"] - c["beta"]) * 0.05 * np.logaddexp(0.0, (lx - np.log(4200.0)) / 0.05)
    )
    stars = np.exp(ln_f) * _dust(c["av"], rest)
    if np.any(c["absorb"] > 0):
        sig = np.sqrt(4.0**2 + np.square(np.asarray(smooth) * rest))
        dip = np.zeros_like(stars)
        for wl, strength in _ABSORPTION:
            depth = c["absorb"] * strength / (np.sqrt(2 * np.pi) * sig)
            dip += depth * np.exp(-0.5 * ((rest - wl) / sig) ** 2)
        stars = stars * np.clip(1.0 - dip, 0.05, 1.0)
    ref = np.exp(
        c["beta"] * np.log(5500.0 / 1500.0)
        + np.log(np.maximum(c["balmer"], 1e-3))
        + (c["gamma"] - c["beta"]) * np.log(5500.0 / 4200.0)
    ) * _dust(c["av"], 5500.0)
    agn = (rest / 5500.0) ** -1.5 * _dust(c["agn_av"], rest) / _dust(c["agn_av"], 5500.0)
    flam: np.ndarray = stars + c["agn_frac"] * ref * agn
    return flam


def _igm(pop: Population, rest: np.ndarray, smooth: np.ndarray | float) -> np.ndarray:
    z = pop["z"][:, None]
    obs = rest * (1.0 + z)
    # Madau-like mean forest opacity, steepening towards reionization (z_abs > 5)
    z_abs = obs / 1216.0 - 1.0
    tau = 0.0036 * (obs / 1216.0) ** 3.46 * (1.0 + np.maximum(z_abs - 5.0, 0.0) ** 2)
    width = np.sqrt(0.002**2 + np.square(smooth))
    forest = _sigmoid((np.log(LYA_VACUUM) - np.log(rest)) / width)
    lyman = _sigmoid((np.log(rest) - np.log(912.0)) / width)
    transmission: np.ndarray = np.exp(-tau * forest) * lyman
    return transmission


def continuum_fnu(
    pop: Population, wave_um: np.ndarray, smooth: np.ndarray | float = 0.0
) -> np.ndarray:
    """Observed continuum f_ν in µJy, shape ``(len(pop), wave.size)``.

    Parameters
    ----------
    pop
        The galaxies.
    wave_um
        Observed wavelengths in µm: shape ``(nwave,)`` shared by all galaxies, or
        ``(len(pop), nwave)``.
    smooth
        The instrument's Gaussian σ in ln λ (scalar or per wavelength); it softens the Lyman
        and Balmer breaks as a line-spread function would.

    Examples
    --------
    >>> pop = Population.single(z=7.0, mag=26.0)
    >>> f = continuum_fnu(pop, np.array([0.85, 0.95, 1.2]))
    >>> bool(f[0, 0] < 0.01 * f[0, 2])     # Lyα is at 0.97 µm: the Gunn-Peterson trough
    True
    """
    z = pop["z"][:, None]
    wave = np.atleast_2d(np.asarray(wave_um, dtype=float))
    rest = wave * 1e4 / (1.0 + z)
    shape = _shape_flam(pop, rest, smooth) * _igm(pop, rest, smooth) * wave**2
    norm_rest = NORM_WAVE_UM * 1e4 / (1.0 + z)
    norm = _shape_flam(pop, norm_rest, 0.0) * _igm(pop, norm_rest, 0.0) * NORM_WAVE_UM**2
    target = 10.0 ** ((23.9 - pop["mag"][:, None]) / 2.5)
    fnu: np.ndarray = shape * (target / np.maximum(norm, 1e-300))
    return fnu


def line_fluxes(pop: Population) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Emission lines of every galaxy.

    Returns
    -------
    rest_aa : ndarray, shape (nlines,)
        Rest-frame vacuum wavelengths in Å (narrow lines, then the broad components).
    flux : ndarray, shape (ngal, nlines)
        Observed line fluxes in erg/s/cm².
    sigma_v : ndarray, shape (ngal, nlines)
        Gaussian velocity dispersion of each line in km/s.
    """
    keys = [k for k, _, _ in LINES]
    lam = dict(zip(keys, line_wavelengths(), strict=True))
    c = pop.cols
    z = c["z"]
    n = len(pop)
    ha_obs_um = lam["ha"] * (1.0 + z) / 1e4
    cont = continuum_fnu(pop, ha_obs_um[:, None])[:, 0]
    flam_obs = cont * FLAM_PER_UJY_UM2 / ha_obs_um**2
    f_ha = c["ew_ha"] * (1.0 + z) * flam_obs  # narrow Hα, after dust

    def k(rest_aa: float) -> float:  # A_λ / A_V
        return float((rest_aa / 5500.0) ** -0.7)

    def red(key: str, av: np.ndarray) -> np.ndarray:  # dust relative to Hα
        return 10.0 ** (-0.4 * av * (k(lam[key]) - k(lam["ha"])))

    hb = f_ha / 2.86 * red("hb", c["av"])
    f: dict[str, np.ndarray] = {"ha": f_ha, "hb": hb}
    for key, ratio in _CASE_B.items():
        if key != "ha":
            f[key] = hb * ratio * red(key, c["av"]) / red("hb", c["av"])
    f["oiii5008"] = hb * c["o3hb"] * red("oiii5008", c["av"]) / red("hb", c["av"])
    f["oiii4960"] = f["oiii5008"] / 2.98
    f["oiii4363"] = f["oiii5008"] * 0.015
    o2 = hb * c["o2hb"] * red("oii3727", c["av"]) / red("hb", c["av"])
    f["oii3727"], f["oii3730"] = o2 / 1.8, o2 * 0.8 / 1.8
    f["neiii3870"] = f["oiii5008"] * 0.07 * red("neiii3870", c["av"]) / red("oiii5008", c["av"])
    f["nii6585"] = f_ha * c["n2ha"]
    f["nii6550"] = f["nii6585"] / 2.94
    f["sii6718"] = f_ha * (0.5 * c["n2ha"] + 0.03)
    f["sii6733"] = f["sii6718"] * 0.75
    f["oi6302"] = f_ha * 0.03
    f["siii9533"] = f_ha * 0.08 * red("siii9533", c["av"])
    f["siii9071"] = f["siii9533"] / 2.44
    agn = c["broad_fwhm"] > 0
    ha_int = f_ha * 10.0 ** (0.4 * c["av"] * k(lam["ha"]))
    f["lya"] = 8.7 * ha_int * c["lya_fesc"] * np.exp(-0.5 * np.maximum(z - 6.0, 0.0))
    uv = hb * 10.0 ** (0.4 * c["av"] * (k(lam["hb"]) - k(1900.0)))  # Hβ seen at 1900 Å
    f["ciii1907"] = uv * 0.1 * c["o3hb"] / 5.0
    f["ciii1909"] = f["ciii1907"] * 0.66
    f["civ1548"] = uv * np.where(agn, 0.3, 0.03)
    f["civ1551"] = f["civ1548"] * 0.51
    f["heii1640"] = uv * np.where(agn, 0.1, 0.02)
    f["mgii2796"] = uv * np.where(agn, 0.3, 0.05)
    f["mgii2804"] = f["mgii2796"] * 0.5
    narrow = np.stack([f[k] for k in keys], axis=1)
    sig_n = np.repeat(c["sigma_v"][:, None], len(keys), axis=1)
    # broad components, reddened by the AGN's own dust, relative to broad Hα
    b_ha = f_ha * c["broad_ratio"] * agn
    broad = [b_ha]
    for key in _BROAD[1:]:
        ratio = (1.0 if key == "hb" else _CASE_B[key]) / 2.86
        broad.append(b_ha * ratio * red(key, c["agn_av"]))
    sig_b = np.repeat((np.maximum(c["broad_fwhm"], 1.0) / 2.354820045)[:, None], len(_BROAD), 1)
    rest = np.concatenate([line_wavelengths(), [lam[k] for k in _BROAD]])
    flux = np.concatenate([narrow, np.stack(broad, axis=1)], axis=1)
    sigma = np.concatenate([sig_n, sig_b], axis=1)
    return rest, np.where(np.isfinite(flux), np.maximum(flux, 0.0), 0.0).reshape(n, -1), sigma


def model_fnu_pixels(
    pop: Population, edges_um: np.ndarray, sigma_instr_um: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Noiseless observed spectra averaged over pixels, continuum and lines separately.

    Parameters
    ----------
    pop
        The galaxies.
    edges_um
        Pixel edges in µm (``npix + 1``).
    sigma_instr_um
        The line-spread σ in µm at each pixel centre.

    Returns
    -------
    continuum, lines : ndarray, shape (ngal, npix)
        f_ν in µJy; each line is a Gaussian (velocity ⊕ instrument) integrated over the pixel.
    """
    from scipy.special import erf

    centre = 0.5 * (edges_um[1:] + edges_um[:-1])
    smooth = sigma_instr_um / centre
    cont = continuum_fnu(pop, centre, smooth)
    rest, flux, sig_v = line_fluxes(pop)
    z = pop["z"][:, None]
    lam_obs = rest[None, :] * (1.0 + z) / 1e4  # (ngal, nlines) µm
    instr = np.interp(lam_obs, centre, sigma_instr_um)
    sigma = np.sqrt((lam_obs * sig_v / C_KMS) ** 2 + instr**2)
    inside = (lam_obs > edges_um[0] - 5 * sigma) & (lam_obs < edges_um[-1] + 5 * sigma)
    inside &= flux > 0
    lines = np.zeros_like(cont)
    width_aa = np.diff(edges_um) * 1e4
    for g, j in zip(*np.nonzero(inside), strict=True):
        lo = np.searchsorted(edges_um, lam_obs[g, j] - 6 * sigma[g, j])
        hi = np.searchsorted(edges_um, lam_obs[g, j] + 6 * sigma[g, j]) + 1
        lo, hi = max(lo - 1, 0), min(hi, edges_um.size)
        e = edges_um[lo:hi]
        cdf = 0.5 * erf((e - lam_obs[g, j]) / (np.sqrt(2.0) * sigma[g, j]))
        flam = flux[g, j] * np.diff(cdf) / width_aa[lo : hi - 1]
        lines[g, lo : hi - 1] += flam * centre[lo : hi - 1] ** 2 / FLAM_PER_UJY_UM2
    return cont, lines
