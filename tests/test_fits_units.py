"""campfire.io.units: unit strings resolved once, checked against astropy as the reference."""

import re
import warnings

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits

from campfire.io.fits import read_spectrum
from campfire.io.units import KNOWN, resolve, to_flam, to_ujy, to_um

WAVE = np.linspace(0.6, 5.3, 40)  # µm
FLAM = u.erg / u.s / u.cm**2 / u.AA
TARGET = {"fnu": u.uJy, "flam": FLAM, "length": u.um, "surface": u.uJy / u.sr}


def _astropy(text):
    """astropy's reading of a string, once Å spelled A, AA or Angstroms is named Angstrom."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", u.UnitsWarning)  # 'erg/s/cm2/A': several slashes
        return u.Unit(re.sub(r"\b(A|AA|Angstroms)\b", "Angstrom", text), parse_strict="silent")


@pytest.mark.parametrize("text", sorted(KNOWN))
def test_every_known_string_means_what_astropy_makes_of_it(text):
    kind, factor = KNOWN[text]
    unit = _astropy(text)
    assert not isinstance(unit, u.UnrecognizedUnit), text
    assert unit.is_equivalent(TARGET[kind]), (text, kind)
    assert factor == pytest.approx(unit.to(TARGET[kind]), rel=1e-15)
    assert resolve(text).kind == kind and resolve(f"  {text} ").factor == factor


def test_flambda_to_ujy_and_back_match_astropy_spectral_density():
    flam = np.linspace(1e-19, 5e-18, WAVE.size)
    expect = (flam * FLAM).to_value(u.uJy, equivalencies=u.spectral_density(WAVE * u.um))
    got = to_ujy(flam, resolve("erg / (s cm2 Angstrom)"), WAVE)
    np.testing.assert_allclose(got, expect, rtol=1e-13)
    np.testing.assert_allclose(to_flam(got, resolve("uJy"), WAVE), flam, rtol=1e-13)
    # a scaled f_λ unit, not in the table: parsed by astropy once, still one factor
    scaled = resolve("1e-20 erg/s/cm2/Angstrom")
    assert scaled.kind == "flam" and scaled.factor == pytest.approx(1e-20)
    np.testing.assert_allclose(to_ujy(flam / 1e-20, scaled, WAVE), expect, rtol=1e-13)


@pytest.mark.parametrize(
    "text, kind",
    [
        ("W / (m2 um)", "flam"),
        ("erg/s/cm2/Hz", "fnu"),
        ("photon / (s cm2 Angstrom)", "spectral"),
        ("erg/s/cm2", "spectral"),  # ν f_ν
    ],
)
def test_unusual_flux_units_convert_as_astropy_does(text, kind):
    scale = resolve(text)
    assert scale.kind == kind and scale.is_flux_density
    values = np.linspace(1.0, 2.0, WAVE.size)
    unit = _astropy(text)
    expect = (values * unit).to_value(u.uJy, equivalencies=u.spectral_density(WAVE * u.um))
    np.testing.assert_allclose(to_ujy(values, scale, WAVE), expect, rtol=1e-12)
    flam = (values * unit).to_value(FLAM, equivalencies=u.spectral_density(WAVE * u.um))
    np.testing.assert_allclose(to_flam(values, scale, WAVE), flam, rtol=1e-12)


def test_other_kinds_are_not_flux_densities():
    assert resolve("MJy/sr").kind == "surface" and not resolve("MJy/sr").is_flux_density
    assert resolve("GHz").kind == "frequency"
    assert resolve("1/uJy2").kind == "other"  # a WHT image's BUNIT
    assert resolve("furlongs per fortnight").kind == "unknown"
    assert resolve(None) is None and resolve("   ") is None
    assert resolve(None, "Jy").factor == 1e6
    assert str(resolve("MJy/sr")) == "MJy / sr"  # astropy's spelling, for error messages


def test_frequency_wavelengths_convert_through_c():
    nu_hz = 2.99792458e14 / WAVE  # c / λ
    np.testing.assert_allclose(to_um(nu_hz, resolve("Hz")), WAVE, rtol=1e-13)
    np.testing.assert_allclose(to_um(WAVE * 1e4, resolve("Angstrom")), WAVE, rtol=1e-15)


def test_each_unusual_string_is_parsed_by_astropy_once(monkeypatch):
    calls = []
    real = u.Unit

    def counting(*args, **kwargs):
        calls.append(args[0] if args else None)
        return real(*args, **kwargs)

    monkeypatch.setattr(u, "Unit", counting)
    text = "3.5e-19 erg / (s cm2 Angstrom)"  # used by no other test
    first = resolve(text)
    assert resolve(text) is first and resolve(text).factor == pytest.approx(3.5e-19)
    assert len([c for c in calls if isinstance(c, str) and "3.5e-19" in c]) == 1


def test_reading_an_archive_file_never_builds_spectral_density(tmp_path, monkeypatch):
    # the slow path this module replaced: f_λ and f_ν columns in the common units must not
    # need astropy's spectral_density equivalency at all
    fnu = np.linspace(1.0, 2.0, WAVE.size)
    flam = fnu * 2.99792458e-19 / WAVE**2
    cols = [
        fits.Column(name="wave", format="D", unit="um", array=WAVE),
        fits.Column(name="fnu", format="D", unit="uJy", array=fnu),
        fits.Column(name="fnu_err", format="D", unit="uJy", array=fnu * 0.1),
        fits.Column(name="flam", format="D", unit="erg / (s cm2 Angstrom)", array=flam),
        fits.Column(name="flam_err", format="D", unit="erg / (s cm2 Angstrom)", array=flam / 10),
        fits.Column(name="flam_3px", format="D", unit="erg / (s cm2 Angstrom)", array=flam),
    ]
    sci = fits.ImageHDU(np.ones((3, WAVE.size)), name="SCI")
    sci.header["BUNIT"] = "uJy"
    path = tmp_path / "x_prism_clear_1_spec.fits"
    hdus = [fits.PrimaryHDU(), fits.BinTableHDU.from_columns(cols, name="SPEC1D"), sci]
    fits.HDUList(hdus).writeto(path)

    def refuse(*args, **kwargs):
        raise AssertionError("spectral_density was called")

    monkeypatch.setattr(u, "spectral_density", refuse)
    spec = read_spectrum(path)
    np.testing.assert_allclose(spec.fnu, fnu, rtol=1e-12)
    np.testing.assert_allclose(spec.flam, flam, rtol=1e-12)
    # an extra f_λ column is reported in µJy, as before
    np.testing.assert_allclose(spec.extras["columns"]["flam_3px"], fnu, rtol=1e-12)
    assert spec.extras["column_units"]["flam_3px"] == "uJy"


def test_photon_flux_column_is_read_through_astropy(tmp_path):
    photons = np.linspace(1.0, 2.0, WAVE.size)
    unit = "photon / (s cm2 Angstrom)"
    cols = [
        fits.Column(name="wave", format="D", unit="Hz", array=2.99792458e14 / WAVE),
        fits.Column(name="flux", format="D", unit=unit, array=photons),
        fits.Column(name="err", format="D", unit=unit, array=photons / 10),
    ]
    path = tmp_path / "photons.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU.from_columns(cols)]).writeto(path)
    spec = read_spectrum(path)
    expect = (photons * u.Unit(unit)).to_value(u.uJy, equivalencies=u.spectral_density(WAVE * u.um))
    np.testing.assert_allclose(spec.wavelength, WAVE, rtol=1e-13)
    np.testing.assert_allclose(spec.fnu, expect, rtol=1e-12)
