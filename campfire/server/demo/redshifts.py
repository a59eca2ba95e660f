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

import numpy as np

from campfire.server.demo.dispersers import Disperser
from campfire.server.demo.templates import design, normal_equations

__all__ = ["RedshiftFit", "fit_redshift"]

Z_MIN, Z_MAX = 0.2, 12.5
COARSE_STEP, FINE_STEP, FINE_HALF = 0.005, 0.0003, 0.006


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


def _solve(m: np.ndarray, b: np.ndarray, yy: float) -> tuple[np.ndarray, np.ndarray]:
    """Non-negative weighted least squares at every z: (chi2 (nz,), coefficients (nz, k)).

    ``m`` and ``b`` are the normal equations (nz, k, k) and (nz, k); ``yy`` is ``Σ w y²``.
    Templates with a negative amplitude are dropped and the rest solved again (at most four
    solves); a row is solved again only while it has a negative amplitude, which gives what
    solving every row every time gives.
    """
    k = m.shape[-1]
    eye = np.eye(k)
    diag = np.einsum("zkk->zk", m)
    active = diag > 1e-8 * diag.max(axis=1, keepdims=True)  # templates the data constrain
    m = m + eye * (1e-9 * diag)[:, :, None]  # a whisker of ridge: collinear templates stay solvable
    coef = np.zeros_like(b)
    rows = np.arange(b.shape[0])
    for _ in range(4):
        act = active[rows]
        mm = np.where(act[:, :, None] & act[:, None, :], m[rows], 0.0) + eye * (~act)[:, :, None]
        sol = np.linalg.solve(mm, np.where(act, b[rows], 0.0)[..., None])[..., 0]
        coef[rows] = sol
        neg = act & (sol < 0)
        again = neg.any(axis=1)
        if not again.any():
            break
        active[rows] = act & ~neg
        rows = rows[again]
    coef = np.where(active, coef, 0.0)
    chi2 = yy - np.sum(coef * b, axis=1)
    return chi2, coef


def _scan(
    wave: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    disperser: Disperser,
    z: np.ndarray,
    extra: float,
    keep: bool = False,
) -> np.ndarray:
    """χ² at every trial redshift, from the normal equations of the line windows."""
    m, b = normal_equations(wave, z, disperser, extra, w, y, keep=keep)
    chi2, _ = _solve(m, b, float(np.sum(w * y * y)))
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
    # every spectrum with no pixel masked shares the coarse pass's spectrum-independent part
    chi_c = _scan(wv, y, w, disperser, zc, COARSE_STEP, keep=bool(valid.all()))
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
    full = design(wave, np.array([zbest, z_try]), disperser, extra)
    dv = full[:, :, valid] * np.sqrt(w)
    chi_pair, coef = _solve(
        np.matmul(dv, dv.transpose(0, 2, 1)), dv @ (y * np.sqrt(w)), float(np.sum(w * y * y))
    )
    k = 1 if chi_pair[1] < chi_pair[0] else 0  # keep the refinement only when it fits better
    zbest, chi2min, model = [zbest, z_try][k], float(chi_pair[k]), coef[k] @ full[k]
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
