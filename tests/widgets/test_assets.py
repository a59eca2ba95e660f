"""Every widget's ES module and CSS resolve, and the wheel carries them as static files."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest

import campfire.widgets as widgets
from campfire.views.widgets._assets import asset, asset_dirs
from campfire.views.widgets.explorer import ExplorerHeader

ROOT = Path(__file__).resolve().parents[2]
CLASSES = {
    "object_browser": widgets.ObjectBrowser,
    "spectrum_viewer": widgets.SpectrumViewer,
    "cutout_panel": widgets.CutoutPanel,
    "explorer": ExplorerHeader,
}


@pytest.mark.parametrize("stem", sorted(CLASSES))
def test_each_widget_loads_its_own_module_and_css(stem):
    cls = CLASSES[stem]
    esm, css = Path(cls._esm._path), Path(cls._css._path)
    assert (esm.name, css.name) == (f"{stem}.js", f"{stem}.css")
    assert esm.is_file() and css.is_file()
    assert cls.__module__ == f"campfire.views.widgets.{stem}"
    text = esm.read_text()
    assert "export default { render }" in text
    assert "import " not in text.split("export")[0]  # self-contained: no imports, no CDN


def test_asset_lookup_prefers_the_wheel_copy_and_names_both_places():
    dirs = asset_dirs()
    assert dirs[0].parts[-2:] == ("widgets", "static") and dirs[1] == ROOT / "widgets"
    with pytest.raises(FileNotFoundError, match=r"nope\.js.*static.*widgets"):
        asset("nope.js")


def test_public_names():
    assert widgets.__all__ == ["CutoutPanel", "Explorer", "ObjectBrowser", "SpectrumViewer"]
    with pytest.raises(AttributeError, match="Browser"):
        widgets.Browser  # noqa: B018


def test_the_wheel_carries_the_widgets_as_static_files(tmp_path):
    builder = pytest.importorskip("hatchling.builders.wheel", reason="hatchling not installed")
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "widgets", src / "widgets")
    shutil.copytree(
        ROOT / "campfire", src / "campfire", ignore=shutil.ignore_patterns("__pycache__", "static")
    )
    wheel = builder.WheelBuilder(str(src))
    (path,) = list(wheel.build(directory=str(tmp_path / "dist"), versions=["standard"]))
    names = set(zipfile.ZipFile(path).namelist())
    static = {n for n in names if n.startswith("campfire/views/widgets/static/")}
    # only the modules and styles: never the JS linter's package files or node_modules
    assert static == {
        f"campfire/views/widgets/static/{stem}.{ext}" for stem in CLASSES for ext in ("js", "css")
    }
