"""Synthetic photometry against independent references: flat spectra, AB zero point, the
data-formats pivot table, and a hand trapezoid integration of the real sample spectrum."""

import numpy as np
import pytest

from campfire import convert_flux_units, synthetic_photometry
from campfire.errors import ValidationError
from campfire.science.photometry import (
    get_filter,
    resolve_band,
    synthetic_photometry_bands,
)

# data-formats.md section 6: pivot wavelengths [Å] computed from the sedpy curves
PIVOTS_A = {
    "jwst_f070w": 7047.1, "jwst_f090w": 9024.0, "jwst_f115w": 11540.8, "jwst_f150w": 15009.0,
    "jwst_f200w": 19876.0, "jwst_f277w": 27762.3, "jwst_f356w": 35654.9, "jwst_f410m": 40829.9,
    "jwst_f444w": 44017.4, "jwst_f140m": 14053.4, "jwst_f162m": 16272.2, "jwst_f182m": 18452.2,
    "jwst_f210m": 20955.9, "jwst_f250m": 25031.3, "jwst_f300m": 29960.9, "jwst_f335m": 33622.5,
    "jwst_f360m": 36233.4, "jwst_f430m": 42813.0, "jwst_f460m": 46296.2, "jwst_f480m": 48165.5,
    "acs_wfc_f435w": 4327.2, "acs_wfc_f606w": 5919.4, "acs_wfc_f814w": 8059.9,
    "wfc3_ir_f105w": 10550.9, "wfc3_ir_f125w": 12486.1, "wfc3_ir_f140w": 13922.9,
    "wfc3_ir_f160w": 15368.9,
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(PIVOTS_A))
def test_pivot_wavelengths_match_the_reference_table(name):
    assert get_filter(name).pivot * 1e4 == pytest.approx(PIVOTS_A[name], abs=0.15)


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("f444w", "jwst_f444w"), ("F444W", "jwst_f444w"), ("jwst_f444w", "jwst_f444w"),
        ("nircam_f444w", "jwst_f444w"), ("JWST_NIRCAM_F444W", "jwst_f444w"),
        ("acs_f814w", "acs_wfc_f814w"), ("hst_acs_f814w", "acs_wfc_f814w"),
        ("f814w", "acs_wfc_f814w"), ("wfc3_ir_f160w", "wfc3_ir_f160w"),
        ("f160w", "wfc3_ir_f160w"), ("wfc3_f160w", "wfc3_ir_f160w"),
        ("wfc3_uvis_f275w", "wfc3_uvis_f275w"), ("f410m", "jwst_f410m"),
    ],
)  # fmt: skip
def test_band_names_as_users_write_them(written, expected):
    assert resolve_band(written) == expected


def test_unknown_band_is_a_clear_error_with_close_matches():
    with pytest.raises(ValidationError, match="jwst_f444w"):
        resolve_band("f444ww")
    with pytest.raises(ValidationError, match="unknown band"):
        synthetic_photometry([1.0, 2.0], [1.0, 1.0], None, "not_a_band")


def test_filter_curves_are_cached():
    assert get_filter("f444w") is get_filter("jwst_f444w")


BANDS = list(PIVOTS_A)


def test_flat_fnu_gives_that_fnu_in_every_band():
    wave = np.geomspace(0.3, 5.6, 3000)  # covers ACS F435W to NIRCam F480M
    flux, err = synthetic_photometry(wave, np.full(wave.size, 7.25), np.full(wave.size, 0.3), BANDS)
    np.testing.assert_allclose(flux, 7.25, rtol=1e-12)
    assert np.all(err > 0)


def test_3631_jy_is_ab_zero():
    wave = np.linspace(0.6, 5.3, 1500)
    for band in ("f090w", "f200w", "f444w", "f480m"):
        flux, _ = synthetic_photometry(wave, np.full(wave.size, 3631e6), None, band)
        assert convert_flux_units(flux, get_filter(band).pivot, "ab") == pytest.approx(0, abs=1e-9)


def test_flat_flambda_gives_the_pivot_relation():
    # <f_ν> of a flat f_λ spectrum is f_λ λp²/c by the photon-counting definitions
    wave = np.linspace(0.6, 5.3, 4000)
    flam = 1e-19
    fnu = convert_flux_units(np.full(wave.size, flam), wave, "fnu", "flam")
    for band in ("f150w", "f277w", "f444w"):
        flux, _ = synthetic_photometry(wave, fnu, None, band)
        expect = convert_flux_units(flam, get_filter(band).pivot, "fnu", "flam")
        assert flux == pytest.approx(expect, rel=2e-4)


def _reference(wave, flux, err, curve):
    """Photon-counting band average by a plain trapezoid over the valid pixels."""
    fw, ft = curve
    ok = np.isfinite(flux + err) & (err > 0) & (flux != 0)
    w, f = wave[ok], flux[ok]
    t = np.interp(w, fw, ft, left=0.0, right=0.0)
    return np.trapezoid(t * f / w, w) / np.trapezoid(t / w, w)


@pytest.mark.parametrize("band", ["f200w", "f277w", "f356w", "f410m", "f444w", "f182m"])
def test_real_sample_matches_an_independent_trapezoid(sample_933, sedpy_curve, band):
    wave, flux, err = sample_933
    ours, ours_err = synthetic_photometry(wave, flux, err, band)
    ref = _reference(wave, flux, err, sedpy_curve(f"jwst_{band}"))
    assert ours == pytest.approx(ref, rel=1e-6)  # sedpy trims zero rows of the file
    assert 0 < ours_err < abs(ours)


def test_error_matches_monte_carlo_scatter(sample_933):
    wave, flux, err = sample_933
    _, sigma = synthetic_photometry(wave, flux, err, "f356w")
    rng = np.random.default_rng(42)
    ok = np.isfinite(flux + err) & (err > 0) & (flux != 0)
    draws = []
    for _ in range(400):
        noisy = np.where(ok, flux + rng.normal(0, 1, flux.size) * np.where(ok, err, 0), flux)
        draws.append(synthetic_photometry(wave, noisy, err, "f356w")[0])
    assert np.std(draws) == pytest.approx(sigma, rel=0.1)


def test_masked_pixels_are_excluded():
    wave = np.linspace(1.0, 5.0, 1000)
    flux = np.full(wave.size, 4.0)
    err = np.full(wave.size, 0.1)
    inside = np.flatnonzero((wave > 4.2) & (wave < 4.3))
    flux[inside[0]] = np.nan  # NaN flux
    flux[inside[1]], err[inside[1]] = 1e6, 0.0  # error 0 means "no measurement"
    flux[inside[2]], err[inside[2]] = 1e6, -1.0
    flux[inside[3]], err[inside[3]] = 1e6, np.inf
    got, _ = synthetic_photometry(wave, flux, err, "f444w")
    assert got == pytest.approx(4.0, rel=1e-12)


def test_partial_coverage_raises_for_one_band_and_is_nan_in_the_many_band_form(sedpy_curve):
    fw, ft = sedpy_curve("jwst_f444w")
    # cut the spectrum where half the band's ∫T dλ/λ is reached (computed from the file)
    cum = np.concatenate(
        [[0], np.cumsum(0.5 * (ft[1:] / fw[1:] + ft[:-1] / fw[:-1]) * np.diff(fw))]
    )
    half = np.interp(0.5, cum / cum[-1], fw)
    wave = np.linspace(1.0, half, 2000)
    with pytest.raises(ValidationError, match=r"covers only (49|50|51)%"):
        synthetic_photometry(wave, np.ones(wave.size), np.full(wave.size, 0.1), "f444w")
    res = synthetic_photometry_bands(wave, np.ones(wave.size), None, ["f200w", "f444w"])
    assert res.coverage[1] == pytest.approx(0.5, abs=0.01)
    assert np.isnan(res.flux[1]) and res.flux[0] == pytest.approx(1.0)
    # accepting a partial band on purpose
    flux, _ = synthetic_photometry(wave, np.ones(wave.size), None, "f444w", min_coverage=0.4)
    assert flux == pytest.approx(1.0)
    with pytest.raises(ValidationError, match="does not overlap"):
        synthetic_photometry(wave, np.ones(wave.size), None, "acs_f435w")


def test_many_band_path_equals_single_band_calls(sample_933):
    wave, flux, err = sample_933
    bands = ["f200w", "f277w", "f356w", "f444w", "f250m", "f300m"]
    res = synthetic_photometry_bands(wave, flux, err, bands)
    for k, b in enumerate(bands):
        f, e = synthetic_photometry(wave, flux, err, b)
        assert res.flux[k] == pytest.approx(f, rel=1e-12)
        assert res.flux_err[k] == pytest.approx(e, rel=1e-12)
    table = res.to_table()
    assert table["band"].tolist() == bands and str(table["flux"].unit) == "uJy"


def test_wavelengths_in_angstrom_are_rejected():
    with pytest.raises(ValidationError, match="µm"):
        synthetic_photometry(np.linspace(6000, 53000, 100), np.ones(100), None, "f444w")
    with pytest.raises(ValidationError, match="same length"):
        synthetic_photometry(np.linspace(1, 5, 100), np.ones(99), None, "f444w")


@pytest.mark.parametrize("band", ["f200w", "f277w", "f356w", "f444w"])
def test_real_sample_agrees_with_sedpys_own_ab_mag(sample_933, band):
    from sedpy import observate

    wave, flux, err = sample_933
    ok = np.isfinite(flux + err) & (err > 0) & (flux != 0)
    flam = flux[ok] * 2.99792458e-19 / wave[ok] ** 2  # µJy -> erg/s/cm²/Å, by hand
    ref = observate.Filter(f"jwst_{band}").ab_mag(wave[ok] * 1e4, flam)
    ours, _ = synthetic_photometry(wave, flux, err, band)
    # sedpy integrates on the filter's grid, we on the spectrum's: a few mmag apart at most
    assert convert_flux_units(ours, 1.0, "ab") == pytest.approx(ref, abs=0.005)
