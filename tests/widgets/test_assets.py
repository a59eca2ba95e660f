"""Every widget's ES module and CSS resolve, and the wheel carries them as static files."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest

import campfire.widgets as widgets
from campfire.views.widgets._assets import BUNDLES, asset, asset_dirs, esm
from campfire.views.widgets.explorer import ExplorerHeader
from campfire.views.widgets.science_panel import SciencePanel

ROOT = Path(__file__).resolve().parents[2]
CLASSES = {
    "object_browser": widgets.ObjectBrowser,
    "spectrum_viewer": widgets.SpectrumViewer,
    "cutout_panel": widgets.CutoutPanel,
    "explorer": ExplorerHeader,
    "science_panel": SciencePanel,
}


@pytest.mark.parametrize("stem", sorted(CLASSES))
def test_each_widget_loads_its_own_module_and_css(stem):
    cls = CLASSES[stem]
    css = Path(cls._css._path)
    assert css.name == f"{stem}.css" and css.is_file()
    assert cls.__module__ == f"campfire.views.widgets.{stem}"
    if f"{stem}.js" in BUNDLES:  # written as modules, loaded as one: the joined text
        text = str(cls._esm)
        assert text == esm(f"{stem}.js")
        for part in BUNDLES[f"{stem}.js"]:
            assert f"// ---- {part}\n" in text and asset(part).is_file()
    else:
        path = Path(cls._esm._path)
        assert path.name == f"{stem}.js" and path.is_file()
        text = path.read_text()
    assert text.count("export default { render }") == 1
    assert not [ln for ln in text.splitlines() if ln.startswith("import ")]  # no imports, no CDN
    assert 'from "./' not in text


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_a_bundled_widget_is_one_module_node_can_load(tmp_path):
    import subprocess

    for name in BUNDLES:
        path = tmp_path / name.replace(".js", ".mjs")
        path.write_text(str(esm(name)))
        probe = f"import('{path.as_uri()}').then(m => console.log(typeof m.default.render))"
        out = subprocess.run(["node", "-e", probe], capture_output=True, text=True, timeout=60)
        assert out.stdout.strip() == "function", out.stderr


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
    parts = {part for parts in BUNDLES.values() for part in parts}
    assert static == {
        f"campfire/views/widgets/static/{stem}.{ext}" for stem in CLASSES for ext in ("js", "css")
    } | {f"campfire/views/widgets/static/{part}" for part in parts}
