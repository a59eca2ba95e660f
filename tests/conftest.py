"""Shared test setup: every test runs with a clean campfire environment.

The tiny demo archive is built once per session (:func:`tiny_archive`); :func:`tiny_server`
serves a private copy of it on loopback, one per test module, so what one module writes to the
archive (tags, inspections) never reaches another.

No test may read or write the developer's real ``~/campfire`` or ``~/.campfire``: the autouse
fixture points ``CAMPFIRE_ROOT`` and ``CAMPFIRE_HOME`` at per-test temporary folders and removes
the other ``CAMPFIRE_*`` variables, so a test opts in to a server or an offline switch explicitly.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

SHARED = os.path.join(os.path.dirname(__file__), "..", "..", "shared")


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch, tmp_path_factory):
    """Isolate campfire's environment variables for each test."""
    for name in list(os.environ):
        if name.startswith("CAMPFIRE_"):
            monkeypatch.delenv(name, raising=False)
    root = tmp_path_factory.mktemp("campfire-root")
    home = tmp_path_factory.mktemp("campfire-home")
    monkeypatch.setenv("CAMPFIRE_ROOT", str(root))
    monkeypatch.setenv("CAMPFIRE_HOME", str(home))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("BROWSER", "true")  # webbrowser.open must never launch a real browser
    yield


@pytest.fixture(scope="session")
def shared_dir() -> str:
    """Path of the shared reference material (``../shared`` beside the repository)."""
    path = os.path.abspath(SHARED)
    if not os.path.isdir(path):
        pytest.skip("shared/ reference data is not beside the repository")
    return path


@pytest.fixture(scope="session")
def tiny_archive(tmp_path_factory) -> Path:
    """The tiny demo archive, built once per session in the session's temp root."""
    from campfire.server.demo.archive import build_demo_archive

    root = tmp_path_factory.getbasetemp() / "campfire-tiny-demo"
    if not (root / ".built").is_file():
        shutil.rmtree(root, ignore_errors=True)
        build_demo_archive(root / "archive", scale="tiny", seed=42)
        (root / ".built").touch()
    return root / "archive"


@pytest.fixture(scope="module")
def tiny_server(tiny_archive, tmp_path_factory) -> Iterator:
    """The reference server over a private copy of the tiny demo archive, for this module."""
    from campfire.server.testing import running_server

    served = tmp_path_factory.mktemp("tiny-served") / "archive"
    shutil.copytree(tiny_archive, served)
    with running_server(served) as srv:
        yield srv
