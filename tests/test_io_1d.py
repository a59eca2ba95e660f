"""The 1D-only read path: ``read_spectrum(path, products="1d")`` and the direct FITS reader.

References are astropy's own reading of the same files (``fits.open``, ``fits.getdata``) and
the full read (``products="all"``) of the same file; never the direct reader's own output.
"""

import gzip
import shutil

import numpy as np
import pytest
from astropy.io import fits

from campfire.errors import ValidationError
from campfire.io.blocks import HeaderScan, Unsupported, parse_value, read_table
from campfire.io.fits import _read_direct, read_spectrum

N = 50
WAVE = np.linspace(0.6, 5.3, N)
TWO_D = ("sci2d", "err2d", "wave2d", "wht2d", "prof1d", "profile", "profile_pix", "profile_fit",
         "profile2d", "background2d")  # fmt: skip
SAMPLE = "samples/static-test-driz-center-bkg_933.spec.fits"


def _col(name, values, unit=None, fmt="D"):
    return fits.Column(name=name, format=fmt, unit=unit, array=np.asarray(values))


def _fluxes():
    fnu = np.linspace(0.5, 2.5, N)
    err = np.full(N, 0.05)
    fnu[3], err[7], fnu[9] = 0.0, 0.0, np.nan
    return fnu, err


def write_archive(path, *, wave=WAVE, extra_header=None):
    """An archive ``_spec.fits``: SPEC1D with mixed column types, 2D images, PROF1D."""
    fnu, err = _fluxes()
    cols = [
        _col("wave", wave, "um"),
        _col("fnu", fnu, "uJy", "E"),
        _col("fnu_err", err, "uJy", "E"),
        _col("flam", fnu * 2.99792458e-19 / wave**2, "erg / (s cm2 Angstrom)", "E"),
        _col("flam_err", err * 2.99792458e-19 / wave**2, "erg / (s cm2 Angstrom)", "E"),
        _col("fnu_3px", fnu * 0.9, "mJy", "E"),
        _col("npix", np.arange(N), None, "J"),
        _col("nexp", np.arange(N) % 3, None, "I"),
        _col("good", np.arange(N) % 2 == 0, None, "L"),
        _col("label", np.array(["ab"] * N), None, "2A"),
    ]
    primary = fits.PrimaryHDU()
    primary.header.update(GRATING="PRISM", FILTER="CLEAR", EXPTIME=5000.0, CMPFRVER="v1.0")
    primary.header["SRCNAME"] = ("it's 1", "a quote inside")
    primary.header["BLANK1"] = ("   lead", "leading blanks kept")
    primary.header["WAVECOR"] = True
    primary.header["BIG"] = 1.5e-300
    primary.header["NOVAL"] = None
    primary.header.add_comment("first comment")
    primary.header.add_history("a history line")
    primary.header.update(extra_header or {})
    spec1d = fits.BinTableHDU.from_columns(cols, name="SPEC1D")
    spec1d.header["CMPFROPT"] = "optimal"
    spec1d.header["EXPTIME"] = 4999.0  # the table's header wins over the primary's
    sci = fits.ImageHDU(np.ones((5, N), dtype=np.float32), name="SCI")
    sci.header["BUNIT"] = "uJy"
    prof = fits.BinTableHDU.from_columns(
        [_col("ypos", np.arange(5) + 0.5), _col("opt", [0.1, 0.2, 0.4, 0.2, 0.1])], name="PROF1D"
    )
    fits.HDUList([primary, spec1d, sci, prof]).writeto(path)
    return fnu, err


def write_msaexp(path, extra):
    fnu, err = _fluxes()
    cols = [_col("wave", WAVE, "um"), _col("flux", fnu, "uJy"), _col("err", err, "uJy")]
    cols += [_col(name, np.full(N, 1.1)) for name in extra]
    hdus = [fits.PrimaryHDU(), fits.BinTableHDU.from_columns(cols, name="SPEC1D")]
    hdus[1].header.update(GRATING="PRISM", TOMUJY=1.0, VERSION="0.9")
    hdus.append(fits.ImageHDU(np.full((7, N), 2.0, dtype=np.float32), name="SCI"))
    hdus.append(fits.ImageHDU(np.full((7, N), 4.0, dtype=np.float32), name="WHT"))
    fits.HDUList(hdus).writeto(path)


def write_x1d(path):
    hdu = fits.BinTableHDU.from_columns(
        [_col("WAVELENGTH", np.linspace(1.7, 3.1, N), "um"), _col("FLUX", np.full(N, 1e-6), "Jy"),
         _col("FLUX_ERROR", np.full(N, 1e-8), "Jy")], name="EXTRACT1D",
    )  # fmt: skip
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(path)


def _files(tmp_path, sample_data):
    """Files of every format, each with the name its format uses."""
    out = {}
    out["archive"] = tmp_path / "ember_uds_p4_prism_clear_1_spec.fits"
    write_archive(out["archive"])
    out["decreasing"] = tmp_path / "ember_uds_p4_prism_clear_2_spec.fits"
    write_archive(out["decreasing"], wave=WAVE[::-1].copy())
    for name, extra in (("msaexp-v1", []), ("msaexp-v2", ["path_corr"]), ("msaexp-v3", ["sky"])):
        out[name] = tmp_path / f"rubies-uds-{name}_prism-clear_4233_1.spec.fits"
        write_msaexp(out[name], extra)
    out["x1d"] = tmp_path / "jw01345-o066_s000000933_nirspec_f170lp-g235m_x1d.fits"
    write_x1d(out["x1d"])
    out["sample"] = sample_data / SAMPLE
    out["gzip"] = tmp_path / "static-test-driz-center-bkg_933.spec.fits.gz"
    with open(out["sample"], "rb") as src, gzip.open(out["gzip"], "wb") as dst:
        shutil.copyfileobj(src, dst)
    out["long-string"] = tmp_path / "ember_uds_p4_prism_clear_3_spec.fits"  # CONTINUE cards
    write_archive(out["long-string"], extra_header={"LONGTEXT": "word " * 40})
    return out


KINDS = ["archive", "decreasing", "msaexp-v1", "msaexp-v2", "msaexp-v3", "x1d", "sample", "gzip",
         "long-string"]  # fmt: skip


@pytest.mark.parametrize("kind", KINDS)
def test_1d_read_equals_the_full_read_without_2d(tmp_path, sample_data, kind):
    path = _files(tmp_path, sample_data)[kind]
    full, one = read_spectrum(path), read_spectrum(path, products="1d")
    for key in ("wavelength", "fnu", "fnu_err", "flam", "flam_err", "valid"):
        np.testing.assert_array_equal(getattr(one, key), getattr(full, key), err_msg=key)
    assert one.header == full.header
    assert (one.grating, one.spectrum_id, one.fits_path) == (
        full.grating, full.spectrum_id, full.fits_path,
    )  # fmt: skip
    rest = {k: v for k, v in full.extras.items() if k not in TWO_D}
    assert set(one.extras) == set(rest) and not set(one.extras) & set(TWO_D)
    assert one.extras["column_units"] == rest["column_units"]
    for name, values in rest["columns"].items():
        np.testing.assert_array_equal(one.extras["columns"][name], values)
    if kind in ("archive", "sample", "msaexp-v2"):
        assert "sci2d" in full.extras  # the full read has what the 1D one leaves out
    # archive and msaexp files take the direct path; the others are left to astropy
    direct = kind not in ("x1d", "gzip", "long-string")
    assert (_read_direct(str(path), None) is not None) == direct


def test_1d_read_against_astropy(tmp_path):
    path = tmp_path / "ember_uds_p4_prism_clear_7_spec.fits"
    fnu, err = write_archive(path)
    table = fits.getdata(path, "SPEC1D")  # the reference: astropy alone
    spec = read_spectrum(path, products="1d")
    good = np.isfinite(fnu) & (err > 0) & (fnu != 0)
    np.testing.assert_array_equal(spec.valid, good)
    np.testing.assert_array_equal(spec.wavelength, table["wave"])
    np.testing.assert_array_equal(spec.fnu[good], table["fnu"][good].astype(float))
    np.testing.assert_allclose(spec.extras["columns"]["fnu_3px"], table["fnu_3px"] * 1e3)  # mJy
    np.testing.assert_array_equal(spec.extras["columns"]["npix"], table["npix"])
    with fits.open(path) as hdul:
        assert spec.header["SRCNAME"] == hdul[0].header["SRCNAME"] == "it's 1"
        assert spec.header["BLANK1"] == hdul[0].header["BLANK1"] == "   lead"
    assert spec.header["EXPTIME"] == 4999.0 and spec.header["NOVAL"] is None
    assert spec.header["WAVECOR"] is True and spec.header["BIG"] == 1.5e-300
    assert spec.header["COMMENT"] == "first comment"
    assert "TTYPE1" not in spec.header and "NAXIS" not in spec.header


def test_direct_reader_matches_astropy_card_by_card_and_column_by_column(tmp_path, sample_data):
    for path in (sample_data / SAMPLE, tmp_path / "a_prism_clear_1_spec.fits"):
        if not path.exists():
            write_archive(path)
        with fits.open(path) as hdul, open(path, "rb") as f:
            scan = HeaderScan(f)
            for i, hdu in enumerate(hdul):
                mine = scan.get(i)
                assert mine is not None and mine.name == hdu.name
                assert [k for k, _ in mine.cards] == [c.keyword for c in hdu.header.cards]
                for (_, value), card in zip(mine.cards, hdu.header.cards, strict=True):
                    ref = card.value
                    assert value == (None if isinstance(ref, fits.card.Undefined) else ref)
            assert scan.get(len(hdul)) is None
            spec1d = scan.find("spec1d")
            assert spec1d is not None and spec1d.is_table
            data = read_table(f, spec1d)
            ref = hdul["SPEC1D"].data
            assert list(data) == list(ref.columns.names)
            for name in ref.columns.names:
                np.testing.assert_array_equal(data[name], ref[name], err_msg=name)


def test_parse_value_leaves_what_it_cannot_read_to_astropy():
    assert parse_value("'O''Brien  '  / name") == "O'Brien"
    assert parse_value("  -3 ") == -3 and parse_value(" 2.5E-3") == 0.0025
    for text in ("(1.0, 2.0)", "'unterminated", "'AXIS.1: 1'", "NOTAVALUE"):
        with pytest.raises(Unsupported):
            parse_value(text)


def test_scaled_columns_are_read_by_astropy_the_same(tmp_path):
    path = tmp_path / "ember_uds_p4_prism_clear_9_spec.fits"
    dq = fits.Column(name="dq", format="I", bzero=32768, array=np.arange(N, dtype=np.uint16))
    cols = [_col("wave", WAVE, "um"), _col("fnu", np.full(N, 2.0), "uJy"),
            _col("fnu_err", np.full(N, 0.1), "uJy"), dq]  # fmt: skip
    fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU.from_columns(cols, name="SPEC1D")]).writeto(
        path
    )
    one = read_spectrum(path, products="1d")
    np.testing.assert_array_equal(one.extras["columns"]["dq"], np.arange(N))  # TZERO applied


def test_bad_products_and_damaged_files_are_clear_errors(tmp_path):
    path = tmp_path / "ember_uds_p4_prism_clear_8_spec.fits"
    write_archive(path)
    with pytest.raises(ValidationError, match="products must be one of 'all', '1d'"):
        read_spectrum(path, products="2d")
    cut = tmp_path / "cut_prism_clear_8_spec.fits"
    cut.write_bytes(path.read_bytes()[: 2880 + 1000])  # the SPEC1D header cut short
    with pytest.raises(ValidationError, match=r"truncated or corrupt|not a readable FITS"):
        read_spectrum(cut, products="1d")
