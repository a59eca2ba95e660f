"""Flux-conserving resampling and stacking: conservation, noise ∝ 1/sqrt(N), masking."""

import numpy as np
import pytest

from campfire import SpectrumData, stack_spectra
from campfire.errors import ValidationError
from campfire.science.stacking import pixel_edges, rebin_flux, resample_spectrum


def _prism_like_grid(n=435):
    """A non-uniform grid like PRISM's: coarse in the blue, finer in the red."""
    x = np.linspace(0, 1, n)
    return 0.6 + 4.7 * x**1.6


def test_rebin_conserves_the_integral_over_the_input_range():
    rng = np.random.default_rng(3)
    wave = _prism_like_grid()
    flux = rng.uniform(0.5, 3.0, wave.size)
    e_in = pixel_edges(wave)
    # 90 regular output bins spanning exactly the input's range, edges not aligned with its
    e_out = np.linspace(e_in[0], e_in[-1], 91)
    centres = 0.5 * (e_out[1:] + e_out[:-1])
    np.testing.assert_allclose(pixel_edges(centres), e_out, rtol=0, atol=1e-12)
    out, _, cov = rebin_flux(wave, flux, None, centres)
    np.testing.assert_allclose(cov, 1.0, atol=1e-12)
    total_in = np.sum(flux * np.diff(e_in))  # plain sum over the input bins
    total_out = np.sum(out * np.diff(e_out))
    assert total_out == pytest.approx(total_in, rel=1e-12)


def test_rebin_merging_whole_bins_averages_and_shrinks_errors():
    wave = np.arange(1.0, 2.2, 0.1)[:12]  # 12 equal bins
    flux = np.arange(12.0)
    err = np.full(12, 0.4)
    new = wave.reshape(3, 4).mean(axis=1)  # 3 bins of 4
    out, out_err, _ = rebin_flux(wave, flux, err, new)
    np.testing.assert_allclose(out, flux.reshape(3, 4).mean(axis=1), rtol=1e-12)
    np.testing.assert_allclose(out_err, 0.4 / 2, rtol=1e-12)  # σ/sqrt(4)


def test_resampling_onto_the_same_grid_is_the_identity():
    wave = _prism_like_grid(200)
    rng = np.random.default_rng(5)
    spec = SpectrumData(wave, rng.uniform(1, 2, 200), rng.uniform(0.1, 0.2, 200))
    same = resample_spectrum(spec, wave)
    np.testing.assert_allclose(same.fnu, spec.fnu, rtol=1e-12)
    np.testing.assert_allclose(same.fnu_err, spec.fnu_err, rtol=1e-12)


def test_masked_pixels_do_not_leak_and_uncovered_bins_are_nan():
    wave = np.linspace(1.0, 2.0, 101)
    flux = np.full(101, 2.0)
    err = np.full(101, 0.1)
    flux[50] = np.nan  # masked
    flux[51], err[51] = 1e9, 0.0  # invalid (err = 0)
    flux[80:] = np.nan  # a gap at the red end
    spec = SpectrumData(wave, flux, err)
    out = resample_spectrum(spec, np.linspace(1.0, 2.0, 21))
    good = out.valid
    np.testing.assert_allclose(out.fnu[good], 2.0, rtol=1e-12)
    assert not good[-3:].any()  # bins in the gap are masked, not extrapolated


def _noisy_copies(n, sigma=0.2, seed=0):
    rng = np.random.default_rng(seed)
    truth_wave = _prism_like_grid()
    truth = 1.0 + 0.3 * np.sin(truth_wave * 2)
    specs = []
    for k in range(n):
        shift = 1 + 2e-3 * (k - n / 2) / n  # slightly different grids, as real exposures
        w = truth_wave * shift
        t = 1.0 + 0.3 * np.sin(w * 2)
        specs.append(
            SpectrumData(
                w, t + rng.normal(0, sigma, w.size), np.full(w.size, sigma), grating="PRISM"
            )
        )
    return specs, truth_wave, truth


@pytest.mark.parametrize(("method", "factor"), [("weighted_mean", 1.0), ("mean", 1.0),
                                                ("median", np.sqrt(np.pi / 2))])  # fmt: skip
def test_stacking_n_noisy_copies_shrinks_noise_by_sqrt_n_and_conserves_flux(method, factor):
    n = 16
    grid = np.linspace(0.8, 5.0, 300)  # coarser than the inputs, so pixels are independent
    specs, _, _ = _noisy_copies(n)
    stack = stack_spectra(specs, method=method, wavelength_grid=grid)
    truth_on_grid = 1.0 + 0.3 * np.sin(grid * 2)
    one = resample_spectrum(specs[0], grid)
    single_scatter = np.nanstd(one.fnu - truth_on_grid)
    stack_scatter = np.nanstd(stack.fnu - truth_on_grid)
    assert stack_scatter == pytest.approx(factor * single_scatter / np.sqrt(n), rel=0.2)
    # propagated errors describe the scatter
    assert np.nanmedian(stack.fnu_err) == pytest.approx(stack_scatter, rel=0.2)
    # flux conservation: ∫ f dλ of the stack equals that of the truth within 1 %
    dl = np.diff(pixel_edges(grid))
    assert np.nansum(stack.fnu * dl) == pytest.approx(np.sum(truth_on_grid * dl), rel=0.01)
    assert stack.header["NCOMBINE"] == n and stack.grating == "PRISM"
    assert (stack.extras["n_combined"] == n).all()


def test_default_grid_is_the_input_with_most_pixels_and_objects_with_open_work():
    w_small = np.linspace(1, 5, 50)
    w_big = np.linspace(1, 5, 400)
    a = SpectrumData(w_small, np.ones(50), np.full(50, 0.1), spectrum_id="a")
    b = SpectrumData(w_big, np.ones(400), np.full(400, 0.1), spectrum_id="b")

    class Row:  # anything with .open(), like a campfire Spectrum
        def open(self):
            return a

    s = stack_spectra([Row(), b], object_id="obj1")
    np.testing.assert_array_equal(s.wavelength, w_big)
    assert s.spectrum_id == "obj1_stack" and s.object_id == "obj1"
    assert s.header["STACKIN0"] == "a" and s.header["STACKIN1"] == "b"


def test_stack_with_real_spectrum_rows():
    from campfire.models.object import Spectrum, SpectrumCollection

    w = np.linspace(1, 5, 100)
    datas = {f"s{k}": SpectrumData(w, np.full(100, k + 1.0), np.full(100, 0.1)) for k in range(3)}
    coll = SpectrumCollection(
        [Spectrum(sid, "PRISM", opener=lambda s: datas[s.spectrum_id]) for sid in datas]
    )
    s = stack_spectra(coll, method="mean")
    np.testing.assert_allclose(s.fnu, 2.0)


def test_bad_input_is_a_clear_error():
    s = SpectrumData(np.linspace(1, 5, 10), np.ones(10), np.ones(10))
    with pytest.raises(ValidationError, match="weighted_mean"):
        stack_spectra([s], method="sum")
    with pytest.raises(ValidationError, match="at least one"):
        stack_spectra([])
    with pytest.raises(ValidationError, match="Å"):
        stack_spectra([s], wavelength_grid=np.linspace(10000, 50000, 10))
    with pytest.raises(ValidationError, match="increasing"):
        stack_spectra([s], wavelength_grid=[3.0, 2.0, 1.0])
    with pytest.raises(ValidationError, match="SpectrumData"):
        stack_spectra([s, "not a spectrum"])
