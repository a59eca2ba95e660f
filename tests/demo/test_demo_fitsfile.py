"""The demo's direct FITS writer gives the bytes astropy's ``writeto`` gives for the same HDUs."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits

from campfire.server.demo.fitsfile import card, fits_bytes, image_hdu, primary_hdu, table_hdu

HEADER = {
    "TELESCOP": "JWST",
    "NAME": ("it's", "a quote"),
    "EMPTY": "",
    "EXPTIME": (5000.125, "s"),
    "TINY": 1.2345678901234567e-300,
    "HUGE": 1e20,
    "THIRD": 1 / 3,
    "NEG": -7,
    "WAVECOR": (True, "corrected"),
    "STUCK": False,
}


def _astropy_bytes(tmp_path, columns, image):
    primary = fits.PrimaryHDU()
    for key, value in HEADER.items():
        primary.header[key] = value
    table = fits.BinTableHDU.from_columns(
        [fits.Column(name=n, format=f, unit=u, array=a) for n, f, u, a in columns], name="SPEC1D"
    )
    table.header["TOMUJY"] = (1.0, "Conversion")
    img = fits.ImageHDU(image, name="SCI")
    img.header["BUNIT"] = "uJy"
    path = tmp_path / "astropy.fits"
    fits.HDUList([primary, table, img]).writeto(path)
    return path.read_bytes()


def test_bytes_equal_astropys(tmp_path):
    rng = np.random.default_rng(1)
    n = 37
    columns = [
        ("wave", "D", "um", np.linspace(0.6, 5.3, n)),
        ("fnu", "E", "uJy", rng.normal(size=n)),
        ("npix", "K", None, np.arange(n, dtype=np.int64)),
        ("name", "12A", None, np.array([f"row{i}" for i in range(n)])),
    ]
    image = rng.normal(size=(5, n)).astype(np.float32)
    mine = fits_bytes([
        primary_hdu(HEADER),
        table_hdu("SPEC1D", columns, {"TOMUJY": (1.0, "Conversion")}),
        image_hdu("SCI", image, {"BUNIT": "uJy"}),
    ])  # fmt: skip
    assert mine == _astropy_bytes(tmp_path, columns, image)


def test_cards_astropy_cannot_write_in_one_line_are_refused():
    with pytest.raises(ValueError, match="longer than 80"):
        card("LONG", "x" * 80)
    with pytest.raises(TypeError, match="must be str, bool, int or float"):
        card("LIST", [1, 2])
