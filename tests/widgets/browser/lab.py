"""Drive a real JupyterLab on loopback with Debian's Chromium (Playwright), for browser tests.

Nothing is downloaded: Chromium is ``/usr/bin/chromium`` (never ``playwright install``), the
lab extensions come from the venv, and both the browser and the lab server run with their
network features off.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip
#: Drag the spectrum viewer's redshift slider one step a frame for ``frames`` frames, after
#: the page's idle frame rate over as many frames (the baseline, measured just before);
#: answers fps, idle_fps, the science panel's marker draws, its marker and the viewer's z, and
#: the overlay's draw time. Used by the browser test and by ``benchmarks/explorer_frames.py``.
DRAG_WITH_PANEL = """async (frames) => {
  const slider = document.querySelector('.cf-sv-zslider');
  const sp = document.querySelector('.cf-sp');
  const sv = document.querySelector('.cf-sv');
  const frame = () => new Promise((r) => requestAnimationFrame(r));
  for (let i = 0; i < 10; i++) await frame();
  const i0 = performance.now();
  for (let i = 0; i < frames; i++) await frame();
  const idleFps = (frames / (performance.now() - i0)) * 1000;
  const draws0 = Number(sp.dataset.markerDraws || 0);
  const t0 = performance.now();
  for (let i = 0; i < frames; i++) {
    slider.value = String(2.0 + i * 0.01);
    slider.dispatchEvent(new Event('input'));
    await frame();
  }
  const elapsed = performance.now() - t0;
  await frame();
  return { fps: (frames / elapsed) * 1000, idle_fps: idleFps,
           markerDraws: Number(sp.dataset.markerDraws) - draws0,
           marker: sp.dataset.marker, z: sv.dataset.redshift,
           overlay_ms: Number(sv.dataset.overlayMs || 'NaN') };
}"""
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "widgets"
INSTALL_HINT = (
    "browser tests need Debian's Chromium, JupyterLab and Playwright: "
    "apt-get install -y chromium && .venv/bin/pip install jupyterlab playwright "
    "(never `playwright install`)"
)


def missing() -> str | None:
    """Why browser tests cannot run here, or None."""
    if not os.access(CHROMIUM, os.X_OK):
        return f"{CHROMIUM} not found; {INSTALL_HINT}"
    for module in ("playwright", "jupyterlab", "ipykernel", "nbformat"):
        try:
            __import__(module)
        except ImportError:
            return f"python package {module!r} missing; {INSTALL_HINT}"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Lab:
    """A JupyterLab server in a temporary root, with a token; stopped by :meth:`stop`."""

    def __init__(self, workdir: Path) -> None:
        self.root = workdir / "notebooks"
        self.root.mkdir(parents=True, exist_ok=True)
        root = self.root
        self.port = _free_port()
        self.token = "campfire-widgets-test"
        self.url = f"http://127.0.0.1:{self.port}"
        home = workdir / "home"
        env = {
            **os.environ,
            "HOME": str(home),
            "JUPYTER_CONFIG_DIR": str(home / "config"),
            "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
            "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
            "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
            "MPLBACKEND": "Agg",
        }
        env = {k: v for k, v in env.items() if not k.startswith("CAMPFIRE_")}
        self.log = workdir / "lab.log"
        # open a notebook without the "select kernel" dialog, and no telemetry/news popups
        settings = home / "settings" / "@jupyterlab"
        (settings / "notebook-extension").mkdir(parents=True)
        (settings / "notebook-extension" / "tracker.jupyterlab-settings").write_text(
            json.dumps({"defaultKernelName": "python3"})
        )
        (settings / "apputils-extension").mkdir(parents=True)
        (settings / "apputils-extension" / "notification.jupyterlab-settings").write_text(
            json.dumps({"fetchNews": "false", "checkForUpdates": False})
        )
        cmd = [
            sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
            "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}",
            f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={root}",
            "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.extension_manager=readonly",
        ]  # fmt: skip
        self._log = self.log.open("w")
        self.proc = subprocess.Popen(cmd, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        self._wait_up()

    def _wait_up(self, timeout: float = 120) -> None:
        import requests

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited: {self.log.read_text()[-3000:]}")
            try:
                r = requests.get(f"{self.url}/api/status", params={"token": self.token}, timeout=2)
                if r.ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"JupyterLab did not start: {self.log.read_text()[-3000:]}")

    def write_notebook(self, name: str, cells: list[str]) -> str:
        import nbformat

        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell(src) for src in cells]
        nb.metadata["kernelspec"] = {
            "name": "python3",
            "display_name": "Python 3",
            "language": "python",
        }
        nbformat.write(nb, self.root / name)
        return name

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._log.close()


class Notebook:
    """An open notebook page: run cells, wait for the kernel, screenshot."""

    def __init__(self, page: Any, lab: Lab, name: str) -> None:
        self.page = page
        self.errors: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.goto(f"{lab.url}/lab/tree/{name}?token={lab.token}&reset")
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=90_000)
        page.wait_for_function(
            "() => { const w = window.jupyterapp?.shell?.currentWidget;"
            " const k = w?.sessionContext?.session?.kernel;"
            " return k && k.status === 'idle'; }",
            timeout=120_000,
        )

    def run_cell(self, index: int, timeout: float = 120_000) -> float:
        """Run one cell and wait until the kernel is idle; returns page time (ms) at start."""
        started = self.page.evaluate(
            """async (i) => {
              const app = window.jupyterapp;
              const panel = app.shell.currentWidget;
              panel.content.activeCellIndex = i;
              const t0 = performance.now();
              await app.commands.execute('notebook:run-cell');
              return t0;
            }""",
            index,
        )
        self.wait_idle(timeout)
        return float(started)

    def wait_idle(self, timeout: float = 120_000) -> None:
        self.page.wait_for_function(
            "() => { const w = window.jupyterapp.shell.currentWidget;"
            " const cells = w.content.widgets;"
            " const k = w.sessionContext.session.kernel;"
            " return k.status === 'idle' && cells.every(c => !c.model.executionState ||"
            " c.model.executionState === 'idle'); }",
            timeout=timeout,
        )

    def outputs_text(self) -> str:
        return str(self.page.inner_text(".jp-Notebook"))

    def shot(self, name: str, selector: str | None = None) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        if selector:
            self.page.locator(selector).first.screenshot(path=str(path))
        else:
            self.page.screenshot(path=str(path), full_page=True)
        return path


def record(name: str, values: dict[str, Any]) -> None:
    """Keep a test's measured figures under ``name`` in ``test-artifacts/widgets/metrics.json``
    (``benchmarks/bench_explorer.py`` reads them)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / "metrics.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    data[name] = values
    path.write_text(json.dumps(data, indent=2) + "\n")


def setup_cell(cf: Any, server: Any) -> str:
    """A notebook's first cell: the kernel's client on ``cf``'s data, logged in to ``server``,
    with the catalog loaded; ``Campfire``, ``Explorer`` and ``ObjectBrowser`` imported."""
    key = server.users[0]["api_key"]
    return f"""import os
os.environ.update(CAMPFIRE_API_URL={server.base_url!r}, CAMPFIRE_API_KEY={key!r},
                  CAMPFIRE_HOME={str(cf.data_dir.parent / "home")!r})
from campfire import Campfire
from campfire.widgets import Explorer, ObjectBrowser
cf = Campfire(data_dir={str(cf.data_dir)!r})
cf.catalog.connection()"""


def clear_artifacts() -> None:
    shutil.rmtree(ARTIFACTS, ignore_errors=True)


# -- fixtures: re-exported by this folder's ``conftest.py``, so every browser test module has them;
# module-scoped, so one module's Playwright is stopped before the next starts its own


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    server = Lab(tmp_path_factory.mktemp("lab"))
    yield server
    server.stop()
    shutil.copy(server.log, tmp_path_factory.getbasetemp() / "lab.log")


@pytest.fixture(scope="module")
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
