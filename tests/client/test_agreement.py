"""The command line and Python agree: ``campfire sync``/``download`` run the same ``Campfire``
methods as ``cf.sync()``/``cf.download()``, against the real server.
"""

from __future__ import annotations

import logging
from pathlib import Path

from click.testing import CliRunner

from campfire import Campfire
from campfire.catalog.store import Store
from campfire.cli import main

OBS = "ember_uds_p4"


def _break_schema(db: Path) -> None:
    with Store(db) as s:
        s.set_meta("schema_version", "99")


def test_an_incompatible_catalog_is_rebuilt_alike_by_cli_and_library(
    server, helpers, tmp_path, monkeypatch, caplog
):
    monkeypatch.setenv("CAMPFIRE_API_URL", server.base_url)
    monkeypatch.setenv("CAMPFIRE_API_KEY", helpers.user_key(server, "bob"))
    cli_root, lib_root = tmp_path / "cli", tmp_path / "lib"
    env = {"CAMPFIRE_ROOT": str(cli_root)}
    assert CliRunner().invoke(main, ["sync"], env=env).exit_code == 0
    cf = Campfire(data_dir=lib_root)
    first = cf.sync()
    assert first["catalog_rebuilt"] is None
    _break_schema(cli_root / "meta" / "campfire.db")
    _break_schema(lib_root / "meta" / "campfire.db")

    r = CliRunner().invoke(main, ["sync"], env=env)
    with caplog.at_level(logging.WARNING, logger="campfire"):
        result = Campfire(data_dir=lib_root).sync()

    assert r.exit_code == 0 and "schema version 99" in r.stderr
    assert "schema version 99" in str(result["catalog_rebuilt"])
    assert any("Rebuilding it now" in m for m in caplog.messages)
    assert f"✓ Synced {result['observations']} observations, {result['objects']} objects" in (
        r.output
    )
    assert result["objects"] == first["objects"] > 0
    for root in (cli_root, lib_root):
        with Store(root / "meta" / "campfire.db") as s:
            assert s.get_meta("schema_version") == "4"
            assert s.count("objects") == first["objects"]


def test_download_syncs_first_in_cli_and_library(
    fresh_server, helpers, demo_products, tmp_path, monkeypatch
):
    """A file reprocessed on the archive after the last sync is found by both, unsynced."""
    from astropy.io import fits

    from campfire.server.ingest.deploy import deploy_products

    monkeypatch.setenv("CAMPFIRE_API_URL", fresh_server.base_url)
    monkeypatch.setenv("CAMPFIRE_API_KEY", helpers.user_key(fresh_server, "bob"))
    cli_root, lib_root = tmp_path / "cli", tmp_path / "lib"
    env = {"CAMPFIRE_ROOT": str(cli_root)}
    run = lambda *a: CliRunner().invoke(main, list(a), env=env)  # noqa: E731
    assert run("sync").exit_code == 0
    assert run("download", "--obs", OBS, "--yes").exit_code == 0
    cf = Campfire(data_dir=lib_root)
    cf.sync()
    assert cf.download(observations=[OBS])["downloaded"] > 0

    program = demo_products / "ember-uds"
    names = sorted(p.name for p in (program / OBS).glob("*_spec.fits"))[:2]
    for name in names:
        with fits.open(program / OBS / name, mode="update") as hdul:
            hdul[0].header["HISTORY"] = "reprocessed after the last sync"
    assert deploy_products(program, fresh_server.archive_dir).skipped == []

    r = run("download", "--stale", "--yes")  # no `campfire sync` in between
    result = Campfire(data_dir=lib_root).download(stale_only=True)  # no cf.sync() either

    assert r.exit_code == 0, r.output
    assert f"{OBS}: 2 updated (" in r.output and "Files downloaded: 2" in r.output
    assert result["downloaded"] == result.downloaded == 2 and result.ok
    archive = fresh_server.archive_dir / "store" / "spectra" / OBS
    for root in (cli_root, lib_root):
        for name in names:
            local = root / "products" / OBS / name
            assert local.read_bytes() == (archive / name).read_bytes()
