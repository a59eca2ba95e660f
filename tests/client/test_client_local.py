"""The Campfire client without a server: local mode, offline mode, files and cache paths.

Every test here runs with ``CAMPFIRE_OFFLINE=1`` or without any server URL, so a network attempt
would fail loudly; references are the real sample FITS file read with astropy directly.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from campfire import Campfire
from campfire.catalog.store import Store
from campfire.errors import NotFoundError, OfflineError, ValidationError

SAMPLE = (  # the real msaexp sample in tests/data (see its README)
    Path(__file__).resolve().parents[1] / "data" / "samples"
    / "static-test-driz-center-bkg_933.spec.fits"
)  # fmt: skip
STAMP = "2026-05-01T00:00:00+00:00"


@pytest.fixture
def offline(monkeypatch):
    monkeypatch.setenv("CAMPFIRE_OFFLINE", "1")
    monkeypatch.setenv("CAMPFIRE_API_URL", "http://127.0.0.1:9/api/v1")  # nothing listens


def synced(root: Path, *, downloaded: bool = False) -> Campfire:
    """A catalog with one object and one spectrum (optionally with its file on disk)."""
    with Store(root / "meta" / "campfire.db") as store, store.transaction():
        store.upsert(
            "objects",
            [{"object_id": "J021737.42-051208.5", "field": "uds", "ra": 34.405, "dec": -5.2024,
              "programs": ["EMBER-UDS"], "gratings": ["PRISM"], "observations": ["ember_uds_p4"],
              "member_target_ids": ["ember_uds_p4_933"], "redshift_auto": 4.1,
              "redshift_inspected": 4.08, "redshift_quality": 4, "lists": [], "n_spectra": 1,
              "updated_at": STAMP}],
            STAMP,
        )  # fmt: skip
        store.upsert(
            "spectra",
            [{"spectrum_id": "ember_uds_p4_prism_clear_933", "target_id": "ember_uds_p4_933",
              "object_id": "J021737.42-051208.5", "grating": "PRISM",
              "fits_path": "spectra/ember_uds_p4/ember_uds_p4_prism_clear_933_spec.fits",
              "file_hash": None, "observation": "ember_uds_p4", "program_slug": "EMBER-UDS",
              "field": "uds", "signal_to_noise": 9.0, "updated_at": STAMP}],
            STAMP,
        )  # fmt: skip
        store.set_meta("last_sync_at", STAMP)
        store.bump("catalog_version")
        if downloaded:
            rel = "ember_uds_p4/ember_uds_p4_prism_clear_933_spec.fits"
            dest = root / "products" / rel
            dest.parent.mkdir(parents=True)
            shutil.copy(SAMPLE, dest)
            store.record_download("ember_uds_p4_prism_clear_933", rel, "sha256:x", 1, 0.0)
            store.bump("files_version")
    return Campfire(data_dir=root)


def test_is_local_and_last_synced(tmp_path, offline):
    cf = Campfire(data_dir=tmp_path)
    assert cf.is_local is False and cf.last_synced is None
    cf = synced(tmp_path)
    assert cf.is_local is True and cf.last_synced == STAMP
    assert "local catalog" in repr(cf)
    html = cf._repr_html_()
    assert "1 objects, 1 spectra (0 downloaded)" in html and "CAMPFIRE_OFFLINE" in html


def test_a_catalog_of_another_schema_means_remote_mode_with_a_logged_reason(tmp_path, caplog):
    db = tmp_path / "meta" / "campfire.db"
    db.parent.mkdir(parents=True)
    import sqlite3

    con = sqlite3.connect(db)
    con.execute("CREATE TABLE _meta (key TEXT PRIMARY KEY, value TEXT)")
    con.execute("INSERT INTO _meta VALUES ('schema_version', '3')")
    con.commit()
    con.close()
    with caplog.at_level(logging.WARNING, logger="campfire.client"):
        assert Campfire(data_dir=tmp_path).is_local is False
    assert "schema 3" in caplog.text


def test_open_spectrum_reads_the_downloaded_file_without_network(tmp_path, offline):
    cf = synced(tmp_path, downloaded=True)
    spec = cf.open_spectrum("ember_uds_p4_prism_clear_933")
    with fits.open(SAMPLE) as hdul:
        wave = np.asarray(hdul["SPEC1D"].data["wave"], dtype=float)
    np.testing.assert_allclose(spec.wavelength, wave)
    assert spec.spectrum_id == "ember_uds_p4_prism_clear_933"
    assert spec.object_id == "J021737.42-051208.5" and spec.redshift == pytest.approx(4.08)
    obj = cf.get_object("J021737.42-051208.5")
    assert obj.spectra[0].open().wavelength.size == wave.size  # the injected opener
    # a second open gives equal but independent arrays (recent reads are reused)
    again = cf.open_spectrum("ember_uds_p4_prism_clear_933")
    np.testing.assert_array_equal(again.flam, spec.flam)
    again.fnu[:] = 0.0
    assert np.nanmax(np.abs(cf.open_spectrum("ember_uds_p4_prism_clear_933").fnu)) > 0


def test_pipeline_products_are_found_without_a_download_record(tmp_path, offline):
    cf = synced(tmp_path)  # catalog only: no local_path recorded
    dest = tmp_path / "products" / "ember_uds_p4" / "ember_uds_p4_prism_clear_933_spec.fits"
    dest.parent.mkdir(parents=True)
    shutil.copy(SAMPLE, dest)
    assert len(cf.open_spectrum("ember_uds_p4_prism_clear_933").wavelength) > 100


def test_offline_open_of_a_file_not_downloaded_is_a_clear_error(tmp_path, offline):
    cf = synced(tmp_path)
    with pytest.raises(OfflineError, match="CAMPFIRE_OFFLINE=1"):
        cf.open_spectrum("ember_uds_p4_prism_clear_933")
    with pytest.raises(NotFoundError, match="not in the local catalog"):
        cf.open_spectrum("ember_uds_p4_prism_clear_999")


def test_offline_remote_queries_and_accessors_raise_offline_error(tmp_path, offline):
    cf = synced(tmp_path)
    for call in (
        lambda: cf.query_objects(remote=True),
        lambda: list(cf.iter_spectra(remote=True)),
        lambda: cf.get_object("J021737.42-051208.5", remote=True),
        lambda: cf.get_cutout("J021737.42-051208.5"),
        lambda: cf.get_spectrum_data("ember_uds_p4_prism_clear_933"),
        lambda: cf.sync(),
    ):
        with pytest.raises(OfflineError):
            call()
    # local answers still work offline, metadata included (without program names)
    assert cf.get_fields() == ["uds"] and cf.get_gratings() == ["PRISM"]
    assert cf.get_observations() == ["ember_uds_p4"]
    assert list(cf.get_programs()["slug"]) == ["EMBER-UDS"]
    assert len(cf.query_spectra()) == 1 and len(cf.get_tags()) == 0


def test_no_catalog_queries_fall_back_to_the_archive_and_log_why(tmp_path, offline, caplog):
    cf = Campfire(data_dir=tmp_path)
    with caplog.at_level(logging.INFO, logger="campfire.client"), pytest.raises(OfflineError):
        cf.query_objects(fields=["uds"])
    assert "no local catalog" in caplog.text
    with pytest.raises(NotFoundError, match="sync"):
        cf.sql("SELECT 1")
    with pytest.raises(ValidationError, match="staleness needs the synced catalog"):
        cf.query_objects(staleness=True)


def test_cutout_cache_paths_stay_inside_the_cache(tmp_path, offline):
    cf = synced(tmp_path)
    for bad in ("../etc/passwd", "a/b", "", ".hidden", "x\x00y"):
        with pytest.raises(ValidationError):
            cf.get_cutout(bad)
    with pytest.raises(ValidationError, match="fov"):
        cf.get_cutout("J021737.42-051208.5", fov=float("inf"))
    with pytest.raises(ValidationError, match="size"):
        cf.get_cutout("J021737.42-051208.5", size=-3)
    # a cached cutout is served from disk with no network (offline would raise otherwise)
    cached = tmp_path / "cutouts" / "J021737.42-051208.5_fov3.2_s64.png"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"\x89PNG\r\n\x1a\nfake")
    assert cf.get_cutout("J021737.42-051208.5", size=64, fov=3.2) == cached.resolve()


def test_unknown_keyword_is_a_type_error_naming_the_filters(tmp_path, offline):
    cf = synced(tmp_path)
    with pytest.raises(TypeError, match="unknown filter"):
        list(cf.iter_objects(redshift=(1, 2)))
    with pytest.raises(TypeError):
        cf.query_objects(redshift=(1, 2))


def test_import_campfire_stays_light():
    code = (
        "import sys, time; t = time.perf_counter(); import campfire; "
        "campfire.Campfire; dt = time.perf_counter() - t; "
        "print(sorted(m for m in ('duckdb', 'astropy', 'pyarrow') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"  # Campfire() itself loads neither DuckDB nor astropy


def test_page_window_is_aligned_and_covers_the_request():
    from hypothesis import given
    from hypothesis import strategies as st

    from campfire.client.wire import page_window

    @given(st.integers(0, 5000), st.integers(1, 300))
    def check(offset, limit):
        size, start = page_window(offset, limit)
        assert start % size == 0 and start <= offset  # a page the contract's rounding keeps
        assert offset + limit <= start + size  # holding every requested row
        assert size < limit + offset + 1

    check()
