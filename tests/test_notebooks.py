"""The notebooks run top to bottom against the served tiny demo archive, and show what they say.

Each notebook is executed once per test session, in a real kernel (nbclient), with the
environment the demo runners set (``CAMPFIRE_API_URL``, ``CAMPFIRE_API_KEY``, ``CAMPFIRE_ROOT``)
and after the preparation they make (sync, download ``ember_uds_p4``), both from
``binder/demo.py``'s own functions, which ``make demo`` and Binder's ``start`` call; the server
runs in this process on loopback. Every cell must run without an error; the outputs are then
checked against independent references: files on disk, the catalog exports, hand-computed
wavelengths. ``tests/test_binder.py`` checks that Binder's ``postBuild`` and ``start`` give the
notebooks that environment.

The notebooks are committed with the outputs of such a run, so they read on GitHub: run
``WRITE_NOTEBOOKS=1 pytest tests/test_notebooks.py`` to write them again (paths,
the server URL and keys scrubbed, widget state left out: each widget's static picture shows).
"""

from __future__ import annotations

import copy
import csv
import functools
import importlib.util
import json
import os
import re
import sys
from pathlib import Path
from types import ModuleType

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = REPO / "notebooks"
NOTEBOOKS = ["quickstart", "explorer", "calibrate-and-stack", "cutouts-and-shutters", "inspect"]


@functools.cache
def demo_runner() -> ModuleType:
    """``binder/demo.py``, the runner of ``make demo`` and Binder (a script, not a package)."""
    spec = importlib.util.spec_from_file_location("binder_demo", REPO / "binder" / "demo.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def kernel_env(srv, data: Path, home: Path) -> dict[str, str]:
    """The kernel's environment: the runner's client variables, a private CAMPFIRE_HOME."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CAMPFIRE_", "MPLBACKEND"))}
    runner = demo_runner().client_env(srv.archive_dir, srv.base_url, data)
    assert runner["CAMPFIRE_API_KEY"] == srv.users[0]["api_key"]  # alice: every program
    env.update(
        runner,
        CAMPFIRE_HOME=str(home),
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    return env


def runner_prepares(srv, data: Path, monkeypatch) -> None:
    """What ``binder/demo.py start`` does before a notebook opens: sync, download ember_uds_p4."""
    runner = demo_runner()
    env = runner.client_env(srv.archive_dir, srv.base_url, data)
    for name, value in env.items():  # sync_and_download sets them: restored after the test
        monkeypatch.setenv(name, value)
    runner.sync_and_download(env, "ember_uds_p4")
    assert sorted((data / "products" / "ember_uds_p4").glob("*_spec.fits"))


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def blank(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The notebook as it runs from scratch: outputs, counts and widget state cleared."""
    nb = copy.deepcopy(nb)
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return nb


def scrubbed(nb: nbformat.NotebookNode, srv, data: Path, home: Path) -> nbformat.NotebookNode:
    """An executed notebook fit to commit: no local paths, server URL, keys or widget state."""
    nb = copy.deepcopy(nb)
    nb.metadata.pop("widgets", None)  # the pictures beside the widgets show instead
    swaps = [(str(data), "~/campfire"), (str(home), "~/.campfire"),
             (srv.base_url, "http://127.0.0.1:8000/api/v1")]  # fmt: skip
    swaps += [(u["api_key"], "sk_live_…") for u in srv.users if u.get("api_key")]

    def clean(value):
        if isinstance(value, str):
            for old, new in swaps:
                value = value.replace(old, new)
            return re.sub(r'<table id="table\d+"', '<table id="table"', value)  # astropy's ids
        if isinstance(value, list):
            return [clean(v) for v in value]
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        return value

    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [nbformat.from_dict(clean(o)) for o in cell.outputs]
            for o in cell.outputs:  # execution metadata (timings) churns: leave it out
                o.get("metadata", {}).pop("execution", None)
            cell.metadata.pop("execution", None)
    return nb


def execute(name: str, srv, data: Path, tmp_path: Path) -> nbformat.NotebookNode:
    from nbclient import NotebookClient

    nb = blank(nbformat.read(NOTEBOOK_DIR / f"{name}.ipynb", as_version=4))
    client = NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK_DIR)}}
    )
    client.execute(env=kernel_env(srv, data, tmp_path / "home"))
    if os.environ.get("WRITE_NOTEBOOKS") == "1":
        out = scrubbed(nb, srv, data, tmp_path / "home")
        nbformat.write(out, NOTEBOOK_DIR / f"{name}.ipynb")
    return nb


def outputs(nb, source_contains: str) -> list[dict]:
    """The outputs of the (first) code cell whose source contains the text."""
    cell = next(c for c in nb.cells if c.cell_type == "code" and source_contains in c.source)
    return cell.outputs


def text(outs: list[dict]) -> str:
    """Streams and text/plain of the outputs."""
    parts = []
    for o in outs:
        if o["output_type"] == "stream":
            parts.append(o["text"])
        elif "data" in o:
            parts.append(o["data"].get("text/plain", ""))
    return "\n".join(parts)


def html(outs: list[dict]) -> str:
    return "\n".join(o["data"]["text/html"] for o in outs if "text/html" in o.get("data", {}))


def n_images(nb) -> int:
    cells = [c for c in nb.cells if c.cell_type == "code"]
    return sum("image/png" in o.get("data", {}) for c in cells for o in c.outputs)


# -- the committed files -------------------------------------------------------------------------


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_committed_notebook_has_its_outputs_and_configures_itself(name):
    path = NOTEBOOK_DIR / f"{name}.ipynb"
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    code = [c for c in nb.cells if c.cell_type == "code"]
    # committed as one clean run from the top (they read on GitHub): see the module docstring
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1)), "run them all"
    assert all(o["output_type"] != "error" for c in code for o in c.outputs)
    assert "widgets" not in nb.metadata  # no widget state: the static pictures show
    for c in code:
        for i, o in enumerate(c.outputs):
            if WIDGET_VIEW in o.get("data", {}):  # a widget, then its picture
                picture = c.outputs[i + 1]["data"]
                assert "cf-static-picture" in picture["text/html"] and "image/png" in picture
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    setup = code[0].source  # every notebook finds the demo server the same way
    assert "CAMPFIRE_API_URL" in setup and "demo-users.json" in setup and "make demo" in setup
    raw = path.read_text()
    assert "/work/" not in raw and "/tmp/" not in raw and "sk_live_" not in raw


def test_every_notebook_is_tested_here():
    assert sorted(p.stem for p in NOTEBOOK_DIR.glob("*.ipynb")) == sorted(NOTEBOOKS)


# -- executed ------------------------------------------------------------------------------------


def test_quickstart_syncs_downloads_queries_and_opens(tiny_server, tmp_path):
    data = tmp_path / "data"  # fresh: the notebook syncs and downloads by itself
    nb = execute("quickstart", tiny_server, data, tmp_path)

    with (data / "meta" / "objects.csv").open() as f:
        n_objects = sum(1 for _ in csv.DictReader(f))
    sync_html = html(outputs(nb, "result = cf.sync()"))
    assert "<caption>campfire sync</caption>" in sync_html
    assert f"<th style='text-align:left'>objects</th><td>{n_objects}</td>" in sync_html

    files = sorted((data / "products" / "ember_uds_p4").glob("*_spec.fits"))
    download_html = html(outputs(nb, 'cf.download(observations=["ember_uds_p4"])'))
    size = sum(f.stat().st_size for f in files)
    shown = f"{len(files)} file(s) downloaded ({size / 1e6:.1f} MB), 0 failed"  # decimal MB
    assert len(files) > 0 and shown in download_html

    typo = text(outputs(nb, "ember_uds_p9"))
    assert "Unknown observation 'ember_uds_p9'" in typo and "ember_uds_p4" in typo

    card = html(outputs(nb, "obj = cf.get_object(hero_id)"))
    assert "z=3.4210" in card and "ember_uds_p4_prism_clear_123456" in card
    spec_card = html(outputs(nb, "spec = obj.spectra[obj.spectra.grating =="))
    assert "<svg" in spec_card and "PRISM" in spec_card and "0.600–5.297 µm" in spec_card
    assert n_images(nb) >= 1  # spec.plot()
    # open_spectrum fetched a spectrum of an observation that was not downloaded, and kept it
    far = text(outputs(nb, "far = cf.open_spectrum"))
    sid = re.search(r"SpectrumData\((capers_cosmos_p1_\w+),", far).group(1)
    assert (data / "products" / "capers_cosmos_p1" / f"{sid}_spec.fits").is_file()


def test_explorer_tour(tiny_server, tmp_path, monkeypatch):
    from campfire import Campfire

    data = tmp_path / "data"
    runner_prepares(tiny_server, data, monkeypatch)
    nb = execute("explorer", tiny_server, data, tmp_path)

    live, picture = (o["data"] for o in outputs(nb, "ex = Explorer("))
    assert WIDGET_VIEW in live and "text/html" not in live  # the live view ...
    assert "<table" in picture["text/html"]  # ... and its static picture for GitHub and nbviewer
    assert "Object(J021740.53-051228.1, z=3.4210" in text(outputs(nb, "ex.show(hero_id)"))
    # Hα + [NII] window 6400-6700 Å at z = 3.421, by hand: 0.64 × 4.421, 0.67 × 4.421 µm
    assert text(outputs(nb, "ex.viewer.zoom_rest")).strip() == "[2.829, 2.962]"
    lrds = Campfire(base_url=tiny_server.base_url, data_dir=data).query_objects(tags=["lrd"])
    shown = text(outputs(nb, "ex.browser.set_filters"))
    assert f"{len(lrds)} little red dots" in shown
    assert re.search(r"now showing (J\S+) z=", shown).group(1) in set(lrds["object_id"])
    for source in ("browser = ObjectBrowser(", "viewer = SpectrumViewer(", "panel = CutoutPanel."):
        live, picture = (o["data"] for o in outputs(nb, source)[:2])
        assert WIDGET_VIEW in live and "cf-static-picture" in picture["text/html"]
        assert picture["image/png"].startswith("iVBOR")  # a PNG, base64
    assert_nbconvert_shows_pictures(nb)


def assert_nbconvert_shows_pictures(nb) -> None:
    """nbconvert's HTML of the executed notebook, widget state saved (as nbclient does): an
    ``<img>`` in a static picture right after each widget's (offline, empty) view."""
    from nbconvert import HTMLExporter

    assert nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    body, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
    views = [
        m.start() for m in re.finditer(r'<script type="application/vnd\.jupyter\.widget-view', body)
    ]
    n_widgets = sum(WIDGET_VIEW in o.get("data", {}) for c in nb.cells if c.cell_type == "code"
                    for o in c.outputs)  # fmt: skip
    assert len(views) == n_widgets >= 4  # nbconvert shows the widget views (state saved)
    ends = [*views[1:], len(body)]
    for start, end in zip(views, ends, strict=True):
        after = body[start:end]
        pic = after.find("cf-static-picture")
        assert pic != -1 and re.search(r"<img [^>]*src=\"data:image/png;base64,", after[pic:])


def test_calibrate_and_stack(tiny_server, tmp_path, monkeypatch):
    data = tmp_path / "data"
    runner_prepares(tiny_server, data, monkeypatch)
    nb = execute("calibrate-and-stack", tiny_server, data, tmp_path)

    bands = text(outputs(nb, "red_bands = ["))
    lya = float(re.search(r"Lyα at ([\d.]+) µm", bands).group(1))
    z = float(re.search(r"z=([\d.]+)", text(outputs(nb, "obj = cf.get_object("))).group(1))
    assert lya == pytest.approx(0.121567 * (1 + z), abs=0.006)
    checks = text(outputs(nb, "inputs_err = "))
    expected, got = map(float, re.search(r"expected ([\d.]+), stack ([\d.]+)", checks).groups())
    assert got == pytest.approx(expected, rel=0.1)  # inverse-variance error of the stack
    for stack, phot, err in re.findall(
        r"stack ([\d.]+) ± [\d.]+ µJy, photometry ([\d.]+) ± ([\d.]+) µJy", checks
    ):
        assert abs(float(stack) - float(phot)) < 3 * float(err)  # calibrated to the photometry
    assert checks.count("photometry") >= 2
    n = int(re.search(r"(\d+) spectra in the composite", text(outputs(nb, "rest = []"))).group(1))
    assert n >= 3
    assert n_images(nb) == 3  # calibration, stack and composite figures
    assert "<svg" in html(outputs(nb, "stacked = result.spectrum"))


def test_cutouts_and_shutters(tiny_server, tmp_path, monkeypatch):
    data = tmp_path / "data"
    runner_prepares(tiny_server, data, monkeypatch)
    nb = execute("cutouts-and-shutters", tiny_server, data, tmp_path)

    assert n_images(nb) >= 4  # one cutout, three styles, plot_cutout by hand, the panel's picture
    path = Path(text(outputs(nb, "path = cf.get_cutout(")).splitlines()[0])
    assert path.is_file() and path.read_bytes()[:4] == b"\x89PNG"
    cached = json.loads(next((data / "cutouts").glob("*_fov3.2_shutters.json")).read_text())
    table = text(outputs(nb, "path = cf.get_cutout("))
    assert f"<Table length={len(cached['shutters'])}>" in table
    pdf = (data / "exports" / "cutout.pdf").read_bytes()
    assert pdf.startswith(b"%PDF")
    region = (data / "exports" / "shutters.reg").read_text()
    assert region.startswith("# Region file format: DS9")
    assert sum(ln.startswith("box(") for ln in region.splitlines()) == len(cached["shutters"])
    assert region[:600] in text(outputs(nb, "get_shutters_region"))


def test_inspect_workflow(tiny_server, tmp_path, monkeypatch):
    import requests

    data = tmp_path / "data"
    runner_prepares(tiny_server, data, monkeypatch)
    nb = execute("inspect", tiny_server, data, tmp_path)

    oid = re.search(r"(J\S+): automatic z", text(outputs(nb, "todo = cf.query_objects"))).group(1)
    saved = text(outputs(nb, "obj = cf.inspect(oid"))
    assert "quality 4, 0 write(s) waiting" in saved and "Alice Admin: Lines line up" in saved
    assert oid in text(outputs(nb, "# the query tables show it"))
    assert "34 ['CONTAMINATION', 'LOW_SNR']" in text(outputs(nb, "row = cf.set_dq_flags"))
    offline = text(outputs(nb, "train = Campfire()"))
    assert "waiting: 1 ['comment']" in offline and "pushed: 1 still waiting: 0" in offline
    assert "Checked again on the train" in offline
    conflict = text(outputs(nb, "laptop = Campfire("))
    assert "was changed by Alice Admin" in conflict and "theirs: 3 by Alice Admin" in conflict
    assert "laptop now shows quality 3 | conflicts left: 0" in text(
        outputs(nb, "laptop.resolve_conflict")
    )
    sheet = text(outputs(nb, "report = cf.import_inspections"))
    assert "1 row(s) to apply, 1 error(s)" in sheet
    assert "line 3: no object 'J000000.00+000000.0' in the catalog" in sheet
    # the archive has what the notebook wrote (read as the demo user, not through campfire)
    headers = {"Authorization": f"Bearer {tiny_server.users[0]['api_key']}"}

    def feed(name: str) -> list[dict]:
        url = f"{tiny_server.base_url}/sync/{name}"
        return requests.get(url, params={"limit": 10000}, headers=headers, timeout=30).json()[
            "data"
        ]

    row = next(o for o in feed("objects") if o["object_id"] == oid)
    assert row["redshift_quality"] == 3 and row["redshift_inspected"] is not None
    bodies = [c["body"] for c in feed("comments") if c["object_id"] == oid]
    assert bodies == ["Lines line up with the automatic z", "Checked again on the train"]
    picks = next(x for x in feed("lists") if x["slug"] == "notebook-picks")
    assert picks["object_ids"] == [oid] and picks["visibility"] == "private"
