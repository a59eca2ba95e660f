"""Shared fixtures for the science-tool tests: real sample files, a headless matplotlib."""

from pathlib import Path

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

SAMPLE_933 = (
    Path(__file__).resolve().parents[2].parent
    / "shared/data/samples/static-test-driz-center-bkg_933.spec.fits"
)


@pytest.fixture
def sample_933():
    """The real msaexp PRISM spectrum of CEERS 1345_933 as plain arrays (wave µm, µJy)."""
    if not SAMPLE_933.exists():
        pytest.skip(f"shared sample data not found at {SAMPLE_933}")
    from astropy.io import fits

    with fits.open(SAMPLE_933) as hdul:
        tab = hdul["SPEC1D"].data
        wave = np.array(tab["wave"], dtype=float)
        flux = np.array(tab["flux"], dtype=float)
        err = np.array(tab["err"], dtype=float)
    return wave, flux, err


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


@pytest.fixture
def sedpy_curve():
    """Read a filter curve straight from sedpy's .par file (λ in µm, T), not via campfire."""
    import sedpy

    def read(name):
        path = Path(sedpy.__file__).parent / "data" / "filters" / f"{name}.par"
        data = np.loadtxt(path, comments="#")
        return data[:, 0] / 1e4, data[:, 1]

    return read
