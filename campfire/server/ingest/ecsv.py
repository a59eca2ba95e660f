"""Read ECSV tables (targets, shutters, inspections, photometry) into plain Python columns.

The products' ECSV files are simple: scalar ``int*``/``float*``/``string``/``bool`` columns,
space-delimited. Those are parsed directly (many times faster than the general reader, which
matters for large programs); anything else (another delimiter, multidimensional or structured
columns) goes through ``astropy.table.Table.read``. Either way, masked (empty) and non-finite
cells become ``None``.

Examples
--------
>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "t.ecsv"
>>> _ = p.write_text('''# %ECSV 1.0
... # ---
... # datatype:
... # - {name: source_id, datatype: int64}
... # - {name: z, datatype: float64}
... # - {name: tags, datatype: string}
... # schema: astropy-2.0
... source_id z tags
... 1 2.5 "lrd;blagn"
... 2 "" ""
... ''')
>>> t = read_ecsv(p)
>>> t.colnames, len(t), t.columns["z"], t.columns["tags"]
(['source_id', 'z', 'tags'], 2, [2.5, None], ['lrd;blagn', None])
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["EcsvTable", "read_ecsv"]

_FIELD = re.compile(r"^# - \{name: (?P<name>[^,}]+), (?P<rest>.*)\}$")
_DTYPE = re.compile(r"datatype: (?P<dtype>[a-z0-9]+)")
_SIMPLE = {"int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
           "float16", "float32", "float64", "string", "bool"}  # fmt: skip


@dataclass
class EcsvTable:
    """Column names and their values as lists."""

    colnames: list[str]
    columns: dict[str, list[Any]]

    def __len__(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else 0


def _convert(dtype: str, raw: tuple[str, ...]) -> list[Any]:
    """One column's cells; an empty cell is masked (astropy reads it as masked too)."""
    if dtype == "string":
        return [x if x != "" else None for x in raw]
    if dtype.startswith(("int", "uint")):
        return [int(x) if x != "" else None for x in raw]
    if dtype == "bool":
        return [None if x == "" else x == "True" for x in raw]
    values = [float(x) if x != "" else None for x in raw]
    return [v if v is None or math.isfinite(v) else None for v in values]


def _fast(path: Path) -> EcsvTable | None:
    """Parse a simple ECSV file, or None if it needs the general reader."""
    header: list[str] = []
    body: list[str] = []
    with open(path, encoding="utf-8") as fh:
        first = fh.readline()
        if not first.startswith("# %ECSV"):
            return None
        for line in fh:
            (header if line.startswith("#") else body).append(line)
    dtypes: dict[str, str] = {}
    for line in header:
        line = line.rstrip("\n")
        if "delimiter:" in line or "subtype:" in line:
            return None
        m = _FIELD.match(line)
        if m:
            d = _DTYPE.search(m["rest"])
            if d is None or d["dtype"] not in _SIMPLE:
                return None
            dtypes[m["name"].strip()] = d["dtype"]
    rows = list(csv.reader(body, delimiter=" ", quotechar='"'))
    if not rows:
        return None
    names = rows[0]
    if sorted(names) != sorted(dtypes):
        return None
    data = [r for r in rows[1:] if r]
    for lineno, row in enumerate(data, start=2):
        if len(row) != len(names):
            raise ValueError(f"row {lineno - 1} has {len(row)} values for {len(names)} columns")
    cells = list(zip(*data, strict=True)) if data else [() for _ in names]
    columns = {n: _convert(dtypes[n], c) for n, c in zip(names, cells, strict=True)}
    return EcsvTable(colnames=names, columns=columns)


def _general(path: Path) -> EcsvTable:
    import numpy as np
    from astropy.table import Table

    table = Table.read(path, format="ascii.ecsv")
    columns: dict[str, list[Any]] = {}
    for name in table.colnames:
        c = table[name]
        mask = np.ma.getmaskarray(c) if hasattr(c, "mask") else np.zeros(len(c), bool)
        columns[name] = [
            None if m or v is None or (isinstance(v, float) and not math.isfinite(v)) else v
            for v, m in zip(np.asarray(c).tolist(), mask.tolist(), strict=True)
        ]
    return EcsvTable(colnames=list(table.colnames), columns=columns)


def read_ecsv(path: str | Path) -> EcsvTable:
    """Read an ECSV file.

    Raises
    ------
    ValueError, OSError
        When the file is not a readable ECSV table.
    """
    path = Path(path)
    return _fast(path) or _general(path)
