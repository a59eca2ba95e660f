"""Fixtures for the science-tool tests: a real sample file (tests/data), a headless matplotlib."""

from pathlib import Path

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")


@pytest.fixture
def sample_933(sample_data):
    """The real msaexp PRISM spectrum of CEERS 1345_933 as plain arrays (wave µm, µJy)."""
    from astropy.io import fits

    with fits.open(sample_data / "samples" / "static-test-driz-center-bkg_933.spec.fits") as hdul:
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
