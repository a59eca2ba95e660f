"""Browser-test fixtures: one JupyterLab and one Chromium for the whole session."""

from __future__ import annotations

import shutil

import pytest
from lab import CHROMIUM, CHROMIUM_ARGS, Lab, missing


@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    if missing():
        pytest.skip(missing())
    server = Lab(tmp_path_factory.mktemp("lab"))
    yield server
    server.stop()
    shutil.copy(server.log, tmp_path_factory.getbasetemp() / "lab.log")


@pytest.fixture(scope="session")
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


