"""The redshift fit's χ² scan from the line windows' normal equations equals a plain fit.

The reference below builds the design matrix of one trial redshift line by line, with the
same templates and the same ±5σ windows, and solves the same non-negative least squares by
``np.linalg.lstsq`` on the templates left after dropping negative amplitudes (at most four
solves), with the fit's ridge of 1e-9 of each template's weight. The fast scan (normal
equations summed from the windows, kept between spectra, solved for every trial z at once)
must give its χ² to a relative 1e-8; the fit's ``ZBEST`` must sit at the reference curve's
minimum over the fine grid.
"""

from __future__ import annotations

import numpy as np
import pytest

from campfire.server.demo import redshifts, templates
from campfire.server.demo.dispersers import Disperser, get_disperser
from campfire.server.demo.sed import Population
from campfire.server.demo.spectra import observe

RTOL = 1e-8


def _reference_design(wave: np.ndarray, z: float, disp: Disperser, extra: float) -> np.ndarray:
    """The design matrix at one z (templates × pixels), one line at a time."""
    ln_rest, amp, group, sig_v = templates._line_table()
    cont = templates.continuum(wave, np.array([z]), disp)[0]
    nc, nw = cont.shape[0], wave.size
    out = np.zeros((nc + len(templates.GROUPS), nw))
    out[:nc] = cont
    lnw = np.log(wave)
    dln = np.gradient(lnw)
    base2 = (disp.sigma_um(wave) / wave) ** 2 + extra**2 + dln**2 / 12.0
    for li in range(ln_rest.size):
        centre = ln_rest[li] + np.log1p(z)
        if not lnw[0] - 0.05 < centre < lnw[-1] + 0.05:
            continue
        pix = min(int(np.searchsorted(lnw, centre)), nw - 1)
        half = int(np.ceil(5.0 * np.sqrt(base2[pix] + sig_v[li] ** 2) / dln[pix])) + 1
        for p in range(max(pix - half, 0), min(pix + half + 1, nw)):
            s = np.sqrt(base2[p] + sig_v[li] ** 2)
            profile = np.exp(-0.5 * ((lnw[p] - centre) / s) ** 2) / s * dln[p]
            out[nc + group[li], p] += amp[li] * profile
    return out


def _reference_chi2(wave, y, w, disp, z: float, extra: float) -> float:
    d = _reference_design(wave, z, disp, extra)
    sw = np.sqrt(w)
    diag = np.sum(d * d * w, axis=1)
    active = diag > 1e-8 * diag.max()
    ridge = 1e-9 * diag  # the fit's whisker of ridge: it minimises χ² + Σ ridge·a²
    for _ in range(4):
        coef = np.zeros(d.shape[0])
        a = np.vstack([(d[active] * sw).T, np.diag(np.sqrt(ridge[active]))])
        rhs = np.concatenate([y * sw, np.zeros(active.sum())])
        coef[active] = np.linalg.lstsq(a, rhs, rcond=None)[0]
        if not (coef < 0).any():
            break
        active &= coef >= 0
    coef[~active] = 0.0
    return float(np.sum(w * (y - coef @ d) ** 2) + np.sum(ridge * coef**2))


def _spectrum(grating: str, filt: str, z: float, mag: float, msa_x: float, seed: int):
    disp = get_disperser(grating, filt)
    gal = Population.single(z=z, mag=mag, ew_ha=300.0, o3hb=3.0)
    spec = observe(gal, disp, 5000.0, np.random.default_rng(seed), msa_x=msa_x)
    ok = spec.valid & (spec.fnu != 0)
    return disp, spec, ok


CASES = [
    ("PRISM", "CLEAR", 2.7, 23.0, 0.0, 1),  # bright: continuum and lines both matter
    ("PRISM", "CLEAR", 7.1, 27.0, 0.0, 2),  # faint, high z
    ("G395M", "F290LP", 5.4, 24.0, 0.35, 3),  # a chip gap inside the spectrum
]


@pytest.mark.parametrize(("grating", "filt", "z", "mag", "msa_x", "seed"), CASES)
def test_scan_matches_a_line_by_line_fit(grating, filt, z, mag, msa_x, seed):
    disp, spec, ok = _spectrum(grating, filt, z, mag, msa_x, seed)
    wv, y, w = spec.wave[ok], spec.fnu[ok], 1.0 / spec.fnu_err[ok] ** 2
    if grating != "PRISM":
        assert ok.sum() < spec.wave.size  # the gap is masked: windows stop at its edges
    zc = np.expm1(np.arange(np.log1p(redshifts.Z_MIN), np.log1p(redshifts.Z_MAX), 0.005))
    for extra in (redshifts.COARSE_STEP, 0.0):
        # twice: the second scan reuses the kept spectrum-independent part
        fast = redshifts._scan(wv, y, w, disp, zc, extra, keep=True)
        again = redshifts._scan(wv, y, w, disp, zc, extra, keep=True)
        np.testing.assert_array_equal(fast, again)
        picks = np.unique(np.r_[np.arange(0, zc.size, 37), np.argmin(fast)])
        ref = np.array([_reference_chi2(wv, y, w, disp, zc[i], extra) for i in picks])
        np.testing.assert_allclose(fast[picks], ref, rtol=RTOL)


@pytest.mark.parametrize(("grating", "filt", "z", "mag", "msa_x", "seed"), CASES[::2])
def test_zbest_is_the_reference_curves_minimum(grating, filt, z, mag, msa_x, seed):
    disp, spec, ok = _spectrum(grating, filt, z, mag, msa_x, seed)
    fit = redshifts.fit_redshift(spec.wave, spec.fnu, spec.fnu_err, disp)
    wv, y, w = spec.wave[ok], spec.fnu[ok], 1.0 / spec.fnu_err[ok] ** 2
    lz = np.log1p(fit.zbest)
    step = redshifts.FINE_STEP
    zf = np.expm1(lz + step * np.arange(-3, 4))
    ref = [
        min(_reference_chi2(wv, y, w, disp, zz, 0.0), _reference_chi2(wv, y, w, disp, zz, 0.005))
        for zz in zf
    ]
    assert int(np.argmin(ref)) == 3  # no neighbour on the fine grid fits better
    assert fit.zbest == pytest.approx(z, abs=0.002 * (1 + z))
    on_grid = fit.chi2_grid[np.argmin(np.abs(fit.z_grid - fit.zbest))]
    assert on_grid == pytest.approx(ref[3], rel=1e-6)  # the curve's value at ZBEST
