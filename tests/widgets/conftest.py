"""Widget test fixtures: a synthetic catalog in a real Store, a recording comm, the demo server."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from catalog_data import fill_catalog
from widget_comm import RecordingComm, attach_comm, frontend_message  # noqa: F401

from campfire import Campfire


@pytest.fixture(scope="session")
def catalog_200(tmp_path_factory):
    """A 200-object catalog (made once) and its rows; each test gets its own copy."""
    root = tmp_path_factory.mktemp("cat200")
    rows = fill_catalog(root, 200, seed=3)
    return root, rows


@pytest.fixture
def cf200(catalog_200, tmp_path):
    root, rows = catalog_200
    shutil.copytree(root / "meta", tmp_path / "meta")
    return Campfire(data_dir=tmp_path), rows


@pytest.fixture(scope="session")
def demo_archive(copy_tiny_archive, tmp_path_factory) -> Path:
    """A copy of the session's tiny demo archive for the widget tests (their server writes)."""
    return copy_tiny_archive(tmp_path_factory.mktemp("widgets-demo") / "archive")


@pytest.fixture(scope="session")
def demo_server(demo_archive):
    from campfire.server.testing import running_server

    with running_server(demo_archive, faults=True) as srv:
        yield srv


@pytest.fixture(autouse=True)
def _clear_faults(request):
    yield
    if "demo_server" in request.fixturenames:
        request.getfixturevalue("demo_server").clear_faults()


@pytest.fixture
def demo_cf(demo_server, tmp_path, monkeypatch):
    """A client logged in to the demo server with a synced catalog (no files downloaded)."""
    monkeypatch.setenv("CAMPFIRE_API_URL", demo_server.base_url)
    monkeypatch.setenv("CAMPFIRE_API_KEY", demo_server.users[0]["api_key"])
    cf = Campfire(data_dir=tmp_path / "data")
    cf.sync()
    return cf
