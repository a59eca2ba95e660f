"""The tiny demo archive, built once per test session, and helpers to read it back."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_demo(tmp_path_factory) -> Path:
    """Products of ``generate_products(scale="tiny", seed=42)``; the folder holding them."""
    from campfire.server.demo.generate import generate_products

    out = tmp_path_factory.mktemp("demo-tiny")
    calls: list[tuple[str, int, int]] = []
    dirs = generate_products(out, scale="tiny", seed=42, progress=lambda *a: calls.append(a))
    assert dirs and calls
    (out / "progress.txt").write_text("\n".join(f"{s}\t{d}\t{t}" for s, d, t in calls))
    return out


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
