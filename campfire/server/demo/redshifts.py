"""Redshift fits for the synthetic demo archive: a real template fit over a redshift grid.

At each trial redshift the spectrum is fitted (weighted linear least squares, with negative
amplitudes dropped, so non-negative) by a small basis:

* continuum: for the PRISM, five rest-frame shapes that move with ``z`` (flat f_ν above Lyα,
  the Lyα-forest range alone, a Balmer/4000 Å step, a red and a blue power law); for
  gratings, whose narrow range carries little continuum shape, a quadratic in λ;
* emission-line groups at the line list's vacuum wavelengths: Hα+[NII]+[SII], Hβ and the
  higher Balmer lines, [OIII], [OII]+[NeIII], Lyα, UV lines, Paschen+[SIII]+He I, and broad
  (FWHM 3000 km/s) Balmer/Paschen lines. Each line is a Gaussian of the disperser's resolution
  ⊕ 100 km/s.

A coarse pass (steps of 0.005 in ln(1+z), lines broadened to the step) covers 0.2 < z < 12.5;
a fine pass (steps of 0.0003, true widths, parabolic refinement) explores the three best
coarse minima. The χ² curve
(both passes merged), the best model and ``ZBEST``/``ZBEST_C``/``CHI2MIN``/``ZCONF``/``ZQUAL``
go into the ``_zfit.fits`` file (data-formats section 0.3).

``ZCONF`` is the posterior probability (``∝ exp(-χ²/2)`` over the merged grid) within
±0.01 in ln(1+z) of ``ZBEST``. ``ZQUAL``: 3 = confident (``ZCONF`` > 0.95 and the next distinct
minimum is Δχ² > 25 worse), 2 = likely (``ZCONF`` > 0.6), 1 = ambiguous, 0 = no usable pixels.

Examples
--------
>>> from campfire.server.demo.dispersers import get_disperser
>>> from campfire.server.demo.sed import Population
>>> from campfire.server.demo.spectra import observe
>>> d = get_disperser("PRISM", "CLEAR")
>>> s = observe(Population.single(z=3.2, mag=23.5, ew_ha=400.0), d, 6000.0,
...             np.random.default_rng(2))
>>> fit = fit_redshift(s.wave, s.fnu, s.fnu_err, d)
>>> abs(fit.zbest - 3.2) < 0.01
True
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from campfire.server.demo.dispersers import Disperser
from campfire.server.demo.sed import C_KMS, LINES, line_wavelengths

__all__ = ["RedshiftFit", "fit_redshift"]

Z_MIN, Z_MAX = 0.2, 12.5
COARSE_STEP, FINE_STEP, FINE_HALF = 0.005, 0.0003, 0.006
SIGMA_V = 100.0 / C_KMS
BROAD_SIGMA_V = 3000.0 / 2.3548 / C_KMS
_CHUNK = 160

# line groups: (name, [(line key, relative strength)], broad?)
_GROUPS: tuple[tuple[str, tuple[tuple[str, float], ...], bool], ...] = (
    (
        "ha",
        (("ha", 1.0), ("nii6585", 0.12), ("nii6550", 0.04), ("sii6718", 0.07), ("sii6733", 0.05)),
        False,
    ),
    ("balmer", (("hb", 1.0), ("hg", 0.47), ("hd", 0.26), ("h7", 0.16), ("h8", 0.1)), False),
    ("oiii", (("oiii5008", 1.0), ("oiii4960", 1 / 2.98), ("oiii4363", 0.02)), False),
    ("oii", (("oii3727", 1.0), ("oii3730", 0.8), ("neiii3870", 0.3)), False),
    ("lya", (("lya", 1.0),), False),
    (
        "uv",
        (
            ("ciii1907", 1.0),
            ("ciii1909", 0.66),
            ("civ1548", 0.5),
            ("civ1551", 0.25),
            ("heii1640", 0.3),
            ("mgii2796", 0.5),
            ("mgii2804", 0.25),
        ),
        False,
    ),
    (
        "nir",
        (
            ("paa", 1.0),
            ("pab", 0.47),
            ("pag", 0.26),
            ("pad", 0.16),
            ("siii9533", 0.5),
            ("siii9071", 0.2),
            ("hei10830", 0.6),
        ),
        False,
    ),
    ("broad", (("ha", 1.0), ("hb", 0.2), ("pab", 0.1), ("paa", 0.2)), True),
)


@dataclass
class RedshiftFit:
    """The result of :func:`fit_redshift` (what a ``_zfit.fits`` file holds)."""

    zbest: float
    zbest_coarse: float
    chi2min: float
    zconf: float
    zqual: int
    z_grid: np.ndarray
    chi2_grid: np.ndarray
    model_wave: np.ndarray
    model_fnu: np.ndarray
    npix: int


@lru_cache(maxsize=1)
def _line_table() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every line of every group: (ln rest λ [µm], amplitude, group index, σ_v in ln λ)."""
    lam = dict(zip([k for k, _, _ in LINES], line_wavelengths(), strict=True))
    rows = [
        (np.log(lam[k] * 1e-4), a, g, BROAD_SIGMA_V if broad else SIGMA_V)
        for g, (_, members, broad) in enumerate(_GROUPS)
        for k, a in members
    ]
    ln_rest, amp, group, sig_v = (np.array(c) for c in zip(*rows, strict=True))
    return ln_rest, amp, group.astype(int), sig_v


def _continuum(wave: np.ndarray, z: np.ndarray, disperser: Disperser) -> np.ndarray:
    """Continuum basis, shape (nz, ncont, npix)."""
    if not disperser.is_prism:
        lo, hi = disperser.wave[0], disperser.wave[-1]
        x = (2.0 * wave - (lo + hi)) / (hi - lo)
        basis = np.stack([np.ones_like(x), x, 1.5 * x**2 - 0.5], axis=0)
        return np.broadcast_to(basis, (z.size, *basis.shape))
    lnrest = np.log(wave * 1e4)[None, :] - np.log1p(z)[:, None]

    def step(centre: float, width: float) -> np.ndarray:
        rise: np.ndarray = 0.5 * (1.0 + np.tanh((lnrest - np.log(centre)) / width))
        return rise

    above_lya = step(1216.0, 0.01)
    forest = step(912.0, 0.01) * (1.0 - above_lya)
    balmer = step(3800.0, 0.03) * above_lya
    red = np.exp(2.0 * (lnrest - np.log(5000.0))) * above_lya
    blue = np.exp(-1.0 * (lnrest - np.log(1500.0))) * above_lya
    return np.stack([above_lya, forest, balmer, red, blue], axis=1)


def _design(
    wave: np.ndarray, z: np.ndarray, disperser: Disperser, extra_sigma_ln: float
) -> np.ndarray:
    """Design matrices, shape (nz, ntemplates, npix)."""
    cont = _continuum(wave, z, disperser)
    nc, nw = cont.shape[1], wave.size
    shape = (z.size, nc + len(_GROUPS), nw)
    ln_rest, amp, group, sig_v = _line_table()
    lnw = np.log(wave)
    dln = np.gradient(lnw)
    base2 = (disperser.sigma_um(wave) / wave) ** 2 + extra_sigma_ln**2 + dln**2 / 12.0
    centre = ln_rest[None, :] + np.log1p(z)[:, None]  # (nz, nlines)
    zi, li = np.nonzero((centre > lnw[0] - 0.05) & (centre < lnw[-1] + 0.05))
    if zi.size == 0:
        out = np.zeros(shape)
        out[:, :nc, :] = cont
        return out
    c = centre[zi, li]
    pix = np.clip(np.searchsorted(lnw, c), 0, nw - 1)
    # a window of ±5σ around each line, ragged: one entry per (z, line, pixel)
    half = np.ceil(5.0 * np.sqrt(base2[pix] + sig_v[li] ** 2) / dln[pix]).astype(int) + 1
    counts = 2 * half + 1
    k = np.repeat(np.arange(zi.size), counts)
    starts = np.cumsum(counts) - counts
    cols = pix[k] - half[k] + (np.arange(k.size) - starts[k])
    ok = (cols >= 0) & (cols < nw)
    k, cols = k[ok], cols[ok]
    s = np.sqrt(base2[cols] + sig_v[li[k]] ** 2)
    val = amp[li[k]] * np.exp(-0.5 * ((lnw[cols] - c[k]) / s) ** 2) / s * dln[cols]
    flat = (zi[k] * shape[1] + nc + group[li[k]]) * nw + cols
    out = np.bincount(flat, weights=val, minlength=int(np.prod(shape))).reshape(shape)
    out[:, :nc, :] = cont
    return out


def _solve(design: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Non-negative weighted least squares at every z: (chi2 (nz,), coefficients (nz, k)).

    ``design`` is scaled in place by ``sqrt(w)``.
    """
    sw = np.sqrt(w)
    design *= sw
    m = np.matmul(design, design.transpose(0, 2, 1))  # (nz, k, k)
    b = design @ (y * sw)
    k = m.shape[-1]
    eye = np.eye(k)
    active = np.ones(b.shape, dtype=bool)
    diag = np.einsum("zkk->zk", m)
    active &= diag > 1e-8 * diag.max(axis=1, keepdims=True)  # templates the data constrain
    m = m + eye * (1e-9 * diag)[:, :, None]  # a whisker of ridge: collinear templates stay solvable
    coef = np.zeros_like(b)
    for _ in range(4):
        mask2 = active[:, :, None] & active[:, None, :]
        mm = np.where(mask2, m, 0.0) + eye * (~active)[:, :, None]
        bb = np.where(active, b, 0.0)
        coef = np.linalg.solve(mm, bb[..., None])[..., 0]
        neg = active & (coef < 0)
        if not neg.any():
            break
        active &= ~neg
    coef = np.where(active, coef, 0.0)
    chi2 = float(np.sum(w * y * y)) - np.sum(coef * b, axis=1)
    return chi2, coef


def _scan(
    wave: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    disperser: Disperser,
    z: np.ndarray,
    extra: float,
) -> np.ndarray:
    """χ² at every trial redshift, in chunks that bound memory."""
    chi2 = np.empty(z.size)
    for lo in range(0, z.size, _CHUNK):
        sl = slice(lo, lo + _CHUNK)
        chi2[sl], _ = _solve(_design(wave, z[sl], disperser, extra), y, w)
    return chi2


def _minima(chi2: np.ndarray, n: int, sep: int) -> list[int]:
    """Indices of the ``n`` lowest local minima at least ``sep`` samples apart."""
    order = np.argsort(chi2)
    picked: list[int] = []
    for i in order:
        if all(abs(int(i) - j) > sep for j in picked):
            picked.append(int(i))
        if len(picked) == n:
            break
    return picked


def fit_redshift(
    wave: np.ndarray, fnu: np.ndarray, fnu_err: np.ndarray, disperser: Disperser
) -> RedshiftFit:
    """Fit a spectrum's redshift by χ² minimisation over a template grid.

    Parameters
    ----------
    wave, fnu, fnu_err
        The 1D spectrum (µm, µJy, µJy); pixels with non-finite values, ``err <= 0`` or
        ``fnu == 0`` are ignored.
    disperser
        Its configuration (line widths come from its resolution curve).
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        valid = np.isfinite(fnu) & np.isfinite(fnu_err) & (fnu_err > 0) & (fnu != 0)
        valid &= np.isfinite(1.0 / fnu_err**2)
    if valid.sum() < 20:
        z = np.array([Z_MIN, Z_MAX])
        return RedshiftFit(
            np.nan,
            np.nan,
            np.nan,
            0.0,
            0,
            z,
            np.full(2, np.nan),
            wave,
            np.zeros_like(wave),
            int(valid.sum()),
        )
    wv, y = wave[valid], fnu[valid]
    w = 1.0 / fnu_err[valid] ** 2
    zc = np.expm1(np.arange(np.log1p(Z_MIN), np.log1p(Z_MAX), COARSE_STEP))
    chi_c = _scan(wv, y, w, disperser, zc, COARSE_STEP)
    best_c = _minima(chi_c, 3, int(0.02 / COARSE_STEP))
    fine_z, fine_chi, fine_broad = [], [], []
    for i in best_c:
        lz = np.log1p(zc[i])
        zf = np.expm1(np.arange(lz - FINE_HALF, lz + FINE_HALF + FINE_STEP / 2, FINE_STEP))
        # true line widths, and the coarse pass's broadened ones (broad or blended lines)
        sharp, broad = (
            _scan(wv, y, w, disperser, zf, 0.0),
            _scan(wv, y, w, disperser, zf, COARSE_STEP),
        )
        fine_z.append(zf)
        fine_chi.append(np.minimum(sharp, broad))
        fine_broad.append(broad < sharp)
    zf_all, chi_f = np.concatenate(fine_z), np.concatenate(fine_chi)
    j = int(np.argmin(chi_f))
    zbest, chi2min = float(zf_all[j]), float(chi_f[j])
    extra = COARSE_STEP if np.concatenate(fine_broad)[j] else 0.0
    z_try = zbest
    lz3 = np.log1p(zf_all[max(j - 1, 0) : j + 2])
    if 0 < j < zf_all.size - 1 and np.allclose(np.diff(lz3), FINE_STEP, rtol=0.01):
        c0, c1, c2 = chi_f[j - 1 : j + 2]
        denom = c0 - 2 * c1 + c2
        if denom > 0:  # the vertex of the parabola through the three lowest points
            shift = float(np.clip(0.5 * (c0 - c2) / denom, -1.0, 1.0)) * FINE_STEP
            z_try = float(np.expm1(lz3[1] + shift))
    design = _design(wave, np.array([zbest, z_try]), disperser, extra)
    chi_pair, coef = _solve(design[:, :, valid].copy(), y, w)
    k = 1 if chi_pair[1] < chi_pair[0] else 0  # keep the refinement only when it fits better
    zbest, chi2min, model = [zbest, z_try][k], float(chi_pair[k]), coef[k] @ design[k]
    model = np.where(valid, model, np.nan)  # no model where no data constrained it
    if k:
        zf_all, chi_f = np.append(zf_all, zbest), np.append(chi_f, chi2min)
    z_all = np.concatenate([zc, zf_all])
    c_all = np.concatenate([chi_c, chi_f])
    order = np.argsort(z_all, kind="stable")
    z_all, c_all = z_all[order], c_all[order]
    # confidence: the posterior exp(-chi2/2) over both passes, each point weighted by its step
    lz = np.log1p(z_all)
    post = np.exp(-0.5 * np.minimum(c_all - chi2min, 1400.0)) * np.gradient(lz)
    zconf = float(post[np.abs(lz - np.log1p(zbest)) < 0.01].sum() / post.sum())
    others = [
        float(c.min())
        for zf, c in zip(fine_z, fine_chi, strict=True)
        if abs(np.log1p(zf[zf.size // 2]) - np.log1p(zbest)) > 0.02
    ]
    gap = min(others) - chi2min if others else np.inf
    zqual = 3 if (zconf > 0.95 and gap > 25.0) else 2 if zconf > 0.6 else 1
    return RedshiftFit(
        zbest=zbest,
        zbest_coarse=float(zc[int(np.argmin(chi_c))]),
        chi2min=chi2min,
        zconf=zconf,
        zqual=zqual,
        z_grid=z_all,
        chi2_grid=c_all,
        model_wave=wave,
        model_fnu=model,
        npix=int(valid.sum()),
    )
