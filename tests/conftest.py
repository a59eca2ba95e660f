"""Shared test setup: every test runs with a clean campfire environment.

No test may read or write the developer's real ``~/campfire`` or ``~/.campfire``: the autouse
fixture points ``CAMPFIRE_ROOT`` and ``CAMPFIRE_HOME`` at per-test temporary folders and removes
the other ``CAMPFIRE_*`` variables, so a test opts in to a server or an offline switch explicitly.
"""

from __future__ import annotations

import os

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
