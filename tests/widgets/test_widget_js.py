"""Run the widgets' JavaScript unit tests (``node --test tests/widgets/js/``) under pytest.

The ES modules in ``widgets/`` export their pure functions (line placement, unit conversion,
smoothing, ticks, scale bars, keyboard paging …, and the SpectrumViewer's view geometry and
interaction: data/pixel transforms, y range, hit-testing, zoom and pan, typed redshifts);
``tests/widgets/js/*.test.mjs`` test them against hand computations. Node 18+ runs them with no
packages installed (the linter in ``widgets/node_modules`` is ``make lint-js``'s, not theirs).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
JS_TESTS = sorted((ROOT / "tests" / "widgets" / "js").glob("*.test.mjs"))


def test_every_widget_has_js_unit_tests():
    names = {p.name.removesuffix(".test.mjs") for p in JS_TESTS}
    assert {
        "spectrum_viewer",
        "spectrum_viewer_view",
        "object_browser",
        "cutout_panel",
        "explorer",
        "science_panel",
        "spectrum_viewer_polish",
        "inspection_bar",
    } <= names


@pytest.mark.skipif(
    shutil.which("node") is None, reason="node is not installed (apt install nodejs)"
)
@pytest.mark.parametrize("path", JS_TESTS, ids=lambda p: p.name)
def test_js_unit_tests_pass(path):
    proc = subprocess.run(
        ["node", "--test", str(path)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "# fail 0" in proc.stdout and "# pass 0" not in proc.stdout
