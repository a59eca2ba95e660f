"""The tiny demo products, read back: the ones the session's one demo-archive build generated.

``tiny_demo`` is the products folder of ``generate_products(scale="tiny", seed=42)`` as the
session's ``build_demo_archive`` call wrote it (see ``tests/conftest.py``): the generator runs
once per session, not once for the archive and again for these tests. Treat it as read-only.
"""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_demo(tiny_build) -> Path:
    """Products of ``generate_products(scale="tiny", seed=42)``; the folder holding them."""
    assert tiny_build.dirs and all(d.parent == tiny_build.products for d in tiny_build.dirs)
    return tiny_build.products


@pytest.fixture(scope="session")
def demo_progress(tiny_build) -> list[tuple[str, int, int]]:
    """Every ``progress(stage, done, total)`` call the generator made for ``tiny_demo``."""
    return tiny_build.progress


@pytest.fixture(scope="session")
def truth(tiny_demo):
    from astropy.table import Table

    return Table.read(tiny_demo / "demo-truth.ecsv")


@pytest.fixture(scope="session")
def spec_files(tiny_demo) -> list[Path]:
    """Every ``_spec.fits`` of the tiny demo."""
    return sorted(tiny_demo.glob("*/*/*_spec.fits"))


@pytest.fixture(scope="session")
def obs_dirs(tiny_demo) -> list[Path]:
    """Every observation folder of the tiny demo."""
    return sorted(p.parent for p in tiny_demo.glob("*/*/observation.json"))
