"""The documentation site builds with warnings as errors, and its examples run.


``mkdocs build --strict`` catches broken links, anchors and pages missing from the nav. The
```python blocks of Getting Started, the home page, Inspecting spectra and the recipes are
executed in order, one namespace per page, against the tiny demo archive served on loopback,
with the environment a reader would have (``CAMPFIRE_API_URL``, ``CAMPFIRE_API_KEY``, a fresh
``CAMPFIRE_ROOT``). A block preceded by an HTML comment starting ``<!-- skip`` is not run.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import traceback
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
RUN_PAGES = [
    "index.md",
    "getting-started.md",
    "sharing.md",
    "inspecting.md",
    *sorted(str(p.relative_to(DOCS)) for p in (DOCS / "recipes").glob("*.md")),
]

FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```\s*$", re.MULTILINE | re.DOTALL)


def python_blocks(page: Path) -> list[tuple[int, str, bool]]:
    """``(line, code, skipped)`` of every ```python block of a Markdown page, in order."""
    text = page.read_text()
    blocks = []
    for m in FENCE.finditer(text):
        if m.group(1) != "python":
            continue
        before = text[: m.start()].rstrip().splitlines()
        skipped = bool(before) and before[-1].strip().startswith("<!-- skip")
        blocks.append((text.count("\n", 0, m.start()) + 2, m.group(2), skipped))
    return blocks


# -- the site -----------------------------------------------------------------------------------


def test_site_builds_strictly_and_needs_no_network(tmp_path):
    pytest.importorskip("mkdocs", reason="mkdocs is not installed: it belongs in the test extra")
    site = tmp_path / "site"
    built = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(REPO / "mkdocs.yml"),
         "-d", str(site)],
        cwd=REPO, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr[-3000:]
    assert "WARNING" not in built.stderr
    for page in ["index", "getting-started", "cli", "python-client", *(
        f"recipes/{p.stem}" for p in (DOCS / "recipes").glob("*.md")
    )]:  # fmt: skip
        assert (site / f"{page}.html").is_file(), page
    for html in site.rglob("*.html"):
        body = html.read_text()
        external = re.findall(r"<(?:script|link)[^>]+(?:src|href)=\"(https?://[^\"]+)\"", body)
        assert not external, f"{html.name} loads {external[:2]} from the network"


def test_every_page_is_in_the_nav():
    nav = (REPO / "mkdocs.yml").read_text()
    for page in DOCS.rglob("*.md"):
        rel = str(page.relative_to(DOCS))
        assert f": {rel}" in nav, f"{rel} is not in mkdocs.yml's nav"


def test_recipes_the_reference_points_to_exist():
    # the reference docs send readers to recipes 3, 4 and 5; the issue names 1 too
    titles = {p.stem: p.read_text().splitlines()[0] for p in (DOCS / "recipes").glob("*.md")}
    numbers = sorted(
        int(m.group(1)) for t in titles.values() if (m := re.match(r"# Recipe (\d)", t))
    )
    assert {1, 3, 4, 5} <= set(numbers)
    assert all(python_blocks(DOCS / "recipes" / f"{stem}.md") for stem in titles)


def test_block_extraction_honours_skip(tmp_path):
    page = tmp_path / "p.md"
    page.write_text(
        "# T\n\n```python\na = 1\n```\n\n<!-- skip: not here -->\n```python\nraise SystemExit\n```"
        "\n\n```bash\nls\n```\n\n```python\nb = a + 1\n```\n"
    )
    blocks = python_blocks(page)
    assert [(code, skipped) for _, code, skipped in blocks] == [
        ("a = 1\n", False), ("raise SystemExit\n", True), ("b = a + 1\n", False)
    ]  # fmt: skip
    assert [line for line, _, _ in blocks] == [4, 9, 17]


# -- the examples -------------------------------------------------------------------------------


@pytest.mark.parametrize("page", RUN_PAGES)
def test_python_examples_run(page, tiny_server, tmp_path, monkeypatch):
    import matplotlib.pyplot as plt

    monkeypatch.setenv("CAMPFIRE_API_URL", tiny_server.base_url)
    monkeypatch.setenv("CAMPFIRE_API_KEY", tiny_server.users[0]["api_key"])
    monkeypatch.setenv("CAMPFIRE_ROOT", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)  # files the examples write land here
    blocks = python_blocks(DOCS / page)
    assert blocks, f"{page} has no Python example"
    namespace: dict = {"__name__": "__docs__"}
    ran = 0
    environ = dict(os.environ)  # an example may set variables (CAMPFIRE_OFFLINE): undo them after
    try:
        for line, code, skipped in blocks:
            if skipped:
                continue
            try:
                exec(compile(code, f"{page}:{line}", "exec"), namespace)
            except Exception:
                pytest.fail(f"the example at docs/{page}, line {line}, failed:\n"
                            f"{code}\n{traceback.format_exc(limit=-3)}")  # fmt: skip
            ran += 1
    finally:
        plt.close("all")
        os.environ.clear()
        os.environ.update(environ)
    assert ran > 0
