"""Calibration against photometry: an injected smooth multiplier must be recovered."""

import numpy as np
import pytest

from campfire import (
    CalibrationResult,
    SpectrumData,
    StackResult,
    calibrate_and_stack,
    calibrate_to_photometry,
)
from campfire.errors import ValidationError
from campfire.models.object import Photometry, Spectrum, SpectrumCollection

BANDS = ["f090w", "f115w", "f150w", "f200w", "f277w", "f356w", "f410m", "f444w"]


def _truth(wave):
    """A smooth galaxy-like continuum with a break and two emission lines, in µJy."""
    cont = 0.4 + 0.8 / (1 + np.exp(-(wave - 1.6) / 0.1)) + 0.15 * wave
    lines = 3.0 * np.exp(-0.5 * ((wave - 1.753) / 0.01) ** 2)
    lines += 2.0 * np.exp(-0.5 * ((wave - 2.297) / 0.012) ** 2)
    return cont + lines


def _true_photometry(bands, sedpy_curve, err_frac=0.02):
    """Band averages of the truth on a very fine grid, by hand from the sedpy files."""
    fine = np.linspace(0.5, 5.5, 200_000)
    f = _truth(fine)
    flux = []
    pivots = []
    for b in bands:
        fw, ft = sedpy_curve(f"jwst_{b}")
        t = np.interp(fine, fw, ft, left=0, right=0)
        flux.append(np.trapezoid(t * f / fine, fine) / np.trapezoid(t / fine, fine))
        pivots.append(np.sqrt(np.trapezoid(ft * fw, fw) / np.trapezoid(ft / fw, fw)))
    flux = np.array(flux)
    return Photometry(bands, flux, err_frac * flux, np.array(pivots), catalog="truth")


def _observed(wave, multiplier, sigma=0.01, seed=0):
    rng = np.random.default_rng(seed)
    flux = _truth(wave) / multiplier + rng.normal(0, sigma, wave.size)
    return SpectrumData(wave, flux, np.full(wave.size, sigma), grating="PRISM", spectrum_id="x")


WAVE = 0.6 + 4.7 * np.linspace(0, 1, 435) ** 1.5


def test_injected_smooth_multiplier_is_recovered_within_two_percent(sedpy_curve):
    phot = _true_photometry(BANDS, sedpy_curve)
    x = (WAVE - 3.0) / 2.4
    m_true = 0.55 * (1 + 0.25 * x - 0.15 * x**2 + 0.05 * x**3)  # smooth, slit-loss-like
    res = calibrate_to_photometry(_observed(WAVE, m_true), phot)
    assert isinstance(res, CalibrationResult)
    assert res.bands_used == BANDS and res.degree == 3 and res.method == "chebyshev"
    lo, hi = res.wave_range
    span = (lo <= WAVE) & (hi >= WAVE)
    assert span.sum() > 0.8 * WAVE.size
    # the spectrum was divided by m_true, so the recovered multiplier is m_true
    np.testing.assert_allclose(res.multiplier[span], m_true[span], rtol=0.02)
    np.testing.assert_allclose(res.spectrum.fnu[span], _truth(WAVE)[span], rtol=0.05, atol=0.03)
    np.testing.assert_allclose(res.synthetic_after, phot.flux, rtol=0.02)
    # errors scale with the multiplier and f_λ follows f_ν
    np.testing.assert_allclose(res.spectrum.fnu_err, res.original.fnu_err * res.multiplier)
    np.testing.assert_allclose(res.spectrum.flam, res.spectrum.fnu * 2.99792458e-19 / WAVE**2)
    assert res.original.fnu[0] == _observed(WAVE, m_true).fnu[0]  # input untouched


def test_flat_method_is_one_scale_factor(sedpy_curve):
    phot = _true_photometry(BANDS, sedpy_curve)
    res = calibrate_to_photometry(_observed(WAVE, 2.0, sigma=1e-4), phot, method="flat")
    assert res.degree == 0
    np.testing.assert_allclose(res.multiplier, res.multiplier[0])
    assert res.multiplier[0] == pytest.approx(2.0, rel=0.005)


def test_automatic_band_choice_skips_what_cannot_constrain(sedpy_curve):
    phot = _true_photometry(BANDS, sedpy_curve)
    wave = np.linspace(1.0, 5.3, 400)  # F090W is not covered
    names = [*phot.bands, "acs_f435w", "irac_ch1", "f480m"]
    flux = np.concatenate([phot.flux, [1.0, 1.0, 1.0]])
    err = np.concatenate([phot.flux_err, [0.1, 0.1, 50.0]])  # f480m: S/N 0.02
    wav = np.concatenate([phot.wavelength, [0.43, 3.6, 4.8]])
    phot2 = Photometry(names, flux, err, wav)
    res = calibrate_to_photometry(_observed(wave, 1.0), phot2)
    assert res.bands_used == BANDS[1:]
    assert set(res.skipped) == {"f090w", "acs_f435w", "irac_ch1", "f480m"}
    assert "covers" in res.skipped["f090w"] and "S/N" in res.skipped["f480m"]
    assert "filter curve" in res.skipped["irac_ch1"]


def test_explicit_bands_and_degree_capped_by_band_count(sedpy_curve):
    phot = _true_photometry(BANDS, sedpy_curve)
    res = calibrate_to_photometry(_observed(WAVE, 1.3), phot, bands=["F150W", "jwst_f444w"])
    assert res.bands_used == ["f150w", "f444w"] and res.degree == 1
    with pytest.raises(ValidationError, match="not in the photometry"):
        calibrate_to_photometry(_observed(WAVE, 1.0), phot, bands=["f070w"])
    short = SpectrumData(np.linspace(2.0, 5.0, 200), np.ones(200), np.full(200, 0.1))
    with pytest.raises(ValidationError, match="cannot be used"):
        calibrate_to_photometry(short, phot, bands=["f115w"])


def test_no_usable_band_and_bad_arguments_are_clear_errors(sedpy_curve):
    phot = _true_photometry(["f444w"], sedpy_curve)
    blue = SpectrumData(np.linspace(0.7, 1.5, 100), np.ones(100), np.full(100, 0.1))
    with pytest.raises(ValidationError, match="no photometric band"):
        calibrate_to_photometry(blue, phot)
    with pytest.raises(ValidationError, match="chebyshev"):
        calibrate_to_photometry(blue, phot, method="spline")
    with pytest.raises(ValidationError, match="degree"):
        calibrate_to_photometry(blue, phot, degree=-1)
    with pytest.raises(ValidationError, match="needs photometry"):
        calibrate_to_photometry(blue, None)


def test_spectrum_rows_with_open_are_accepted(sedpy_curve):
    phot = _true_photometry(BANDS, sedpy_curve)
    data = _observed(WAVE, 1.5, sigma=1e-4)
    row = Spectrum("x_prism_clear_1", "PRISM", opener=lambda s: data)
    res = calibrate_to_photometry(row, phot, method="flat")
    assert res.original is data and res.multiplier[0] == pytest.approx(1.5, rel=0.005)


def test_calibrate_and_stack_recovers_the_truth(sedpy_curve):
    phot = _true_photometry(BANDS, sedpy_curve)
    x = (WAVE - 3.0) / 2.4
    mults = [0.5 * (1 + 0.2 * x), 0.7 * (1 - 0.1 * x + 0.05 * x**2), np.full(WAVE.size, 0.9)]
    datas = {f"s{k}": _observed(WAVE, m, sigma=0.03, seed=k) for k, m in enumerate(mults)}
    coll = SpectrumCollection(
        [Spectrum(sid, "PRISM", object_id="o1", opener=lambda s: datas[s.spectrum_id])
         for sid in datas]
    )  # fmt: skip
    res = calibrate_and_stack(coll, photometry=phot, method="chebyshev",
                              stacking_method="weighted_mean", object_id="o1")  # fmt: skip
    assert isinstance(res, StackResult)
    assert len(res.calibrations) == 3 and len(res.input_spectra) == 3
    assert res.spectrum.spectrum_id == "o1_stack"
    lo, hi = res.calibrations[0].wave_range
    span = (lo < WAVE) & (hi > WAVE)
    # the stack of three spectra with different slit losses matches the truth's continuum
    ratio = res.spectrum.fnu[span] / _truth(WAVE)[span]
    assert np.nanmedian(np.abs(ratio - 1)) < 0.02
    # lists of SpectrumData work too
    res2 = calibrate_and_stack(list(datas.values()), phot, method="flat")
    assert res2.spectrum.header["CALMETH"] == "flat"
    with pytest.raises(ValidationError, match="stacking method"):
        calibrate_and_stack(list(datas.values()), phot, stacking_method="max")


def test_result_plots_have_their_panels(sedpy_curve):
    import matplotlib.figure

    phot = _true_photometry(BANDS, sedpy_curve)
    datas = [_observed(WAVE, 1.2, seed=k) for k in range(2)]
    res = calibrate_and_stack(datas, phot)
    fig = res.plot()
    assert isinstance(fig, matplotlib.figure.Figure) and len(fig.axes) == 3
    fig2 = res.calibrations[0].plot()
    assert len(fig2.axes) == 2
    # the multiplier panel shows the fitted curve
    ys = [ln.get_ydata() for ln in fig2.axes[1].get_lines() if len(ln.get_ydata()) == WAVE.size]
    assert any(np.allclose(y, res.calibrations[0].multiplier) for y in ys)
