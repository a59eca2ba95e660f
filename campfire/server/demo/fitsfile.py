"""FITS files written directly: cards formatted as astropy formats them, data as big-endian bytes.

The demo writes about a thousand ``_spec.fits`` and ``_zfit.fits`` files for the small archive;
building them through astropy's HDU objects cost more than simulating them (every card and
column passes through astropy's configuration lookups). Here a file is a list of HDUs, each a
header (``(keyword, value)`` or ``(keyword, (value, comment))`` pairs after the structural
keywords this module writes) and its data; the bytes are what astropy's ``writeto`` gives for
the same HDUs (``tests/demo/test_demo_fitsfile.py`` compares them), so the files are the same
whichever writer made them, and the same inputs give the same bytes.

Examples
--------
>>> import numpy as np
>>> raw = fits_bytes([primary_hdu({"GRATING": "PRISM"}),
...                   table_hdu("SPEC1D", [("wave", "D", "um", np.array([1.0, 2.0]))], {})])
>>> len(raw) % 2880, raw[:30]
(0, b'SIMPLE  =                    T')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["Column", "card", "fits_bytes", "image_hdu", "primary_hdu", "table_hdu", "write_fits"]

BLOCK = 2880
#: one binary-table column: name, FITS format (``D``, ``E``, ``K``, ``J``, ``nA``), unit, values
Column = tuple[str, str, str | None, np.ndarray]
Hdu = tuple[list[str], bytes]  # header cards (80 characters each) and data bytes

_CODES = {"D": ">f8", "E": ">f4", "K": ">i8", "J": ">i4", "I": ">i2", "B": "u1"}


def _float(value: Any) -> str:
    text = str(float(value)).replace("e", "E")
    if len(text) > 20:  # astropy's rule: keep at most 20 characters
        at = text.find("E")
        text = text[:20] if at < 0 else text[: 20 - (len(text) - at)] + text[at:]
    return text


def card(keyword: str, value: Any, comment: str | None = None) -> str:
    """One 80-character header card, formatted as astropy formats it.

    Examples
    --------
    >>> card("GRATING", "PRISM", "disperser").rstrip()
    "GRATING = 'PRISM   '           / disperser"
    >>> card("EXPTIME", 5000.0).rstrip(), card("WAVECOR", True).rstrip()[-1]
    ('EXPTIME =               5000.0', 'T')
    """
    if isinstance(value, str):
        text = "{:20}".format(f"'{value.replace(chr(39), chr(39) * 2):8}'" if value else "''")
    elif isinstance(value, bool | np.bool_):
        text = f"{'T' if value else 'F':>20}"
    elif isinstance(value, int | np.integer):
        text = f"{int(value):>20d}"
    elif isinstance(value, float | np.floating):
        text = f"{_float(value):>20}"
    else:
        raise TypeError(f"{keyword}: a card value must be str, bool, int or float, not {value!r}")
    out = f"{keyword:8}= {text}" + (f" / {comment}" if comment else "")
    if len(out) > 80:
        raise ValueError(f"{keyword}: the card is longer than 80 characters ({out!r})")
    return f"{out:80}"


def _cards(values: Mapping[str, Any]) -> list[str]:
    out = []
    for key, value in values.items():
        v, c = value if isinstance(value, tuple) else (value, None)
        out.append(card(key, v, c))
    return out


def primary_hdu(header: Mapping[str, Any]) -> Hdu:
    """A primary HDU without data, its keywords after ``SIMPLE``…``EXTEND``."""
    head = [
        card("SIMPLE", True, "conforms to FITS standard"),
        card("BITPIX", 8, "array data type"),
        card("NAXIS", 0, "number of array dimensions"),
        card("EXTEND", True),
    ]
    return head + _cards(header), b""


def image_hdu(name: str, data: np.ndarray, header: Mapping[str, Any]) -> Hdu:
    """A 2D float32 image extension named ``name``."""
    arr = np.ascontiguousarray(data, dtype=">f4")
    ny, nx = arr.shape
    head = [
        card("XTENSION", "IMAGE", "Image extension"),
        card("BITPIX", -32, "array data type"),
        card("NAXIS", 2, "number of array dimensions"),
        card("NAXIS1", nx),
        card("NAXIS2", ny),
        card("PCOUNT", 0, "number of parameters"),
        card("GCOUNT", 1, "number of groups"),
        card("EXTNAME", name, "extension name"),
    ]
    return head + _cards(header), arr.tobytes()


def table_hdu(name: str, columns: Sequence[Column], header: Mapping[str, Any]) -> Hdu:
    """A binary table extension named ``name`` with one row per value of each column."""
    rows = len(columns[0][3]) if columns else 0
    formats, cols = [], []
    for i, (col, fmt, unit, _) in enumerate(columns, start=1):
        formats.append(f"S{int(fmt[:-1] or 1)}" if fmt.endswith("A") else _CODES[fmt])
        cols.append(card(f"TTYPE{i}", col))
        cols.append(card(f"TFORM{i}", fmt))
        if unit:
            cols.append(card(f"TUNIT{i}", unit))
    dtype = np.dtype({"names": [f"c{i}" for i in range(len(columns))], "formats": formats})
    table = np.zeros(rows, dtype=dtype)
    for i, (_, _, _, values) in enumerate(columns):
        if formats[i].startswith("S"):
            values = np.char.encode(np.asarray(values).astype(str), "ascii")
        table[f"c{i}"] = values
    head = [
        card("XTENSION", "BINTABLE", "binary table extension"),
        card("BITPIX", 8, "array data type"),
        card("NAXIS", 2, "number of array dimensions"),
        card("NAXIS1", dtype.itemsize, "length of dimension 1"),
        card("NAXIS2", rows, "length of dimension 2"),
        card("PCOUNT", 0, "number of group parameters"),
        card("GCOUNT", 1, "number of groups"),
        card("TFIELDS", len(columns), "number of table fields"),
        *cols,
        card("EXTNAME", name, "extension name"),
    ]
    return head + _cards(header), table.tobytes()


def fits_bytes(hdus: Sequence[Hdu]) -> bytes:
    """The bytes of a FITS file of ``hdus``: headers padded with blanks, data with zeros."""
    parts = []
    for head, data in hdus:
        text = "".join(head) + f"{'END':80}"
        parts.append(text.ljust(-(-len(text) // BLOCK) * BLOCK).encode("ascii"))
        parts.append(data + b"\0" * (-len(data) % BLOCK))
    return b"".join(parts)


def write_fits(path: Path, hdus: Sequence[Hdu]) -> bytes:
    """Write ``hdus`` to ``path`` (replacing it) and return the bytes written."""
    raw = fits_bytes(hdus)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(raw)
    return raw
