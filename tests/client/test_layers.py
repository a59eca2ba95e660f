"""The client's layers hold: SQL only in ``campfire/catalog``, ``Campfire`` composed (no
mixins), one result and error contract.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import campfire
from campfire.client import Campfire
from campfire.download.run import DownloadResult, Failure
from campfire.errors import CampfireError, NotFoundError
from campfire.sync.result import SyncResult

PACKAGE = Path(campfire.__file__).parent
# Every module parsed once, when pytest collects this file: before any test starts a server
# thread. CPython 3.11's ast keeps one recursion counter per interpreter, so an ast.parse racing
# another thread's can fail with "SystemError: AST constructor recursion depth mismatch".
TREES: dict[Path, ast.Module] = {
    path: ast.parse(path.read_text(), str(path)) for path in sorted(PACKAGE.rglob("*.py"))
}
SQL = re.compile(
    r"\b(SELECT\s.+\sFROM|INSERT\s+(OR\s+\w+\s+)?INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|"
    r"CREATE\s+(TABLE|INDEX)|PRAGMA)\b",
    re.IGNORECASE | re.DOTALL,
)
EXECUTE = {"execute", "executemany", "executescript"}


def _client_modules() -> list[Path]:
    """Every client module outside the catalog (the server has its own database)."""
    skip = (PACKAGE / "catalog", PACKAGE / "server")
    return [p for p in PACKAGE.rglob("*.py") if not any(p.is_relative_to(s) for s in skip)]


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def test_no_sql_against_the_local_catalog_outside_campfire_catalog():
    found = []
    for path in _client_modules():
        tree = TREES[path]
        docs = _docstrings(tree)
        for node in ast.walk(tree):
            where = f"{path.relative_to(PACKAGE.parent)}:{getattr(node, 'lineno', '?')}"
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if id(node) not in docs and SQL.search(node.value):
                    found.append(f"{where} SQL text {node.value[:40]!r}")
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                if node.func.attr in EXECUTE:
                    found.append(f"{where} .{node.func.attr}(...)")
            elif isinstance(node, ast.ImportFrom) and node.module == "campfire.catalog.sql":
                names = {a.name for a in node.names}
                found += [f"{where} compiles catalog SQL"] if "compile_local" in names else []
    assert found == []


def test_the_checker_sees_sql_where_it_is():
    store = (PACKAGE / "catalog" / "store.py").read_text()
    assert SQL.search(store) and ".execute(" in store


def test_one_definition_of_an_active_object():
    uses = [
        str(p.relative_to(PACKAGE))
        for p in PACKAGE.rglob("*.py")
        if not p.is_relative_to(PACKAGE / "server")
        and re.search(r"coalesce\(\s*(o\.)?is_active\s*,\s*1\)|is_active\s*=\s*1", p.read_text())
    ]
    assert uses == ["catalog/schema.py"]


def test_the_top_level_holds_only_the_public_modules():
    modules = {p.stem for p in PACKAGE.glob("*.py")}
    packages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert modules == {
        "__init__", "__main__", "_version", "errors", "config", "flags", "imaging",
        "calibration", "widgets",
    }  # fmt: skip
    assert "client" in packages


def test_campfire_is_composed_not_a_lattice_of_mixins(tmp_path):
    from campfire.catalog.reader import CatalogReader
    from campfire.client.cutouts import CutoutCache
    from campfire.client.remote import RemoteRecords
    from campfire.download.service import DownloadService

    assert Campfire.__mro__ == (Campfire, object)
    cf = Campfire(data_dir=tmp_path)
    assert isinstance(cf.reader, CatalogReader) and isinstance(cf.remote, RemoteRecords)
    assert isinstance(cf.downloads, DownloadService) and isinstance(cf.cutouts, CutoutCache)
    assert cf.downloads is cf.downloads and cf.downloads.reader is cf.reader  # built once


def test_sync_result_is_a_dataclass_that_reads_like_the_documented_dict():
    r = SyncResult(observations=8, objects=2450, spectra=7200, spectra_purged=3)
    assert r["objects"] == r.objects == 2450 and r["spectra_purged"] == 3
    assert r["objects_purged"] == r["photometry_purged"] == 0
    assert "purged_spectra" not in r and "stale_count" in r
    assert dict(r)["spectra"] == 7200 and r == dict(r)
    assert repr(r) == repr(dict(r))  # the dict it used to be
    assert "<caption>campfire sync</caption>" in r._repr_html_()
    with pytest.raises(KeyError):
        r["missing"]


def test_download_result_reads_like_the_documented_dict_too():
    r = DownloadResult(downloaded=2, bytes=10, files=["a", "b"])
    r.failures.append(Failure("s", "o", "o/x.fits", "broken"))
    assert (r["downloaded"], r["failed"], r["bytes"], r["ok"]) == (2, 1, 10, False)
    assert set(r) == {"downloaded", "bytes", "files", "failures", "failed", "ok"}
    assert repr(r) == "DownloadResult(downloaded=2 files, 10 B, failed=1: o/x.fits: broken)"
    assert "1 failed" in r._repr_html_()
    with pytest.raises(KeyError):
        r["objects"]


def test_no_catalog_is_one_error_everywhere(tmp_path, monkeypatch):
    from campfire.catalog.engine import Catalog

    monkeypatch.setenv("CAMPFIRE_OFFLINE", "1")
    cf = Campfire(data_dir=tmp_path)
    for call in (
        lambda: Catalog(tmp_path / "meta" / "campfire.db"),
        lambda: cf.sql("SELECT 1"),
        lambda: cf.download(observations=["x"]),
    ):
        with pytest.raises(NotFoundError, match=r"(?i)no local catalog"):
            call()


def test_no_bare_campfire_error_is_raised():
    bare = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(TREES[path]):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
                func = node.exc.func
                if isinstance(func, ast.Name) and func.id == CampfireError.__name__:
                    bare.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert bare == []
