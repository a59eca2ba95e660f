"""``_zfit.fits``: a real template fit whose χ² minimum sits at the true redshift."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits

from campfire.server.demo.dispersers import get_disperser
from campfire.server.demo.redshifts import fit_redshift
from campfire.server.demo.sed import Population
from campfire.server.demo.spectra import observe

CLEAN_MASK = 2 | 8 | 64 | 128 | 256  # contamination, multiple sources, overlap, corrupted


def _zfit(spec_path):
    return spec_path.with_name(spec_path.name.replace("_spec.fits", "_zfit.fits"))


def test_zfit_layout(spec_files):
    with fits.open(_zfit(spec_files[0])) as hdul:
        assert [h.name for h in hdul][:3] == ["PRIMARY", "MODEL", "CHI2"]
        head = hdul[0].header
        for key in ("ZBEST", "ZQUAL", "ZCONF", "CHI2MIN", "ZBEST_C"):
            assert key in head
        assert 0 <= head["ZCONF"] <= 1 and head["ZQUAL"] in (0, 1, 2, 3)
        assert set(hdul["MODEL"].columns.names) == {"wav", "fnu"}
        assert set(hdul["CHI2"].columns.names) == {"z", "chi2"}
        z = hdul["CHI2"].data["z"]
        assert np.all(np.diff(z) >= 0) and z[0] < 0.5 and z[-1] > 10


def test_chi2_minimum_sits_at_the_true_redshift_for_good_spectra(spec_files, truth):
    by_target = {(r["observation"], int(r["source_id"])): r for r in truth}
    good = hits = 0
    for path in spec_files:
        head = fits.getheader(path)
        obs = path.parent.name
        row = by_target[(obs, head["SOURCEID"])]
        tab = fits.getdata(path, "SPEC1D")
        ok = tab["fnu_err"] > 0
        snr = np.median(tab["fnu"][ok] / tab["fnu_err"][ok])
        if head["GRATING"] != "PRISM" or snr < 8 or head["CMPFRDQ"] & CLEAN_MASK:
            continue
        if row["kind"] not in ("sf", "lae", "lrd", "blagn"):  # line emitters
            continue
        good += 1
        with fits.open(_zfit(path)) as hdul:
            chi2 = hdul["CHI2"].data
            z_min = chi2["z"][np.argmin(chi2["chi2"])]
            zbest = hdul[0].header["ZBEST"]
        assert abs(zbest - z_min) < 0.002 * (1 + z_min)  # ZBEST is the curve's minimum
        if abs(z_min - row["z"]) < 0.005 * (1 + row["z"]):
            hits += 1
    assert good >= 8
    assert hits >= 0.85 * good


@pytest.mark.parametrize(
    ("grating", "filt", "z"), [("PRISM", "CLEAR", 2.3), ("G395M", "F290LP", 5.6)]
)
def test_fit_recovers_redshift_and_reports_confidence(grating, filt, z):
    disp = get_disperser(grating, filt)
    gal = Population.single(z=z, mag=24.5, ew_ha=400.0, o3hb=4.0)
    spec = observe(gal, disp, 8000.0, np.random.default_rng(7), msa_x=-1.0)
    fit = fit_redshift(spec.wave, spec.fnu, spec.fnu_err, disp)
    assert fit.zbest == pytest.approx(z, abs=0.001 * (1 + z))
    assert fit.zqual == 3 and fit.zconf > 0.95
    # the best model follows the data far better than the best constant does
    ok = spec.valid
    w = 1 / spec.fnu_err[ok] ** 2
    const = np.sum(w * spec.fnu[ok]) / np.sum(w)
    chi2_model = np.sum(w * (spec.fnu[ok] - fit.model_fnu[ok]) ** 2)
    assert chi2_model < 0.1 * np.sum(w * (spec.fnu[ok] - const) ** 2)
    assert fit.chi2min == pytest.approx(chi2_model, rel=1e-6)


def test_pure_noise_gives_an_unconfident_fit():
    disp = get_disperser("PRISM", "CLEAR")
    rng = np.random.default_rng(3)
    err = np.full(disp.wave.size, 0.05)
    fit = fit_redshift(disp.wave, err * rng.standard_normal(err.size), err, disp)
    assert fit.zqual < 3 or fit.zconf < 0.95


def test_a_spectrum_without_usable_pixels_is_a_failed_fit():
    disp = get_disperser("PRISM", "CLEAR")
    zeros = np.zeros(disp.wave.size)
    fit = fit_redshift(disp.wave, zeros, zeros, disp)
    assert fit.zqual == 0 and not np.isfinite(fit.zbest)
