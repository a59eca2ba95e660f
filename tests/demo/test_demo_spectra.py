"""Spectrum files: HDU structure (data-formats 0.2), sampling, resolution, noise, DQ."""

from __future__ import annotations

from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

from campfire.server.demo.dispersers import get_disperser
from campfire.server.demo.sed import Population
from campfire.server.demo.spectra import observe

DQ = {"CHIP_GAP": 1, "CONTAMINATION": 2, "STUCK_SHUTTER": 4, "MULTIPLE_SOURCES": 8,
      "NO_DETECTION": 16, "LOW_SNR": 32, "SPECTRAL_OVERLAP": 64, "PRISM_CORRUPTED": 128,
      "GRATING_CORRUPTED": 256}  # fmt: skip
COVERAGE = {  # data-formats section 0.4
    ("PRISM", "CLEAR"): (0.6, 5.3),
    ("G140M", "F100LP"): (0.97, 1.89),
    ("G395M", "F290LP"): (2.87, 5.27),
}
PRIMARY_KEYS = ("TELESCOP", "INSTRUME", "PROGRAM", "OBSERVTN", "GRATING", "FILTER", "EFFEXPTM",
                "EXPTIME", "MSAMETFL", "PATT_NUM", "SOURCEID", "CMPFRVER", "CMPFRDQ", "CMPFRTIM",
                "CMPFROPT")  # fmt: skip
SCI_KEYS = ("SRCTYPE", "XPOSURE", "PHOTMJSR", "PHOTUJA2", "PIXAR_SR", "PIXAR_A2", "DISPAXIS",
            "SPORDER", "SOURCEID", "STLARITY", "SRCRA", "SRCDEC", "WAVECOR", "PTHLOSS")  # fmt: skip
FLAM = u.erg / u.s / u.cm**2 / u.AA


def _dispersion(sample_data: Path, grating: str) -> np.ndarray:
    """The STScI table in tests/data (read raw: its TUNIT 'MICRONS' is not a FITS unit)."""
    name = f"jwst_nirspec_{grating}_disp.fits"
    return fits.getdata(sample_data / "nirspec_dispersion" / name, 1)


def _median_snr(fnu: np.ndarray, err: np.ndarray) -> float:
    ok = np.isfinite(fnu) & np.isfinite(err) & (err > 0) & (fnu != 0)
    return float(np.median(fnu[ok] / err[ok]))


def test_hdu_layout_columns_units_and_keywords(tiny_demo, spec_files):
    for path in spec_files[::7]:
        with fits.open(path) as hdul:
            assert [h.name for h in hdul] == ["PRIMARY", "SPEC1D", "SCI", "ERR", "WAVELENGTH",
                                             "WHT", "PROF1D", "EXPOSURES"]  # fmt: skip
            head = hdul[0].header
            assert all(k in head for k in PRIMARY_KEYS)
            assert head["TELESCOP"] == "JWST" and head["INSTRUME"] == "NIRSPEC"
            assert head["CMPFROPT"] in ("optimal", "boxcar-3px")
            tab = Table.read(hdul["SPEC1D"])
            assert tab["wave"].unit == u.um
            for w in ("", "_3px", "_4px", "_5px"):
                assert tab[f"fnu{w}"].unit == u.uJy and tab[f"fnu{w}_err"].unit == u.uJy
                assert tab[f"flam{w}"].unit == FLAM and tab[f"flam{w}_err"].unit == FLAM
            ny, nw = hdul["SCI"].data.shape
            assert nw == len(tab) and ny > 10
            for name in ("ERR", "WAVELENGTH", "WHT"):
                assert hdul[name].data.shape == (ny, nw)
            assert all(k in hdul["SCI"].header for k in SCI_KEYS)
            np.testing.assert_allclose(hdul["WAVELENGTH"].data[ny // 2], tab["wave"], rtol=1e-6)
            prof = hdul["PROF1D"].data
            assert set(prof.columns.names) >= {"ypos", "opt", "3px", "4px", "5px"}
            np.testing.assert_allclose(prof["ypos"], np.arange(ny) + 0.5)
            assert len(hdul["EXPOSURES"].data) == head["NUMDTHPT"] == 3


def test_flam_is_fnu_converted_with_astropy_units(tiny_demo, spec_files):
    from astropy.table import QTable

    tab = QTable.read(spec_files[0], hdu="SPEC1D")
    ok = tab["fnu_err"].value > 0
    eq = u.spectral_density(tab["wave"][ok])
    np.testing.assert_allclose(tab["flam"][ok].value, tab["fnu"][ok].to_value(FLAM, eq), rtol=2e-6)
    np.testing.assert_allclose(
        tab["flam_err"][ok].value, tab["fnu_err"][ok].to_value(FLAM, eq), rtol=2e-6
    )


@pytest.mark.parametrize("grating", ["prism", "g140m", "g395m"])
def test_pixel_sampling_follows_the_dispersion_curve(tiny_demo, sample_data, grating, spec_files):
    path = next(p for p in spec_files if f"_{grating}_" in p.name)
    wave = np.asarray(Table.read(path, hdu="SPEC1D")["wave"])
    curve = _dispersion(sample_data, grating)
    dlds = np.interp(wave[:-1], curve["WAVELENGTH"], curve["DLDS"])
    np.testing.assert_allclose(np.diff(wave), dlds, rtol=1e-6)
    head = fits.getheader(path)
    lo, hi = COVERAGE[(head["GRATING"], head["FILTER"])]
    assert wave[0] == pytest.approx(lo, abs=1e-6) and hi - 0.01 < wave[-1] <= hi + 1e-9
    if grating == "prism":  # strongly non-uniform: ~5x finer at 5 µm than at 1.2 µm
        step = np.diff(wave)
        assert step[np.searchsorted(wave, 1.2)] / step[np.searchsorted(wave, 5.0)] > 1.8


def test_prism_grid_and_noise_resemble_the_real_msaexp_sample(sample_data):
    sample = Table.read(
        sample_data / "samples" / "static-test-driz-center-bkg_933.spec.fits", hdu="SPEC1D"
    )
    exptime = 3063.666  # EFFEXPTM of the sample
    ours = get_disperser("PRISM", "CLEAR")
    from campfire.server.demo.dispersers import pixel_noise

    noise = pixel_noise(ours, exptime)
    for lam in (2.0, 3.0, 4.0):
        i, j = np.searchsorted(sample["wave"], lam), np.searchsorted(ours.wave, lam)
        ratio = (ours.wave[j + 1] - ours.wave[j]) / (sample["wave"][i + 1] - sample["wave"][i])
        assert 0.5 < ratio < 1.6
        assert 0.5 < noise[j] / sample["err"][i] < 2.0


def test_noise_is_consistent_with_the_errors():
    prism = get_disperser("PRISM", "CLEAR")
    chi2, npix = 0.0, 0
    for k in range(12):
        gal = Population.single(z=1.5 + 0.5 * k, mag=23.0 + 0.3 * k, ew_ha=300.0)
        spec = observe(gal, prism, 5000.0, np.random.default_rng(100 + k), offset_arcsec=0.05,
                       size_arcsec=0.12, calibration=(0.05, -0.03))  # fmt: skip
        ok = spec.valid
        chi2 += float(np.sum(((spec.fnu - spec.model) / spec.fnu_err)[ok] ** 2))
        npix += int(ok.sum())
        box, box_err = spec.boxcar[4]
        assert np.mean(((box - spec.model) / box_err)[ok] ** 2) == pytest.approx(1.0, abs=0.25)
    assert chi2 / npix == pytest.approx(1.0, abs=4 * np.sqrt(2.0 / npix))


def test_emission_lines_at_the_line_list_wavelengths_with_the_instrument_width(sample_data):
    lines = Table.read(sample_data / "samples" / "linelist.ecsv")
    ha_rest = lines[lines["name"] == "Ha"]["wavelength"][0][0]  # Å, vacuum
    z = 5.2
    g395m = get_disperser("G395M", "F290LP")
    gal = Population.single(z=z, mag=25.0, ew_ha=600.0, n2ha=0.01, sigma_v=20.0, av=0.0)
    spec = observe(gal, g395m, 1e9, np.random.default_rng(0), msa_x=-1.0)  # ~noiseless, no gap
    wave, flux = spec.wave, spec.model - spec.continuum
    expected = ha_rest * (1 + z) / 1e4
    near = np.abs(wave - expected) < 0.01
    w, f = wave[near], flux[near]
    centroid = np.sum(w * f) / np.sum(f)
    assert centroid == pytest.approx(expected, abs=0.1 * np.diff(wave).mean())
    curve = _dispersion(sample_data, "g395m")
    r = np.interp(expected, curve["WAVELENGTH"], curve["R"])
    sigma_expected = np.hypot(expected / r / 2.3548, expected * 20.0 / 299792.458)
    sigma = np.sqrt(np.sum(f * (w - centroid) ** 2) / np.sum(f))
    pixel = np.diff(wave).mean()
    assert np.sqrt(sigma**2 - pixel**2 / 12) == pytest.approx(sigma_expected, rel=0.08)


def test_lyman_and_balmer_breaks():
    prism = get_disperser("PRISM", "CLEAR")
    lbg = observe(Population.single(z=7.0, mag=25.0), prism, 1e9, np.random.default_rng(1))
    w, f = lbg.wave, lbg.continuum
    below, above = f[w < 0.9 * 1216e-4 * 8], f[(w > 1.1 * 1216e-4 * 8) & (w < 1.4)]
    assert np.median(below) < 0.02 * np.median(above)
    qg = Population.single(z=2.5, mag=23.0, balmer=2.2, beta=0.8, gamma=-0.8, ew_ha=0.0,
                           absorb=3.0, kind=1.0)  # fmt: skip
    spec = observe(qg, prism, 1e9, np.random.default_rng(2))
    rest = spec.wave * 1e4 / 3.5
    blue = np.median(spec.continuum[(rest > 3400) & (rest < 3600)])
    red = np.median(spec.continuum[(rest > 4150) & (rest < 4400)])
    assert red / blue > 1.6


def test_dq_flags_match_the_data(tiny_demo, spec_files, obs_dirs):
    seen = 0
    for folder in obs_dirs:
        shutters = Table.read(folder / "shutters.ecsv")
        stuck_slitlets = set(shutters["slitlet_id"][shutters["shutter_state"] == "stuck_closed"])
        slitlet_of = {
            int(r["source_id"]): int(r["slitlet_id"])
            for r in shutters[(shutters["dither_id"] == 1) & (shutters["source_id"] > 0)]
        }
        nominal: dict[str, float] = {}
        for path in sorted(folder.glob("*_spec.fits")):
            with fits.open(path) as hdul:
                head, tab = hdul[0].header, hdul["SPEC1D"].data
                dq, sci = int(head["CMPFRDQ"]), hdul["SCI"].data
                gap = (tab["fnu_err"] == 0) & (tab["fnu"] == 0)
                assert bool(dq & DQ["CHIP_GAP"]) == bool(gap.any()), path.name
                if gap.any():
                    assert head["GRATING"] != "PRISM"
                    assert np.isnan(sci[:, gap]).all() and (hdul["WHT"].data[:, gap] == 0).all()
                snr = _median_snr(np.asarray(tab["fnu"], float), np.asarray(tab["fnu_err"], float))
                assert bool(dq & DQ["LOW_SNR"]) == (snr < 3), path.name
                if dq & DQ["NO_DETECTION"]:
                    assert snr < 1
                stuck = slitlet_of[head["SOURCEID"]] in stuck_slitlets
                assert bool(dq & DQ["STUCK_SHUTTER"]) == stuck, path.name
                key = head["GRATING"]
                planned = head["EFFEXPTM"] * 3
                assert head["EXPTIME"] == pytest.approx(planned * (2 / 3 if stuck else 1))
                nominal.setdefault(key, planned)
                assert planned == pytest.approx(nominal[key])
                if dq & DQ["CONTAMINATION"]:
                    assert dq & DQ["MULTIPLE_SOURCES"]
                seen += 1
    assert seen == len(spec_files)


def test_dq_mix_is_realistic(tiny_demo, spec_files):
    flags = [int(fits.getheader(p)["CMPFRDQ"]) for p in spec_files]
    grating = [p for p in spec_files if "_prism_" not in p.name]
    assert any(f & DQ["LOW_SNR"] for f in flags)
    assert any(f & DQ["STUCK_SHUTTER"] for f in flags)
    assert any(int(fits.getheader(p)["CMPFRDQ"]) & DQ["CHIP_GAP"] for p in grating)
    assert sum(f == 0 for f in flags) > len(flags) / 3  # most spectra are clean


def test_two_dimensional_spectrum_has_the_trace_and_the_nod_residuals(tiny_demo):
    path = tiny_demo / "ember-uds" / "ember_uds_p4" / "ember_uds_p4_prism_clear_123456_spec.fits"
    with fits.open(path) as hdul:
        sci = np.nan_to_num(hdul["SCI"].data)
        prof = hdul["PROF1D"].data
        collapsed = sci.sum(axis=1)
        peak = int(np.argmax(collapsed))
        assert abs(peak + 0.5 - hdul["SPEC1D"].header["YTRACE"]) < 1.5
        assert collapsed[peak - 5] < 0 and collapsed[min(peak + 5, sci.shape[0] - 1)] < 0
        assert np.argmax(prof["opt"]) == peak
        # optimal extraction of the 2D pixels with the PROF1D-like profile reproduces fnu
        tab = hdul["SPEC1D"].data
        assert np.median(tab["fnu"]) == pytest.approx(np.median(tab["fnu_4px"]), rel=0.15)
