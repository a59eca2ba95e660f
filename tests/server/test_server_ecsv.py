"""The fast ECSV reader agrees with astropy's, including masked and non-finite cells."""

from __future__ import annotations

import math

import numpy as np
import pytest
from astropy.table import MaskedColumn, Table

from campfire.server.ingest.ecsv import read_ecsv


def astropy_lists(path):
    t = Table.read(path, format="ascii.ecsv")
    out = {}
    for name in t.colnames:
        c = t[name]
        mask = np.ma.getmaskarray(c)
        out[name] = [
            None if m or (isinstance(v, float) and not math.isfinite(v)) else v
            for v, m in zip(np.asarray(c).tolist(), mask.tolist(), strict=True)
        ]
    return out


def test_matches_astropy_on_a_mixed_table(tmp_path):
    t = Table()
    t["source_id"] = [1, 2, 3]
    t["z"] = MaskedColumn([2.5, 0.0, np.nan], mask=[False, True, False])
    t["by"] = ["ada lovelace", "", 'quote "x"']
    t["flag"] = [True, False, True]
    t["count"] = np.array([1, 2, 3], dtype=np.int16)
    t.write(tmp_path / "t.ecsv")
    got = read_ecsv(tmp_path / "t.ecsv")
    assert got.colnames == t.colnames and len(got) == 3
    assert got.columns == astropy_lists(tmp_path / "t.ecsv")
    assert got.columns["z"] == [2.5, None, None]


def test_fixture_products_read_identically(built):
    root, _ = built
    files = sorted((root / "products").rglob("*.ecsv"))
    assert len(files) >= 5
    for path in files:
        assert read_ecsv(path).columns == astropy_lists(path), path


def test_unusual_tables_fall_back_to_astropy(tmp_path):
    t = Table({"a": [[1, 2], [3, 4]], "b": [1.0, 2.0]})  # a 2-D column
    t.write(tmp_path / "v.ecsv")
    got = read_ecsv(tmp_path / "v.ecsv")
    assert got.columns["b"] == [1.0, 2.0] and got.columns["a"] == [[1, 2], [3, 4]]
    t.write(tmp_path / "c.ecsv", delimiter=",")
    assert read_ecsv(tmp_path / "c.ecsv").columns["b"] == [1.0, 2.0]


def test_garbage_is_an_error(tmp_path):
    (tmp_path / "g.ecsv").write_text("# %ECSV 1.0\n# ---\nnot yaml at all: [\n")
    with pytest.raises(Exception):  # noqa: B017 - astropy's own error types vary
        read_ecsv(tmp_path / "g.ecsv")
