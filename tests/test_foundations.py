"""Foundations: error tree, settings, the SpectrumData and Photometry types."""

import subprocess
import sys

import astropy.units as u
import numpy as np
import pytest

import campfire
from campfire.config import Settings
from campfire.errors import CampfireError, NotFoundError, ValidationError
from campfire.models.data import SpectrumData
from campfire.models.object import Photometry


def test_error_tree_has_one_root_and_builtin_mixins():
    assert issubclass(NotFoundError, CampfireError) and issubclass(NotFoundError, LookupError)
    assert issubclass(ValidationError, ValueError)
    err = NotFoundError("nope", status_code=404, response={"error": "x"}, request_id="r1")
    assert (err.status_code, err.request_id, str(err)) == (404, "r1", "nope")


def test_settings_from_env_defaults_and_overrides(tmp_path):
    env = {"CAMPFIRE_API_URL": "http://h:1/api/v1/", "CAMPFIRE_ROOT": str(tmp_path)}
    s = Settings.from_env(env)
    assert s.base_url == "http://h:1/api/v1"
    assert s.db_path == tmp_path / "meta" / "campfire.db"
    assert not s.offline
    s2 = s.with_overrides(base_url="http://x/api/v1", data_dir=tmp_path / "d")
    assert s2.base_url == "http://x/api/v1" and s2.products_dir == tmp_path / "d" / "products"


def test_flam_matches_astropy_spectral_density():
    wave = np.array([0.8, 2.0, 4.4])
    s = SpectrumData(wave, np.array([1.0, 2.5, 10.0]), np.array([0.1, 0.1, 0.2]))
    ref = (s.fnu * u.uJy).to(
        u.erg / u.s / u.cm**2 / u.AA, equivalencies=u.spectral_density(wave * u.um)
    )
    np.testing.assert_allclose(s.flam, ref.value, rtol=1e-10)


def test_invalid_pixels_are_masked_not_used():
    s = SpectrumData([1, 2, 3, 4], [1.0, 0.0, np.nan, 2.0], [0.1, 0.1, 0.1, -1.0])
    assert s.valid.tolist() == [True, False, False, False]
    assert np.isnan(s.fnu[1:]).all() and np.isnan(s.flam[1:]).all()
    with pytest.raises(ValueError, match="same length"):
        SpectrumData([1, 2], [1.0], [1.0])


def test_photometry_lookup_sorted_by_wavelength():
    rec = {
        "catalog_name": "UVCANDELS",
        "photometry": '{"flux_unit": "uJy", "bands": {"f444w": {"flux": 2.0, "flux_err": 0.1, '
        '"wav": 4.4}, "f115w": {"flux": 1.0, "flux_err": 0.2, "wav": 1.15}, "x": {"flux": 5}}}',
        "photo_z": 3.51,
    }
    p = Photometry.from_record(rec)
    assert p.bands == ["f115w", "f444w", "x"]
    assert p["F115W"] == (1.0, 0.2, 1.15)
    assert repr(p) == "Photometry(3 bands, UVCANDELS, photo_z=3.51)"
    with pytest.raises(KeyError, match="f200w"):
        p["f200w"]


def test_import_is_light():
    code = (
        "import sys, campfire; "
        "print(sorted(m for m in ('astropy', 'duckdb', 'matplotlib') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    assert campfire.__version__
