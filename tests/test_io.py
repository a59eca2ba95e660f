"""FITS readers, against the real msaexp sample and files written here with astropy.

Expected values come from astropy read independently of campfire, or from hand computations
(1 Jy = 1e6 µJy; f_ν = f_λ λ² / c); never from campfire's own output.
"""

import gzip
import os
import shutil
import warnings

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits

from campfire.errors import NotFoundError, ValidationError
from campfire.io.fits import (
    MultipleSpectraWarning,
    grating_from_filename,
    identify_format,
    read_spectrum,
    spectrum_id_from_filename,
)
from campfire.models.data import SpectrumData

SAMPLE = "samples/static-test-driz-center-bkg_933.spec.fits"  # under tests/data
C_AA = 2.99792458e18  # speed of light in Å/s
FLAM = u.erg / u.s / u.cm**2 / u.AA


@pytest.fixture
def sample(sample_data):
    return str(sample_data / SAMPLE)


# -- the real DJA/msaexp sample ------------------------------------------------------------------
def test_real_msaexp_sample(sample):
    with fits.open(sample) as hdul:  # the reference, read with astropy alone
        tab = hdul["SPEC1D"].data
        wave, flux, err = (np.array(tab[c], dtype=float) for c in ("wave", "flux", "err"))
        wht = np.array(hdul["WHT"].data, dtype=float)
    good = np.isfinite(flux) & np.isfinite(err) & (err > 0) & (flux != 0)
    assert good.sum() == 330  # counted here, not by campfire

    spec = read_spectrum(sample)
    assert isinstance(spec, SpectrumData)
    assert spec.grating == "PRISM" and len(spec) == 414
    assert spec.spectrum_id == "static-test-driz-center-bkg_933"
    assert 0.55 < spec.wavelength.min() < 0.65 and 5.25 < spec.wavelength.max() < 5.40
    assert spec.fnu_units == "uJy" and spec.wave_units == "um"
    assert spec.extras["format"] == "msaexp-v1"
    np.testing.assert_array_equal(spec.valid, good)
    assert np.isnan(spec.fnu[~good]).all() and np.isnan(spec.flam[~good]).all()
    np.testing.assert_allclose(spec.fnu[good], flux[good])  # TUNIT uJy: unchanged
    np.testing.assert_allclose(spec.fnu_err[good], err[good])
    ref = (flux[good] * u.uJy).to(FLAM, equivalencies=u.spectral_density(wave[good] * u.um))
    np.testing.assert_allclose(spec.flam[good], ref.value, rtol=1e-10)
    # 2D: err2d = 1/sqrt(WHT) (TOMUJY = 1)
    assert spec.extras["sci2d"].shape == (31, 414)
    ok = np.isfinite(wht) & (wht > 0)
    np.testing.assert_allclose(spec.extras["err2d"][ok], 1 / np.sqrt(wht[ok]))
    assert np.isnan(spec.extras["err2d"][~ok]).all()
    np.testing.assert_allclose(spec.extras["columns"]["aper_flux"].size, 414)
    assert (
        spec.header["EFFEXPTM"] == pytest.approx(3063.666) and spec.header["SRCNAME"] == "1345_933"
    )
    assert spec.header["MAXWPERC"] is None  # a card without a value
    assert "TTYPE1" not in spec.header and "NAXIS" not in spec.header
    assert identify_format(sample) == "msaexp-v1"
    assert repr(SpectrumData.from_fits(sample)) == repr(spec)


def test_gzipped_file_reads_the_same(sample, tmp_path):
    gz = tmp_path / (os.path.basename(sample) + ".gz")
    with open(sample, "rb") as src, gzip.open(gz, "wb") as dst:
        shutil.copyfileobj(src, dst)
    a, b = read_spectrum(sample), read_spectrum(gz)
    assert b.spectrum_id == a.spectrum_id
    np.testing.assert_array_equal(a.fnu, b.fnu)
    np.testing.assert_array_equal(a.valid, b.valid)


def test_to_specutils(sample):
    pytest.importorskip("specutils")
    spec = read_spectrum(sample)
    s1d = spec.to_specutils()
    assert s1d.spectral_axis.unit == u.um and s1d.flux.unit == u.uJy
    np.testing.assert_array_equal(s1d.mask, ~spec.valid)
    np.testing.assert_allclose(s1d.spectral_axis.value, spec.wavelength)


# -- synthetic files ---------------------------------------------------------------------------
N = 40
WAVE = np.linspace(0.7, 5.2, N)


def _col(name, values, unit=None, fmt="D"):
    return fits.Column(name=name, format=fmt, unit=unit, array=np.asarray(values))


def _fluxes():
    fnu = np.linspace(0.5, 2.5, N)
    err = np.full(N, 0.05)
    fnu[3], err[7], fnu[9] = 0.0, 0.0, np.nan  # three invalid pixels, msaexp's rule
    return fnu, err


def write_archive(path, *, sci_unit="uJy", pixar=None):
    fnu, err = _fluxes()
    flam = fnu * 2.99792458e-19 / WAVE**2
    cols = [
        _col("wave", WAVE, "um"),
        _col("fnu", fnu, "uJy"),
        _col("fnu_err", err, "uJy"),
        _col("flam", flam, "erg / (s cm2 Angstrom)"),
        _col("flam_err", err * 2.99792458e-19 / WAVE**2, "erg / (s cm2 Angstrom)"),
        _col("fnu_3px", fnu * 0.9, "uJy"),
        _col("fnu_3px_err", err, "uJy"),
    ]
    primary = fits.PrimaryHDU()
    primary.header.update(GRATING="PRISM", FILTER="CLEAR", EXPTIME=5000.0, CMPFRVER="0.5.0")
    spec1d = fits.BinTableHDU.from_columns(cols, name="SPEC1D")
    spec1d.header["CMPFROPT"] = "optimal"
    sci = fits.ImageHDU(np.ones((5, N)), name="SCI")
    sci.header["BUNIT"] = sci_unit
    if pixar:
        sci.header["PIXAR_SR"] = pixar
    prof = fits.BinTableHDU.from_columns(
        [_col("ypos", np.arange(5) + 0.5), _col("opt", [0.1, 0.2, 0.4, 0.2, 0.1])], name="PROF1D"
    )
    hdus = [
        primary,
        spec1d,
        sci,
        fits.ImageHDU(np.full((5, N), 0.1), name="ERR"),
        fits.ImageHDU(np.tile(WAVE, (5, 1)), name="WAVELENGTH"),
        fits.ImageHDU(np.full((5, N), 100.0), name="WHT"),
        prof,
    ]
    fits.HDUList(hdus).writeto(path)
    return fnu, err


def test_archive_spec_file(tmp_path):
    path = tmp_path / "ember_uds_p4_prism_clear_123456_spec.fits"
    fnu, _ = write_archive(path)
    spec = read_spectrum(path)
    assert spec.spectrum_id == "ember_uds_p4_prism_clear_123456"
    assert spec.grating == "PRISM" and spec.extras["format"] == "campfire"
    assert spec.header["EXPTIME"] == 5000.0 and spec.header["CMPFROPT"] == "optimal"
    assert spec.fits_path == str(path)
    assert spec.valid.tolist() == [i not in (3, 7, 9) for i in range(N)]
    good = spec.valid
    np.testing.assert_allclose(spec.fnu[good], fnu[good])
    # f_λ read from the file equals the hand formula 2.99792458e-19 fν / λ²
    np.testing.assert_allclose(spec.flam[good], fnu[good] * 2.99792458e-19 / WAVE[good] ** 2)
    np.testing.assert_allclose(spec.extras["columns"]["fnu_3px"], fnu * 0.9)
    assert spec.extras["sci2d"].shape == (5, N) and spec.extras["wave2d"].shape == (5, N)
    np.testing.assert_allclose(spec.extras["err2d"], 0.1)
    assert spec.extras["profile_fit"].tolist() == [0.1, 0.2, 0.4, 0.2, 0.1]
    np.testing.assert_allclose(spec.extras["profile"], N)  # SCI of ones summed along λ
    assert identify_format(path) == "campfire"


def test_archive_2d_in_surface_brightness_is_converted_with_pixel_area(tmp_path):
    path = tmp_path / "x_prism_clear_1_spec.fits"
    write_archive(path, sci_unit="MJy/sr", pixar=2e-13)
    spec = read_spectrum(path)
    # 1 MJy/sr × 2e-13 sr = 2e-13 MJy = 0.2 µJy
    np.testing.assert_allclose(spec.extras["sci2d"], 0.2)


def write_msaexp(path, cols, header=None, *, wht=True):
    hdus = [fits.PrimaryHDU(), fits.BinTableHDU.from_columns(cols, name="SPEC1D")]
    hdus[1].header.update(header or {})
    hdus.append(fits.ImageHDU(np.full((7, N), 2.0, dtype=np.float32), name="SCI"))
    if wht:
        w = np.full((7, N), 4.0, dtype=np.float32)
        w[0, 0] = 0.0
        hdus.append(fits.ImageHDU(w, name="WHT"))
    hdus.append(fits.ImageHDU(np.full((7, N), 1 / 7), name="PROFILE"))
    hdus.append(
        fits.BinTableHDU.from_columns(
            [_col("pix", np.arange(7.0)), _col("profile", np.ones(7)), _col("pfit", np.ones(7))],
            name="PROF1D",
        )
    )
    fits.HDUList(hdus).writeto(path)


def test_msaexp_v2(tmp_path):
    fnu, err = _fluxes()
    path = tmp_path / "uncover-v2_prism-clear_2561_20466.spec.fits"
    cols = [_col("wave", WAVE, "um"), _col("flux", fnu, "uJy"), _col("err", err, "uJy")]
    cols.append(_col("path_corr", np.full(N, 1.1)))
    write_msaexp(
        path, cols, {"GRATING": "PRISM", "FILTER": "CLEAR", "TOMUJY": 1.0, "EXPTIME": 9453.6}
    )
    spec = read_spectrum(path)
    assert spec.extras["format"] == "msaexp-v2"
    assert spec.spectrum_id == "uncover-v2_prism-clear_2561_20466" and spec.grating == "PRISM"
    np.testing.assert_allclose(spec.extras["columns"]["path_corr"], 1.1)
    np.testing.assert_allclose(spec.extras["err2d"][1:], 0.5)  # 1/sqrt(4)
    assert np.isnan(spec.extras["err2d"][0, 0])  # WHT = 0: no error, not inf
    assert spec.extras["profile_fit"].size == 7 and spec.header["EXPTIME"] == 9453.6
    assert spec.n_valid == N - 3


def test_msaexp_v3_v4_grating_from_file_name(tmp_path):
    fnu, err = _fluxes()
    path = tmp_path / "rubies-egs61-v4_g395m-f290lp_4233_75646.spec.fits"
    cols = [_col("wave", WAVE, "um"), _col("flux", fnu, "uJy"), _col("err", err, "uJy")]
    cols += [_col("sky", np.full(N, 0.3), "uJy"), _col("path_corr", np.ones(N))]
    cols += [_col("npix", np.full(N, 12), fmt="K"), _col("flux_sum", fnu), _col("var_sum", err)]
    write_msaexp(path, cols)  # no GRATING keyword at all
    spec = read_spectrum(path)
    assert spec.extras["format"] == "msaexp-v3"
    assert spec.grating == "G395M"  # from the name
    np.testing.assert_allclose(spec.extras["columns"]["sky"], 0.3)
    assert spec.extras["columns"]["npix"].tolist() == [12.0] * N
    assert read_spectrum(path, grating="prism").grating == "PRISM"  # explicit wins


def test_msaexp_v1_bunit_mjy_is_ignored_for_2d(tmp_path):
    # data-formats §7: v1 SCI says BUNIT='mJy' but the pixels are µJy (TOMUJY = 1)
    fnu, err = _fluxes()
    path = tmp_path / "calib_prism-clear_x.v1.spec.fits"
    cols = [_col("wave", WAVE, "um"), _col("flux", fnu, "uJy"), _col("err", err, "uJy")]
    write_msaexp(path, cols, {"TOMUJY": 1.0})
    with fits.open(path, mode="update") as hdul:
        hdul["SCI"].header["BUNIT"] = "mJy"
    spec = read_spectrum(path)
    assert spec.extras["format"] == "msaexp-v1"
    np.testing.assert_allclose(spec.extras["sci2d"], 2.0)


@pytest.mark.parametrize(
    "unit, to_ujy",
    [("uJy", 1.0), ("microJansky", 1.0), ("nJy", 1e-3), ("mJy", 1e3), ("Jy", 1e6)],
)
def test_flux_density_units_convert_to_ujy(tmp_path, unit, to_ujy):
    fnu, err = _fluxes()
    path = tmp_path / "a_prism-clear_1_2.spec.fits"
    cols = [_col("wave", WAVE, "um"), _col("flux", fnu, unit), _col("err", err, unit)]
    write_msaexp(path, cols)
    spec = read_spectrum(path)
    good = spec.valid
    np.testing.assert_allclose(spec.fnu[good], fnu[good] * to_ujy)
    np.testing.assert_allclose(spec.fnu_err[good], err[good] * to_ujy)


@pytest.mark.parametrize("unit, scale", [("erg/s/cm2/A", 1.0), ("1e-20 erg/s/cm2/Angstrom", 1e-20)])
def test_flambda_units_convert_by_hand_formula(tmp_path, unit, scale):
    flam = np.linspace(1.0, 3.0, N)  # in units of `unit`
    path = tmp_path / "a_prism-clear_1_3.spec.fits"
    cols = [_col("wave", WAVE * 1e4, "Angstrom"), _col("flux", flam, unit)]
    cols.append(_col("err", flam * 0.1, unit))
    write_msaexp(path, cols)
    spec = read_spectrum(path)
    lam_aa = WAVE * 1e4
    expect = flam * scale * lam_aa**2 / C_AA * 1e29  # erg/s/cm²/Hz → µJy
    np.testing.assert_allclose(spec.wavelength, WAVE)
    np.testing.assert_allclose(spec.fnu, expect, rtol=1e-12)
    np.testing.assert_allclose(spec.flam, flam * scale, rtol=1e-12)  # round trip


def test_unconvertible_flux_unit_is_a_clear_error_and_can_be_overridden(tmp_path):
    fnu, err = _fluxes()
    path = tmp_path / "a_prism-clear_1_4.spec.fits"
    cols = [_col("wave", WAVE, "um"), _col("flux", fnu, "MJy/sr"), _col("err", err, "MJy/sr")]
    write_msaexp(path, cols)
    with pytest.raises(ValidationError, match=r"'flux'.*MJy / sr.*flux_unit="):
        read_spectrum(path)
    spec = read_spectrum(path, flux_unit="nJy")
    np.testing.assert_allclose(spec.fnu[spec.valid], fnu[spec.valid] * 1e-3)


# -- JWST x1d ----------------------------------------------------------------------------------
def x1d_table(flux_jy, *, source_id=933, name="EXTRACT1D", ver=1, dq=None):
    err = np.full(N, 1e-8)
    cols = [
        _col("WAVELENGTH", np.linspace(1.7, 3.1, N), "um"),
        _col("FLUX", flux_jy, "Jy"),
        _col("FLUX_ERROR", err, "Jy"),
        _col("FLUX_VAR_POISSON", err**2, "Jy^2"),
        _col("SURF_BRIGHT", np.zeros(N), "MJy/sr"),
        _col("SB_VAR_FLAT", np.zeros(N), "(MJy/sr)^2"),
        _col("DQ", np.zeros(N, dtype=np.uint32) if dq is None else dq, fmt="J"),
        _col("NPIXELS", np.full(N, 3.0)),
    ]
    hdu = fits.BinTableHDU.from_columns(cols, name=name, ver=ver)
    hdu.header.update(SOURCEID=source_id, SRCNAME=f"1345_{source_id}", SLTNAME="S1")
    return hdu


def x1d_primary():
    primary = fits.PrimaryHDU()
    primary.header.update(TELESCOP="JWST", GRATING="G235M", FILTER="F170LP", EXPTIME=3000.0)
    return primary


def test_x1d_units_dq_and_no_units_warning(tmp_path):
    path = tmp_path / "jw01345-o066_s000000933_nirspec_f170lp-g235m_x1d.fits"
    flux = np.full(N, 2.5e-7)  # Jy
    dq = np.zeros(N, dtype=np.uint32)
    dq[5] = 1  # DO_NOT_USE
    dq[6] = 4  # another bit: still usable
    fits.HDUList([x1d_primary(), x1d_table(flux, dq=dq)]).writeto(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the '(MJy/sr)^2' unit must not leak a UnitsWarning
        spec = read_spectrum(path)
    assert spec.extras["format"] == "x1d" and spec.grating == "G235M"
    assert spec.spectrum_id == "jw01345-o066_s000000933_nirspec_f170lp-g235m_x1d"
    assert spec.fnu[0] == pytest.approx(0.25)  # 2.5e-7 Jy = 0.25 µJy
    assert spec.fnu_err[0] == pytest.approx(0.01)  # 1e-8 Jy = 0.01 µJy
    assert not spec.valid[5] and spec.valid[6] and spec.n_valid == N - 1
    assert spec.extras["dq"][6] == 4
    assert spec.header["SOURCEID"] == 933 and spec.header["EXPTIME"] == 3000.0


def test_x1d_without_extname_and_float_dq(tmp_path):
    # like the CEERS HLSP: table without EXTNAME, DQ stored as float
    path = tmp_path / "hlsp_ceers_x1d-masked.fits"
    hdu = x1d_table(np.full(N, 1e-6), dq=np.zeros(N))
    del hdu.header["EXTNAME"]
    fits.HDUList([x1d_primary(), hdu]).writeto(path)
    spec = read_spectrum(path)
    assert spec.extras["format"] == "x1d"
    np.testing.assert_allclose(spec.fnu, 1.0)


def test_mos_x1d_picks_by_source_or_ext_and_lists_choices(tmp_path):
    path = tmp_path / "jw01345062001_03101_00001_nrs1_x1d.fits"
    tables = [x1d_table(np.full(N, k * 1e-6), source_id=100 + k, ver=k) for k in (1, 2, 3)]
    fits.HDUList([x1d_primary(), *tables]).writeto(path)
    with pytest.warns(MultipleSpectraWarning, match=r"3 spectra.*source_id=101.*source_id=103"):
        first = read_spectrum(path)
    np.testing.assert_allclose(first.fnu, 1.0)
    assert first.spectrum_id.endswith("_101")
    np.testing.assert_allclose(read_spectrum(path, source_id=102).fnu, 2.0)
    np.testing.assert_allclose(read_spectrum(path, ext=3).fnu, 3.0)
    with pytest.raises(ValidationError, match=r"source_id=999.*source_id=101"):
        read_spectrum(path, source_id=999)
    with pytest.raises(ValidationError, match="ext=0"):
        read_spectrum(path, ext=0)


# -- everything else ---------------------------------------------------------------------------
def test_plain_table_and_decreasing_wavelength(tmp_path):
    path = tmp_path / "model.fits"
    fnu = np.linspace(1, 2, N)
    cols = [_col("wavelength", WAVE[::-1], "micron"), _col("flux", fnu[::-1], "uJy")]
    cols.append(_col("error", np.full(N, 0.1), "uJy"))
    fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU.from_columns(cols)]).writeto(path)
    spec = read_spectrum(path)
    assert spec.extras["format"] == "table" and spec.spectrum_id == "model"
    np.testing.assert_allclose(spec.wavelength, WAVE)  # stored increasing
    np.testing.assert_allclose(spec.fnu, fnu)


def test_fits_image_is_rejected_naming_what_was_found(tmp_path):
    path = tmp_path / "image.fits"
    fits.HDUList([fits.PrimaryHDU(np.zeros((10, 12)))]).writeto(path)
    with pytest.raises(ValidationError, match=r"not a spectrum.*image 10×12.*SPEC1D"):
        read_spectrum(path)


def test_table_without_spectrum_columns_is_rejected(tmp_path):
    path = tmp_path / "catalog.fits"
    cols = [_col("ra", [1.0]), _col("dec", [2.0])]
    fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU.from_columns(cols)]).writeto(path)
    with pytest.raises(ValidationError, match=r"table: ra, dec"):
        read_spectrum(path)


def test_table_without_errors_is_rejected(tmp_path):
    path = tmp_path / "noerr.fits"
    cols = [_col("wave", WAVE, "um"), _col("flux", np.ones(N), "uJy")]
    fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU.from_columns(cols)]).writeto(path)
    with pytest.raises(ValidationError, match="no flux-error column"):
        read_spectrum(path)


def test_text_file_and_missing_file(tmp_path):
    text = tmp_path / "notes_spec.fits"
    text.write_text("this is not FITS\n" * 50)
    with pytest.raises(ValidationError, match="not a readable FITS file"):
        read_spectrum(text)
    with pytest.raises(NotFoundError, match="no such file"):
        read_spectrum(tmp_path / "missing_spec.fits")
    assert text.read_text().startswith("this is not FITS")  # untouched


@pytest.mark.parametrize("nbytes, gz", [(100_000, False), (3000, True)])
def test_truncated_file_is_a_clear_error(sample, tmp_path, nbytes, gz):
    with open(sample, "rb") as f:
        head = f.read(nbytes)
    path = tmp_path / ("cut_spec.fits.gz" if gz else "cut_spec.fits")
    path.write_bytes(gzip.compress(head) if gz else head)
    with pytest.raises(ValidationError, match=r"truncated or corrupt.*download it again"):
        read_spectrum(path)


def test_names():
    assert spectrum_id_from_filename("a/b/capers_egs_p3_g395m_f290lp_11585_spec.fits") == (
        "capers_egs_p3_g395m_f290lp_11585"
    )
    assert spectrum_id_from_filename("X_SPEC.FITS.gz") == "X"
    assert grating_from_filename("capers_egs_p3_g395m_f290lp_11585_spec.fits") == "G395M"
    assert grating_from_filename("uncover-v2_prism-clear_2561_20466.spec.fits") == "PRISM"
    assert grating_from_filename("something_else.fits") is None
