"""Shared test setup: a clean campfire environment, the sample files, one tiny demo archive.

The tiny demo archive is built once per test session (:func:`tiny_build`), through the real
generator and ingest (``build_demo_archive(scale="tiny", seed=42)``), and every suite shares it:
:func:`tiny_archive` is the built archive, :func:`tiny_products` the generated products it was
deployed from, kept as the build wrote them. Both are read-only by convention: a test that
serves or changes the archive works on a copy (:func:`copy_tiny_archive`, :func:`tiny_server`,
one private copy per test module), so what one test writes (tags, inspections, grants) never
reaches another. At the end of the session the pristine copies are checked to be unchanged.

The real sample files the tests read (the msaexp spectrum, the MSA metadata file, the line list,
the NIRSpec dispersion curves) are in ``tests/data`` (:func:`sample_data`); their sources and
licences are in ``tests/data/README.md``.

The server-side tests run on both catalog backends (issue #12): the ``backend`` fixture is
``embedded`` (SQLite in the archive folder, files in its ``store/``) or ``postgres+s3`` (a
database in the session's one PostgreSQL cluster, :func:`postgres_cluster`, started from the
Debian binaries, and the files in a fresh bucket of the session's moto S3 endpoint,
:func:`s3server.s3_endpoint`). Tests under the
paths in :data:`BOTH_BACKENDS` are parametrized over both; every other test gets ``embedded``.
Archive copies go through ``backend.copy`` (on PostgreSQL a ``CREATE DATABASE ... TEMPLATE``),
so each served copy has a private database.

No test may read or write the developer's real ``~/campfire`` or ``~/.campfire``: the autouse
fixture points ``CAMPFIRE_ROOT`` and ``CAMPFIRE_HOME`` at per-test temporary folders and removes
the other ``CAMPFIRE_*`` variables, so a test opts in to a server or an offline switch explicitly.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from s3server import s3_endpoint, s3_store_url  # noqa: F401  (fixtures: the moto S3 endpoint)

#: The catalog backends of issue #12, and the tests that run on each of them (the server's
#: contract suite and the client's sync and download tests over the real server).
BACKENDS = ("embedded", "postgres+s3")
BOTH_BACKENDS = (
    "tests/server/",
    "tests/client/test_sync_",
    "tests/client/test_download_",
    "tests/client/test_api_server",
    "tests/client/test_contract_replies",
)

#: The real sample files, inside the repository (see tests/data/README.md).
SAMPLE_DATA = Path(__file__).resolve().parent / "data"
TINY_SEED = 42


def pytest_generate_tests(metafunc):
    """Run the tests under :data:`BOTH_BACKENDS` once per catalog backend."""
    if "backend" not in metafunc.fixturenames:
        return
    where = Path(str(metafunc.definition.path)).resolve().relative_to(SAMPLE_DATA.parent.parent)
    if metafunc.definition.get_closest_marker("embedded_only") is not None:
        return
    if metafunc.definition.get_closest_marker("local_files") is not None:
        return
    if any(str(where).startswith(prefix) for prefix in BOTH_BACKENDS):
        metafunc.parametrize("backend", BACKENDS, indirect=True, scope="session")


@pytest.fixture(scope="session")
def postgres_cluster():
    """The session's PostgreSQL cluster (started on first use, stopped at the end)."""
    from campfire.server.testing import TestPostgres

    with TestPostgres() as cluster:
        yield cluster


@pytest.fixture(scope="session")
def backend(request):
    """The catalog backend (:class:`campfire.server.testing.ArchiveBackend`) of this test."""
    from campfire.server.testing import ArchiveBackend

    name = getattr(request, "param", "embedded")
    if name == "embedded":
        return ArchiveBackend(name)
    endpoint = request.getfixturevalue("s3_endpoint") if name.endswith("+s3") else None
    return ArchiveBackend(name, request.getfixturevalue("postgres_cluster"), endpoint)


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
def sample_data() -> Path:
    """``tests/data``: the real sample files (``samples/``, ``nirspec_dispersion/``)."""
    return SAMPLE_DATA


@dataclass(frozen=True)
class TinyBuild:
    """The session's one tiny demo archive and what its build made on the way.

    Attributes
    ----------
    archive
        The built archive directory (do not serve or change it: copy it).
    products
        The products folder ``generate_products`` wrote for the build (demo-truth.ecsv,
        demo-manifest.json, one folder per program), copied before the build removed it.
    dirs
        The program folders ``generate_products`` returned, under ``products``.
    progress
        Every ``progress(stage, done, total)`` call the generator made.
    users
        What ``build_demo_archive`` returned: the demo users with their keys.
    """

    archive: Path
    products: Path
    dirs: list[Path]
    progress: list[tuple[str, int, int]]
    users: list[dict[str, Any]]


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """(size, mtime) of every file under ``root``: what a test changing it would change."""
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="session")
def tiny_build(tmp_path_factory) -> Iterator[TinyBuild]:
    """Build the tiny demo archive once per session, keeping the products it generated.

    ``build_demo_archive`` generates the products into a work folder, deploys them and removes
    the folder; the generator is wrapped (it still runs, with the same arguments) so its output
    and progress calls are kept for the tests of the generator, which need no second run.
    """
    import campfire.server.demo.generate as generate
    from campfire.server.demo.archive import build_demo_archive

    root = tmp_path_factory.mktemp("tiny-demo")
    archive, products = root / "archive", root / "products"
    real = generate.generate_products
    progress_calls: list[tuple[str, int, int]] = []
    made: list[Path] = []

    def generate_and_keep(out_dir, scale="tiny", seed=42, progress=None, **kwargs):
        def note(stage: str, done: int, total: int) -> None:
            progress_calls.append((stage, done, total))
            if progress is not None:
                progress(stage, done, total)

        dirs = real(out_dir, scale=scale, seed=seed, progress=note, **kwargs)
        shutil.copytree(out_dir, products)
        made.extend(products / Path(d).relative_to(out_dir) for d in dirs)
        return dirs

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(generate, "generate_products", generate_and_keep)
        users = build_demo_archive(archive, scale="tiny", seed=TINY_SEED)
    assert made and progress_calls, "build_demo_archive no longer calls generate_products"
    before = _snapshot(archive), _snapshot(products)
    yield TinyBuild(archive, products, made, progress_calls, users)
    after = _snapshot(archive), _snapshot(products)
    assert after == before, "a test changed the shared tiny demo archive: work on a copy"


@pytest.fixture(scope="session")
def tiny_archive(tiny_build) -> Path:
    """The tiny demo archive, built once per session (read-only: serve or change a copy)."""
    return tiny_build.archive


@pytest.fixture(scope="session")
def tiny_products(tiny_build) -> Path:
    """The products the tiny demo archive was built from (read-only: copy to change them)."""
    return tiny_build.products


@pytest.fixture(scope="session")
def copy_tiny_archive(tiny_archive, backend):
    """A function ``copy(dest) -> dest`` writing a private copy of the tiny demo archive (with
    a private database of this test's backend).
    """

    def copy(dest: Path) -> Path:
        return backend.copy(tiny_archive, dest)

    return copy


@pytest.fixture(scope="module")
def tiny_server(copy_tiny_archive, tmp_path_factory) -> Iterator:
    """The reference server over a private copy of the tiny demo archive, for this module."""
    from campfire.server.testing import running_server

    served = copy_tiny_archive(tmp_path_factory.mktemp("tiny-served") / "archive")
    with running_server(served) as srv:
        yield srv
