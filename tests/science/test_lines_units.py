"""Emission lines and flux-unit conversions, checked against the line list and astropy."""

import json

import astropy.units as u
import numpy as np
import pytest

from campfire import EMISSION_LINES, convert_flux_units, get_emission_lines
from campfire.errors import ValidationError
from campfire.science.lines import LINES


def _file_single_lines(sample_data):
    """(name, wavelength) of every single-line, priority > 0 entry of tests/data's list."""
    from astropy.table import Table

    path = sample_data / "samples" / "linelist.ecsv"

    t = Table.read(path, format="ascii.ecsv")
    out = []
    for row in t:
        waves = row["wavelength"]
        waves = json.loads(waves) if isinstance(waves, str) else list(waves)
        if float(row["priority"]) > 0 and len(waves) == 1:
            out.append((str(row["name"]), float(waves[0])))
    return out


def test_every_single_line_of_the_real_list_is_present_with_its_vacuum_wavelength(sample_data):
    have = np.array(sorted(EMISSION_LINES.values()))
    for name, wave in _file_single_lines(sample_data):
        if name == "Lya":
            continue
        assert np.min(np.abs(have - wave)) < 1.0, name
    # values straight from the list (vacuum), and the preferred Lyα
    assert EMISSION_LINES["Ha"] == 6564.697
    assert EMISSION_LINES["OIII-5007"] == 5008.24
    assert EMISSION_LINES["Hb"] == 4862.738
    assert EMISSION_LINES["Lya"] == 1215.67


def test_doublet_components_listed_only_together_are_split():
    assert EMISSION_LINES["CIV-1548"] == 1548.187 and EMISSION_LINES["CIV-1551"] == 1550.772
    assert EMISSION_LINES["MgII-2796"] == 2796.352
    # a component inherits the priority of the strong entry listing it ([OII] doublet: 5)
    assert LINES["OII-3727"].priority == 5 and LINES["Ha"].label == "Hα"


def test_get_emission_lines_redshifts_into_the_window():
    z = 2.5
    lines = get_emission_lines(redshift=z, wave_min=1.0, wave_max=5.0)
    waves = [ln["wavelength"] for ln in lines]
    assert waves == sorted(waves) and all(1.0 <= w <= 5.0 for w in waves)
    by_name = {ln["name"]: ln for ln in lines}
    assert by_name["Ha"]["wavelength"] == pytest.approx(6564.697 * 3.5 / 1e4, rel=1e-12)
    assert "Lya" not in by_name  # 0.4255 µm, outside
    # every line of the table inside the window is returned
    expect = {k for k, v in EMISSION_LINES.items() if 1.0 <= v * 3.5 / 1e4 <= 5.0}
    assert set(by_name) == expect
    strong = get_emission_lines(z, 1.0, 5.0, min_priority=5)
    assert {"Ha", "Hb", "OIII-5007"} <= {ln["name"] for ln in strong}
    assert all(ln["priority"] >= 5 for ln in strong)


def test_get_emission_lines_rejects_bad_input():
    with pytest.raises(ValidationError, match="redshift"):
        get_emission_lines(-1.0)
    with pytest.raises(ValidationError, match="wave_min"):
        get_emission_lines(1.0, 5.0, 1.0)
    with pytest.raises(ValidationError, match="close matches"):
        get_emission_lines(1.0, names=["Halpha"])


WAVES = np.array([0.7, 1.5, 3.3453, 5.2])


def test_fnu_to_flambda_and_back_match_astropy_spectral_density():
    fnu = np.array([0.02156, 1.0, 12.5, 300.0])
    err = 0.1 * fnu
    flam, flam_err = convert_flux_units(fnu, WAVES, to_unit="flambda", flux_err=err)
    equiv = u.spectral_density(WAVES * u.um)
    ref = (fnu * u.uJy).to(u.erg / u.s / u.cm**2 / u.AA, equivalencies=equiv).value
    np.testing.assert_allclose(flam, ref, rtol=1e-12)
    np.testing.assert_allclose(flam_err, 0.1 * ref, rtol=1e-12)
    back, back_err = convert_flux_units(flam, WAVES, "fnu", "flam", flux_err=flam_err)
    np.testing.assert_allclose(back, fnu, rtol=1e-12)
    np.testing.assert_allclose(back_err, err, rtol=1e-12)
    # the data-formats worked example: 0.02156 µJy at 3.3453 µm
    assert flam[2] == pytest.approx(5.775499e-22, rel=1e-6)


def test_one_fnu_to_flam_conversion_for_models_readers_and_science():
    from campfire.io.units import resolve, to_flam
    from campfire.models.data import SpectrumData
    from campfire.science.units import FLAM_PER_UJY_UM2, fnu_to_flam

    fnu = np.array([0.02156, 1.0, 12.5, 300.0])
    equiv = u.spectral_density(WAVES * u.um)
    ref = (fnu * u.uJy).to(u.erg / u.s / u.cm**2 / u.AA, equivalencies=equiv).value
    at_1um = (1 * u.uJy).to(u.erg / u.s / u.cm**2 / u.AA, u.spectral_density(1 * u.um)).value
    assert abs(FLAM_PER_UJY_UM2 / at_1um - 1) < 1e-12
    np.testing.assert_allclose(fnu_to_flam(fnu, WAVES), ref, rtol=1e-12)
    np.testing.assert_allclose(to_flam(fnu, resolve("uJy"), WAVES), ref, rtol=1e-12)
    spec = SpectrumData(WAVES, fnu, 0.1 * fnu)  # f_λ computed from f_ν when not given
    np.testing.assert_allclose(spec.flam, ref, rtol=1e-12)
    np.testing.assert_allclose(spec.flam_err, 0.1 * ref, rtol=1e-12)


def test_ab_magnitudes_match_astropy_and_3631_jy_is_zero():
    fnu = np.array([3631e6, 1.0, 0.1505, 1e-3])
    mag = convert_flux_units(fnu, 2.0, to_unit="ab")
    # astropy's ABmag zero point is 10^(-48.6/2.5) erg/s/cm²/Hz = 3630.78 Jy; ours is the
    # 3631 Jy of the definition (as sedpy's ab_gnu): the two differ by 6.6e-5 mag
    ref = (fnu * u.uJy).to(u.ABmag).value
    np.testing.assert_allclose(mag, ref, atol=7e-5)
    assert mag[0] == pytest.approx(0.0, abs=1e-12)
    assert mag[1] == pytest.approx(-2.5 * np.log10(1e-6 / 3631), abs=1e-12)
    # round trip, through f_λ as well
    flam = convert_flux_units(mag, WAVES, "flambda", from_unit="ab")
    np.testing.assert_allclose(convert_flux_units(flam, WAVES, "fnu", "flambda"), fnu, rtol=1e-12)


def test_magnitude_errors_follow_the_derivative():
    f, df = 2.0, 0.05
    m, dm = convert_flux_units(f, 4.4, "ab", flux_err=df)
    numeric = abs(convert_flux_units(f + 1e-6, 4.4, "ab") - convert_flux_units(f - 1e-6, 4.4, "ab"))
    assert dm == pytest.approx(numeric / 2e-6 * df, rel=1e-6)
    back, dback = convert_flux_units(m, 4.4, "fnu", "ab", flux_err=dm)
    assert back == pytest.approx(f) and dback == pytest.approx(df)


def test_non_positive_flux_has_no_magnitude_and_quantities_are_understood():
    assert np.isnan(convert_flux_units(np.array([-1.0, 0.0]), 2.0, "ab")).all()
    flam = convert_flux_units(1 * u.Jy, 20000 * u.AA, to_unit="flam")
    ref = (1 * u.Jy).to(u.erg / u.s / u.cm**2 / u.AA, equivalencies=u.spectral_density(2 * u.um))
    assert flam == pytest.approx(ref.value, rel=1e-12)


def test_bad_units_and_shapes_are_clear_errors():
    with pytest.raises(ValidationError, match="unknown flux unit"):
        convert_flux_units([1.0], [1.0], to_unit="watts")
    with pytest.raises(ValidationError, match="do not match"):
        convert_flux_units([1.0, 2.0, 3.0], [1.0, 2.0], to_unit="flam")
    with pytest.raises(ValidationError, match="positive"):
        convert_flux_units([1.0], [-1.0], to_unit="flam")
