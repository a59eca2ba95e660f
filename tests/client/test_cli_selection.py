"""``campfire download`` choosing exactly a selection, and the CLI trip-ups of #15.

Several values after one flag (``--obs a b``, item 8), ``--object``/``--tag``/``--from-file``,
``--urls`` and ``--curl-script``, the answer read from a pipe (item 4), ``status``'s absolute
data directory and one size format (item 6) and the admin group in ``--help`` (item 7). What
should be downloaded is read from the server's database; files are compared with its store.
"""

from __future__ import annotations

import hashlib
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from campfire.cli import main

OBS = "ember_uds_p4"
HERO = "ember_uds_p4_123456"


def server_spectra(server, where: str, *args) -> dict[str, str]:
    """spectrum_id -> sha256 of the stored file, for the spectra ``where`` selects."""
    with sqlite3.connect(server.archive_dir / "archive.db") as db:
        rows = db.execute(
            "SELECT s.spectrum_id, s.fits_path FROM spectra s JOIN targets t ON t.id = "
            f"s.target_pk LEFT JOIN objects o ON o.id = s.object_pk WHERE {where}",
            args,
        ).fetchall()
    store = server.archive_dir / "store"
    return {sid: hashlib.sha256((store / p).read_bytes()).hexdigest() for sid, p in rows}


def local_files(root: Path) -> dict[str, str]:
    """spectrum_id -> sha256 of every downloaded file under ``root/products``."""
    out = {}
    for path in (root / "products").rglob("*_spec.fits"):
        out[path.name.removesuffix("_spec.fits")] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


@pytest.fixture
def cli(server, helpers, monkeypatch):
    """campfire in-process as alice (every program), synced once."""
    monkeypatch.setenv("CAMPFIRE_API_URL", server.base_url)
    key = helpers.user_key(server, "alice")

    def run(*args, input=None):
        return CliRunner().invoke(main, list(args), input=input, env={"CAMPFIRE_API_KEY": key})

    assert run("sync").exit_code == 0
    return run


def test_several_values_after_one_flag(server, cli):
    many = cli("download", "--obs", OBS, "capers_cosmos_p1", "--grating", "PRISM", "--dry-run")
    repeated = cli(
        "download", "--obs", OBS, "--obs", "capers_cosmos_p1", "--grating", "PRISM", "--dry-run"
    )
    assert many.exit_code == 0, many.output
    assert many.output == repeated.output
    plan = server_spectra(
        server, "s.grating = 'PRISM' AND t.observation IN (?, ?)", OBS, "capers_cosmos_p1"
    )
    assert f"Download {len(plan)} files" in many.output
    assert {ln.split(":")[0] for ln in many.output.splitlines() if " new (" in ln} == {
        OBS,
        "capers_cosmos_p1",
    }
    both = cli("download", "--program", "EMBER-UDS", "CAPERS", "--field", "uds", "cosmos",
               "--grating", "PRISM", "G395M", "--dry-run")  # fmt: skip
    assert both.exit_code == 0, both.output


def test_object_tag_and_from_file_download_exactly_them(server, cli, tmp_path):
    root = Path(os.environ["CAMPFIRE_ROOT"])
    r = cli("download", "--object", HERO, "--yes")
    hero = server_spectra(
        server, "o.id IN (SELECT object_pk FROM targets WHERE target_id = ?)", HERO
    )
    assert r.exit_code == 0, r.output
    assert local_files(root) == hero
    r = cli("download", "--tag", "lrd", "blagn", "--grating", "PRISM", "--yes")
    tagged = server_spectra(
        server,
        "s.grating = 'PRISM' AND s.object_pk IN (SELECT m.object_pk FROM list_members m JOIN "
        "lists l ON l.id = m.list_id WHERE l.slug IN ('lrd', 'blagn'))",
    )
    assert r.exit_code == 0, r.output
    assert local_files(root) == hero | tagged
    with sqlite3.connect(server.archive_dir / "archive.db") as db:
        name = db.execute(
            "SELECT object_id FROM objects WHERE field = 'cosmos' ORDER BY object_id LIMIT 1"
        ).fetchone()[0]
    spectrum = sorted(server_spectra(server, "t.observation = 'rubies_uds_p1'"))[0]
    ids = tmp_path / "ids.txt"
    ids.write_text(f"object_id\n{name}  # a name\n\n{spectrum}\n# done\n")
    r = cli("download", "--from-file", str(ids), "--yes")
    assert r.exit_code == 0, r.output
    picked = server_spectra(server, "o.object_id = ? OR s.spectrum_id = ?", name, spectrum)
    assert local_files(root) == hero | tagged | picked
    bad = cli("download", "--object", "ember_uds_p4_999", "--yes")
    assert bad.exit_code == 1 and "not in the local catalog: ember_uds_p4_999" in bad.stderr
    (tmp_path / "empty.txt").write_text("# nothing\n")
    empty = cli("download", "--from-file", str(tmp_path / "empty.txt"))
    assert empty.exit_code == 1 and "holds no ids" in empty.stderr


def test_urls_and_curl_script_list_without_downloading(server, cli, tmp_path):
    root = Path(os.environ["CAMPFIRE_ROOT"])
    r = cli("download", "--object", HERO, "--urls")
    assert r.exit_code == 0, r.output
    assert r.stderr.startswith("Checking files...")  # stdout holds only the rows
    hero = server_spectra(
        server, "o.id IN (SELECT object_pk FROM targets WHERE target_id = ?)", HERO
    )
    rows = [ln.split("\t") for ln in r.stdout.splitlines()]
    assert len(rows) == len(hero)
    for url, digest, size, path in rows:
        sid = Path(path).name.removesuffix("_spec.fits")
        assert hero[sid] == digest and url.startswith(server.base_url + "/files/")
        assert int(size) > 0 and path.startswith(f"{OBS}/")
    assert not local_files(root)
    script = tmp_path / "get.sh"
    w = cli("download", "--object", HERO, "--curl-script", str(script))
    assert w.exit_code == 0, w.output
    assert f"Wrote {script}: {len(hero)} file(s)" in w.stdout
    text = script.read_text()
    assert text.startswith("#!/bin/sh") and os.access(script, os.X_OK)
    assert all(f"{d}  {OBS}/" in text for d in hero.values())
    assert not local_files(root)


def test_the_answer_is_read_from_a_pipe(server, helpers, tmp_path):
    env = {**os.environ, "CAMPFIRE_API_URL": server.base_url,
           "CAMPFIRE_API_KEY": helpers.user_key(server, "bob")}  # fmt: skip

    def campfire(*args, stdin: str | None):
        cmd = [sys.executable, "-m", "campfire", *args]
        return subprocess.run(
            cmd, env=env, text=True, input=stdin, capture_output=True, timeout=300, check=False
        )

    assert campfire("sync", stdin="").returncode == 0
    no = campfire("download", "--obs", OBS, stdin="n\n")
    assert no.returncode == 0 and "Proceed? [Y/n]: n" in no.stdout and "Cancelled." in no.stdout
    ended = campfire("download", "--obs", OBS, stdin="")  # `campfire download < /dev/null`
    assert ended.returncode == 1 and "--yes" in ended.stderr
    assert not list((Path(env["CAMPFIRE_ROOT"]) / "products").rglob("*.fits"))
    yes = campfire("download", "--obs", OBS, stdin="y\n")  # `echo y | campfire download ...`
    assert yes.returncode == 0, yes.stderr
    assert "✓ Download complete" in yes.stdout
    assert local_files(Path(env["CAMPFIRE_ROOT"])) == server_spectra(
        server, "t.observation = ?", OBS
    )


def test_status_prints_the_data_directory_absolute_and_sizes_one_way(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CAMPFIRE_ROOT", "rel/data")  # as typed: relative
    assert cli("sync").exit_code == 0
    assert cli("download", "--obs", OBS, "--yes").exit_code == 0
    out = cli("status").output
    assert f"Data directory: {tmp_path / 'rel' / 'data'}" in out.splitlines()
    sizes = re.findall(r"\d[\d.]* (?:B|kB|MB|GB)\b", out)
    assert len(sizes) >= 2  # the table's row and the disk usage
    assert all(re.fullmatch(r"\d+\.\d (?:kB|MB|GB)", s) for s in sizes), sizes


def test_help_shows_the_admin_group_and_the_selection_options(cli):
    out = cli("--help").output
    users, admin = out.split("Admin commands")
    assert 'pip install "campfire[deploy]"' in admin
    for name in ("deploy", "serve", "admin"):
        assert re.search(rf"^  {name} ", admin, re.MULTILINE)
        assert not re.search(rf"^  {name} ", users, re.MULTILINE)
    for name in ("download", "sync", "status", "login"):
        assert re.search(rf"^  {name} ", users, re.MULTILINE)
    dl = cli("download", "--help").output
    for opt in ("--obs NAME...", "--object ID...", "--tag SLUG...", "--from-file FILE",
                "--urls", "--curl-script FILE"):  # fmt: skip
        assert opt in dl
