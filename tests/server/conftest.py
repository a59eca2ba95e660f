"""Fixtures: a real archive built from hand-made products, served on loopback."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from server_products import USERS, write_all

from campfire.server.archive import Archive
from campfire.server.auth.users import add_user, create_api_key, grant_program
from campfire.server.ingest.deploy import deploy_products
from campfire.server.testing import running_server


def build_archive(root: Path, database: str | None = None) -> dict[str, str]:
    """Products -> archive with three users; returns {user name: api key}."""
    products = write_all(root / "products")
    archive = Archive(root / "archive", database=database)
    try:
        for p in products:
            report = deploy_products(p, archive)
            assert report.skipped == [], report.skipped
        keys = {}
        for name, spec in USERS.items():
            add_user(
                archive,
                spec["email"],
                spec["password"],
                admin=spec.get("admin", False),
                can_inspect=spec.get("inspect", True),
            )
            for slug in spec["grants"]:
                grant_program(archive, spec["email"], slug)
            keys[name] = create_api_key(archive, spec["email"])
    finally:
        archive.close()
    return keys


@pytest.fixture(scope="session")
def built(tmp_path_factory, backend):
    """The archive built from the hand-made products, through the real ingest, on this test's
    backend (read-only: copy it with ``backend.copy``).
    """
    root = tmp_path_factory.mktemp("srv")
    keys = build_archive(root, backend.database("srv"))
    return root, keys


@pytest.fixture(scope="session")
def server(built, backend, tmp_path_factory):
    root, keys = built
    served = tmp_path_factory.mktemp("served") / "archive"
    backend.copy(root / "archive", served)
    with running_server(served, faults=True) as srv:
        srv.keys = keys
        yield srv


@pytest.fixture(scope="module")
def writable(built, backend, tmp_path_factory):
    """A copy of the pristine archive, served, shared by one module's tests that write to it
    (each test writes to objects or names of its own).
    """
    root, keys = built
    served = tmp_path_factory.mktemp("writable") / "archive"
    backend.copy(root / "archive", served)
    with running_server(served, faults=True) as srv:
        srv.keys = keys
        yield srv


@pytest.fixture
def fresh(built, backend, tmp_path):
    """A private copy of the pristine archive (for tests that change it), served."""
    root, keys = built
    backend.copy(root / "archive", tmp_path / "archive")
    shutil.copytree(root / "products", tmp_path / "products")
    with running_server(tmp_path / "archive", faults=True) as srv:
        srv.keys = keys
        srv.products = tmp_path / "products"
        yield srv


@pytest.fixture(autouse=True)
def _no_faults_left(request):
    yield
    if "server" in request.fixturenames:
        srv = request.getfixturevalue("server")
        srv.clear_faults()
