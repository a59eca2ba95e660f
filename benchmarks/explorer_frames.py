"""Frame rate of the Explorer's redshift drag with the science panel open, in Chromium alone.

The SpectrumViewer and SciencePanel of an Explorer showing a real object (spectra with their
2D strips, the redshift fit's χ²(z), the SED) are rendered in a plain page by their own ES
modules, each over a small stand-in for the anywidget model holding the widget's state as the
kernel sent it. The page then drags the redshift slider one step per animation frame, as
``tests/widgets/browser/test_explorer_polish_browser.py`` does in JupyterLab, and reports the
frame rate, with the same page's idle frame rate (measured just before) as its baseline. With
``trace`` it records Chromium's trace of the drag and sums where the main thread's time went.

JupyterLab itself is left out (it costs the same per frame whether we draw or not), so the
figure isolates what our widgets cost a frame. Debian's ``/usr/bin/chromium`` is used (never
``playwright install``).

Examples
--------
>>> page = frames_page(ex.viewer, ex.science)  # doctest: +SKIP
>>> drag_fps(page, frames=120)  # doctest: +SKIP
{'fps': 59.8, 'idle_fps': 60.1, 'markerDraws': 120, ...}
"""

from __future__ import annotations

import base64
import json
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "widgets" / "browser"))
from lab import CHROMIUM, DRAG_WITH_PANEL  # the browser test's drag: one copy
from lab import CHROMIUM_ARGS as ARGS

PAGE = """<!doctype html><html><head><meta charset="utf-8">
<style>body{font:13px sans-serif;margin:8px;width:1380px;color:#111;background:#fff;
--jp-ui-font-color1:#111;--jp-ui-font-color2:#555;--jp-border-color2:#ccc;
--jp-layout-color0:#fff;--jp-layout-color1:#fff;--jp-layout-color2:#eee}</style>
<style>__CSS__</style></head><body><div id="sv"></div><div id="sp"></div>
<script type="module">
const state = __STATE__;
function revive(v) {
  if (v && typeof v === "object" && !Array.isArray(v) && "__b64__" in v) {
    const bin = atob(v.__b64__), out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return new DataView(out.buffer);
  }
  if (Array.isArray(v)) return v.map(revive);
  if (!v || typeof v !== "object") return v;
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, revive(x)]));
  return v;
}
function model(values) {
  const data = revive(values), subs = {};
  return {
    get: (k) => data[k], set: (k, v) => { data[k] = v; },
    on: (ev, fn) => { (subs[ev] ||= []).push(fn); }, off: () => {},
    send: () => {}, save_changes: () => {},
  };
}
const url = (text) => URL.createObjectURL(new Blob([text], {type: "text/javascript"}));
const load = async (text) => (await import(url(text))).default;
const sv = await load(__SV__), sp = await load(__SP__);
sv.render({ model: model(state.sv), el: document.getElementById("sv") });
sp.render({ model: model(state.sp), el: document.getElementById("sp") });
window.ready = true;
</script></body></html>"""


def _plain(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return {"__b64__": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _text(source: Any) -> str:
    """An ``_esm``/``_css`` as text (anywidget may hold a path, a file's contents or text)."""
    text = str(source)
    if "\n" not in text and Path(text).is_file():
        return Path(text).read_text()
    return text


def frames_page(viewer: Any, science: Any) -> Path:
    """An HTML file rendering ``viewer`` and ``science`` as the kernel holds them."""
    state = {
        "sv": _plain({k: v for k, v in viewer.get_state().items() if not k.startswith("_")}),
        "sp": _plain({k: v for k, v in science.get_state().items() if not k.startswith("_")}),
    }
    css = "\n".join(_text(w._css) for w in (viewer, science))
    html = (
        PAGE.replace("__CSS__", css)
        .replace("__SV__", json.dumps(_text(viewer._esm)))
        .replace("__SP__", json.dumps(_text(science._esm)))
        .replace("__STATE__", json.dumps(state))
    )
    path = Path(tempfile.mkdtemp(prefix="cf-frames-")) / "frames.html"
    path.write_text(html)
    return path


def drag_fps(page_file: Path, frames: int = 120, trace: Path | None = None) -> dict[str, Any]:
    """Drag the redshift ``frames`` steps in Chromium; fps, idle fps and, with ``trace``, the
    main thread's time by trace event name (ms) during the drag."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1100})
            page.goto(page_file.as_uri())
            page.wait_for_function("() => window.ready === true", timeout=60_000)
            page.wait_for_timeout(300)
            if trace is not None:
                browser.start_tracing(page=page, path=str(trace), categories=[
                    "devtools.timeline", "disabled-by-default-devtools.timeline", "blink",
                    "cc", "viz", "gpu"])  # fmt: skip
            out: dict[str, Any] = page.evaluate(DRAG_WITH_PANEL, frames)
            if trace is not None:
                browser.stop_tracing()
                out["main_ms"] = main_thread_ms(trace)
        finally:
            browser.close()
    return out


def main_thread_ms(trace: Path, top: int = 12) -> dict[str, float]:
    """Self-less totals of complete events on the renderer's main thread, by name (ms)."""
    events = json.loads(trace.read_text())
    events = events.get("traceEvents", events) if isinstance(events, dict) else events
    main = {
        (e["pid"], e["tid"]) for e in events
        if e.get("name") == "thread_name" and e.get("args", {}).get("name") == "CrRendererMain"
    }  # fmt: skip
    totals: Counter[str] = Counter()
    for e in events:
        if (e.get("pid"), e.get("tid")) in main and e.get("ph") == "X" and "dur" in e:
            totals[e["name"]] += e["dur"] / 1e3
    return {k: round(v, 1) for k, v in totals.most_common(top)}
