"""FITS files read directly: headers parsed from their 80-character cards, tables mapped by numpy.

The lean path of ``read_spectrum(path, products="1d")``: it reads the headers up to the HDU it
wants, seeks past every data block it does not need and turns one binary table into numpy
arrays, with no astropy object built (astropy's per-card configuration lookups and column
objects cost about ten times the reading itself). It handles what the archive and msaexp
files hold: plain (uncompressed) files, fixed-width columns of the ``L B I J K E D A C M``
formats, and the usual card values. Anything else (gzip, ``CONTINUE`` or ``HIERARCH`` cards,
scaled or variable-length columns, bit columns, a damaged block) raises :class:`Unsupported`,
and the caller reads the file with astropy instead, so every file reads the same either way.

Examples
--------
>>> with open("ember_uds_p4_prism_clear_123456_spec.fits", "rb") as f:  # doctest: +SKIP
...     hdus = HeaderScan(f)
...     spec1d = hdus.find("SPEC1D")
...     data = read_table(f, spec1d)
>>> spec1d.name, sorted(data)[:2]  # doctest: +SKIP
('SPEC1D', ['flam', 'flam_err'])
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import IO, Any

import numpy as np

__all__ = ["BLOCK", "Column", "Hdu", "HeaderScan", "Unsupported", "parse_value", "read_table"]

BLOCK = 2880
_CARD = 80
_INT_RE = re.compile(r"[+-]?\d+")
_FLOAT_RE = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([EeDd][+-]?\d+)?")
_RVKC_RE = re.compile(r"\s*[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*\s*:\s*[+-]?[0-9.]")
_TFORM_RE = re.compile(r"\s*(\d*)([LBIJKEDACMXPQ])")
_DTYPES = {"L": "i1", "B": "u1", "I": ">i2", "J": ">i4", "K": ">i8", "E": ">f4", "D": ">f8",
           "C": ">c8", "M": ">c16"}  # fmt: skip
_COMMENTARY = ("COMMENT", "HISTORY", "")


class Unsupported(Exception):
    """A file layout the direct reader leaves to astropy; caught, never shown to users."""


def parse_value(text: str) -> Any:
    """The value of a card's value field (columns 11-80), as astropy reads it.

    Strings lose their trailing blanks; ``T``/``F`` are booleans; an empty field is None.

    Examples
    --------
    >>> parse_value("'PRISM   '           / disperser")
    'PRISM'
    >>> parse_value("'it''s'"), parse_value("                   T"), parse_value("  1.5D2 / x")
    ("it's", True, 150.0)
    >>> parse_value("                  42"), parse_value("   ") is None
    (42, True)
    """
    s = text.lstrip()
    if s.startswith("'"):
        out, i = [], 1
        while True:
            j = s.find("'", i)
            if j < 0:
                raise Unsupported("an unterminated string value")
            out.append(s[i:j])
            if s[j + 1 : j + 2] == "'":  # '' is a quote inside the string
                out.append("'")
                i = j + 2
                continue
            rest = s[j + 1 :].strip()
            if rest and not rest.startswith("/"):
                raise Unsupported("text after a string value")
            value = "".join(out).rstrip()
            if _RVKC_RE.match(value):  # a record-valued keyword card: astropy renames it
                raise Unsupported("a record-valued keyword card")
            return value
    s = s.split("/", 1)[0].strip()
    if not s:
        return None
    if s in ("T", "F"):
        return s == "T"
    if _INT_RE.fullmatch(s):
        return int(s)
    if _FLOAT_RE.fullmatch(s):
        return float(s.replace("D", "E").replace("d", "e"))
    raise Unsupported(f"a card value astropy must read ({s[:20]!r})")


@dataclass
class Column:
    """One binary-table column: its name and unit as written, its numpy type and offset."""

    name: str
    unit: str | None
    code: str
    repeat: int
    offset: int


@dataclass
class Hdu:
    """One header and where its data are: ``cards`` in order, ``header`` the first of each."""

    index: int
    cards: list[tuple[str, Any]]
    data_start: int
    data_size: int
    header: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """``EXTNAME`` upper-cased (``PRIMARY`` for the first HDU without one), as astropy."""
        ext = self.header.get("EXTNAME")
        if isinstance(ext, str) and ext.strip():
            return ext.strip().upper()
        return "PRIMARY" if self.index == 0 else ""

    @property
    def is_table(self) -> bool:
        """True for a binary table."""
        return self.index > 0 and self.header.get("XTENSION") == "BINTABLE"

    def columns(self) -> list[Column]:
        """The table's columns; :class:`Unsupported` for a layout astropy must read."""
        h = self.header
        if h.get("NAXIS") != 2 or h.get("GCOUNT", 1) != 1 or h.get("PCOUNT", 0) != 0:
            raise Unsupported("a table with a heap or unusual axes")
        cols, offset = [], 0
        for i in range(1, int(h.get("TFIELDS") or 0) + 1):
            if any(f"{k}{i}" in h for k in ("TSCAL", "TZERO", "TDIM")):
                raise Unsupported("a scaled or shaped column")
            m = _TFORM_RE.match(str(h.get(f"TFORM{i}", "")))
            if m is None or m.group(2) in "XPQ":
                raise Unsupported("a bit or variable-length column")
            repeat = int(m.group(1) or 1)
            code = f"S{repeat}" if m.group(2) == "A" else _DTYPES[m.group(2)]
            name = h.get(f"TTYPE{i}")
            unit = h.get(f"TUNIT{i}")
            cols.append(Column(
                name="" if name is None else str(name), unit=None if unit is None else str(unit),
                code=code, repeat=1 if m.group(2) == "A" else repeat, offset=offset,
            ))  # fmt: skip
            offset += np.dtype(code).itemsize * (1 if m.group(2) == "A" else repeat)
        if offset != h.get("NAXIS1"):
            raise Unsupported("a row width that disagrees with its columns")
        return cols


class HeaderScan:
    """The HDUs of an open file, their headers read one at a time as they are asked for."""

    def __init__(self, fileobj: IO[bytes]) -> None:
        self.file = fileobj
        self.hdus: list[Hdu] = []
        self._next = 0  # byte offset of the next unread header
        self._done = False

    def _read_one(self) -> Hdu | None:
        f = self.file
        f.seek(self._next)
        cards: list[tuple[str, Any]] = []
        while True:
            block = f.read(BLOCK)
            if not block:
                if cards or not self.hdus:
                    raise Unsupported("a header without END")
                return None
            if len(block) < BLOCK:
                raise Unsupported("a truncated header block")
            if not self.hdus and not cards and not block.startswith(b"SIMPLE  ="):
                raise Unsupported("not a plain FITS file")  # gzip, say
            try:
                text = block.decode("ascii")
            except UnicodeDecodeError:
                raise Unsupported("a header that is not ASCII") from None
            for k in range(0, BLOCK, _CARD):
                card = text[k : k + _CARD]
                key = card[:8].rstrip()
                if key == "END":
                    return self._finish(cards, f.tell())
                if key in ("CONTINUE", "HIERARCH"):
                    raise Unsupported(f"a {key} card")
                if key in _COMMENTARY:
                    cards.append((key, card[8:].rstrip()))
                elif card[8:10] == "= ":
                    cards.append((key, parse_value(card[10:])))
                else:
                    raise Unsupported(f"a {key} card without a value indicator")

    def _finish(self, cards: list[tuple[str, Any]], start: int) -> Hdu:
        header: dict[str, Any] = {}
        for key, value in cards:
            header.setdefault(key, value)
        naxis = int(header.get("NAXIS") or 0)
        size = 0
        if naxis:
            size = abs(int(header.get("BITPIX") or 8)) // 8
            for i in range(1, naxis + 1):
                size *= int(header.get(f"NAXIS{i}") or 0)
            size = (size + int(header.get("PCOUNT") or 0)) * int(header.get("GCOUNT") or 1)
        hdu = Hdu(len(self.hdus), cards, start, size, header)
        self._next = start + -(-size // BLOCK) * BLOCK
        return hdu

    def get(self, index: int) -> Hdu | None:
        """HDU ``index``, or None past the last."""
        while len(self.hdus) <= index and not self._done:
            hdu = self._read_one()
            if hdu is None:
                self._done = True
            else:
                self.hdus.append(hdu)
        return self.hdus[index] if index < len(self.hdus) else None

    def find(self, name: str) -> Hdu | None:
        """The first HDU named ``name`` (case-insensitive), reading no further than it."""
        key, i = name.strip().upper(), 0
        while (hdu := self.get(i)) is not None:
            if hdu.name == key:
                return hdu
            i += 1
        return None


def read_table(fileobj: IO[bytes], hdu: Hdu) -> dict[str, np.ndarray]:
    """A binary table's columns as native-endian arrays (``L`` as bool, ``A`` as str),
    keyed by the names as written.

    Raises
    ------
    Unsupported
        For a table layout astropy must read, or a data block shorter than its header says.
    """
    cols = hdu.columns()
    rows = int(hdu.header.get("NAXIS2") or 0)
    width = int(hdu.header["NAXIS1"])
    fileobj.seek(hdu.data_start)
    raw = fileobj.read(width * rows)
    if len(raw) < width * rows:
        raise Unsupported("a truncated table")
    dtype = np.dtype({
        "names": [f"c{i}" for i in range(len(cols))],
        "formats": [(c.code, (c.repeat,)) if c.repeat > 1 else c.code for c in cols],
        "offsets": [c.offset for c in cols], "itemsize": width,
    })  # fmt: skip
    table = np.frombuffer(raw, dtype=dtype, count=rows)
    out: dict[str, np.ndarray] = {}
    for i, c in enumerate(cols):
        values = table[f"c{i}"]
        if c.code == "i1":  # FITS logical: 'T' / 'F' bytes
            values = values == ord("T")
        elif c.code.startswith("S"):
            values = np.char.rstrip(values.astype(str))
        else:
            values = values.astype(values.dtype.newbyteorder("="))
        out.setdefault(c.name, values)
    return out
