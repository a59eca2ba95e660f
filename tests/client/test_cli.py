"""The campfire commands against the real server: every option, the reference's output, errors.

Expected outputs are built from the server's own files and the reference's formats (decimal
sizes, one decimal, aligned columns), not from campfire's formatting code.
"""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from campfire.archive.auth import load_credentials
from campfire.catalog.store import Store
from campfire.cli import main

OBS = "ember_uds_p4"


def archive_sizes(srv, observation):
    folder = srv.archive_dir / "store" / "spectra" / observation
    return [p.stat().st_size for p in folder.glob("*_spec.fits")]


def mb(n):  # the reference's sizes: decimal megabytes, one decimal
    return f"{n / 1e6:.1f} MB"


@pytest.fixture
def cli(server, helpers, monkeypatch):
    """Run campfire in-process as a user of the shared server (bob: public programs)."""
    monkeypatch.setenv("CAMPFIRE_API_URL", server.base_url)

    def run(*args, input=None, user="bob", key=True):
        env = {"CAMPFIRE_API_KEY": helpers.user_key(server, user) if key else None}
        return CliRunner().invoke(main, list(args), input=input, env=env)

    return run


def test_help_lists_the_commands_and_options(cli):
    out = cli("--help").output
    for name in ("login", "logout", "whoami", "status", "sync", "download"):
        assert name in out
    dl = cli("download", "--help").output
    for opt in ("--obs", "--program", "--field", "--grating", "--stale", "--all", "--workers",
                "--yes", "--dry-run"):  # fmt: skip
        assert opt in dl


def test_login_with_api_key_on_stdin_then_whoami_and_logout(server, helpers, cli):
    key = helpers.user_key(server, "carol")
    r = cli("login", "--api-key", input=key + "\n", key=False)
    assert r.exit_code == 0, r.output
    assert "✓ Logged in as carol@campfire.demo" in r.output
    home = Path(os.environ["CAMPFIRE_HOME"])
    saved = load_credentials(home / "credentials")
    assert saved.type == "api_key" and saved.api_key == key
    who = cli("whoami", key=False)
    assert who.exit_code == 0
    assert who.output.splitlines()[0] == "carol@campfire.demo"
    assert f"Login: API key ({key[:20]}...)" in who.output
    out = cli("logout", key=False)
    assert out.exit_code == 0 and "✓ Logged out" in out.output
    assert not (home / "credentials").exists()
    assert "Not logged in." in cli("logout", key=False).output
    gone = cli("whoami", key=False)
    assert gone.exit_code == 1 and "Run: campfire login" in gone.stderr


def test_login_with_api_key_from_the_environment(server, helpers, cli):
    r = cli("login", "--api-key")  # CAMPFIRE_API_KEY is set: nothing is asked
    assert r.exit_code == 0 and "Using the API key from CAMPFIRE_API_KEY" in r.output
    assert load_credentials(Path(os.environ["CAMPFIRE_HOME"]) / "credentials").api_key


def test_login_with_a_bad_key_fails_clearly(cli):
    r = cli("login", "--api-key", input="sk_live_" + "0" * 64 + "\n", key=False)
    assert r.exit_code == 1 and "Error: Invalid API key" in r.stderr
    assert "Traceback" not in r.output
    r = cli("login", "--api-key", input="\n", key=False)
    assert r.exit_code != 0 and "CAMPFIRE_API_KEY" in r.output


def test_browser_login_end_to_end(server, helpers, tmp_path):
    """``campfire login`` as a real process; the user approves in the "browser"."""
    env = {**os.environ, "CAMPFIRE_API_URL": server.base_url}
    proc = subprocess.Popen(
        [sys.executable, "-m", "campfire", "login"], env=env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    lines = [proc.stdout.readline() for _ in range(3)]
    assert lines[0].startswith("To log in, open this page and approve the code:"), lines
    url = lines[1].strip()
    code = lines[2].split("Code:")[1].strip()
    assert url == f"{server.root_url}/cli-auth?code={code}", lines
    helpers.approve_in_browser(server, url, code, who="carol")
    out = proc.stdout.read()  # the same buffered reader as readline (communicate would skip)
    err = proc.stderr.read()
    assert proc.wait(120) == 0, (out, err)
    assert out.startswith("Waiting for approval"), (out, err)
    assert "✓ Logged in as carol@campfire.demo" in out, (out, err)
    saved = load_credentials(Path(env["CAMPFIRE_HOME"]) / "credentials")
    assert saved.type == "oauth" and saved.user_email == "carol@campfire.demo"
    who = subprocess.run(
        [sys.executable, "-m", "campfire", "whoami"], env=env, capture_output=True, text=True
    )
    assert who.returncode == 0 and who.stdout.startswith("carol@campfire.demo")
    assert "Login: browser" in who.stdout


def test_sync_and_status_output(server, cli):
    before = cli("status")
    assert before.output.splitlines()[:3] == [
        "✓ Credentials valid",
        "User: bob@campfire.demo",
        f"Data directory: {os.environ['CAMPFIRE_ROOT']}",
    ]
    assert "Catalog: not synced yet. Run: campfire sync" in before.output
    r = cli("sync")
    assert r.exit_code == 0, r.output
    with Store(Path(os.environ["CAMPFIRE_ROOT"]) / "meta" / "campfire.db") as s:
        n_obs, n_obj, n_spec = s.observation_count(), s.count("objects"), s.count("spectra")
    assert r.output.splitlines() == [
        "Syncing catalog...",
        f"✓ Synced {n_obs} observations, {n_obj} objects, {n_spec} spectra",
    ]
    assert n_obs == 2  # bob sees the two public programs
    status = cli("status").output.splitlines()
    assert status[3].startswith(f"Catalog: {n_obs} observations (last synced 20")
    assert status[-1].startswith("Disk usage: ")


def test_download_listing_table(server, cli):
    cli("sync")
    r = cli("download")
    assert r.exit_code == 0
    lines = r.output.splitlines()
    assert lines[-1] == "Use --obs, --program, or --field to download, or --all for everything."
    header, *rows = lines[:-1]
    assert header.split() == ["OBSERVATION", "PROGRAM", "FIELD", "SPECTRA", "LOCAL"]
    starts = [header.index(c) for c in ("PROGRAM", "FIELD", "SPECTRA")]
    cells = {row.split()[0]: row for row in rows}
    assert set(cells) == {"capers_cosmos_p1", OBS}
    row = cells[OBS]
    assert [row[i : i + 3] for i in starts] == [
        "EMB",
        "uds",
        str(len(archive_sizes(server, OBS)))[:3],
    ]  # fields as the catalog has them (#15 item 12), so they paste into --field
    assert row.split()[1:] == ["EMBER-UDS", "uds", str(len(archive_sizes(server, OBS)))]


def test_download_an_observation_with_yes(server, cli):
    cli("sync")
    sizes = archive_sizes(server, OBS)
    r = cli("download", "--obs", OBS, "--yes")
    assert r.exit_code == 0, r.output
    assert r.output.splitlines() == [
        "Checking files...",
        f"{OBS}: {len(sizes)} new ({mb(sum(sizes))})",
        f"Download {len(sizes)} files ({mb(sum(sizes))})?",
        "✓ Download complete",
        f"Files downloaded: {len(sizes)}",
        f"Total size: {mb(sum(sizes))}",
    ]  # no progress bars without a terminal
    listing = cli("download").output
    row = next(x for x in listing.splitlines() if x.startswith(OBS))
    assert row.split()[-3:] == [str(len(sizes)), str(len(sizes)), "(complete)"]
    again = cli("download", "--obs", OBS, "--yes")
    assert again.output.splitlines() == [
        "Checking files...",
        f"{OBS}: up to date",
        "✓ Everything is up to date",
    ]
    status = cli("status").output
    assert "OBSERVATION" in status and "DOWNLOADED" in status
    line = next(x for x in status.splitlines() if x.startswith(OBS))
    assert line.split()[:2] == [OBS, str(len(sizes))] and line.endswith(mb(sum(sizes)))


def test_download_needs_a_filter_a_terminal_or_yes(server, cli):
    cli("sync")
    products = Path(os.environ["CAMPFIRE_ROOT"]) / "products"
    r = cli("download", "--program", "EMBER-UDS")
    assert r.exit_code == 1 and "--yes" in r.stderr
    assert "Download " in r.stdout and not list(products.rglob("*.fits"))
    dry = cli("download", "--field", "uds", "--grating", "PRISM", "--dry-run")
    assert dry.exit_code == 0 and dry.output.splitlines()[-1] == "Dry run: nothing downloaded."
    assert not list(products.rglob("*.fits"))
    bad = cli("download", "--obs", "ember_uds_p5")
    assert bad.exit_code == 1 and "Did you mean: ember_uds_p4" in bad.stderr
    assert cli("download", "--all", "--workers", "0").exit_code == 2  # a usage error
    stale = cli("download", "--stale")
    assert stale.exit_code == 0 and "No stale files." in stale.output


def test_download_without_a_catalog(cli):
    r = cli("download", "--all", "--yes")
    assert r.exit_code == 1 and "No local catalog yet. Run: campfire sync" in r.stderr


def test_failures_are_listed_and_exit_non_zero(server, cli):
    cli("sync")
    name = sorted(
        p.name for p in (server.archive_dir / "store" / "spectra" / OBS).glob("*_spec.fits")
    )[0]
    server.set_faults(
        [{"path": f"/files/spectra/{OBS}/{name}", "kind": "status", "status": 404, "times": -1}]
    )
    r = cli("download", "--obs", OBS, "--yes")
    assert r.exit_code == 1
    assert "⚠ 1 file(s) failed:" in r.stderr and f"  {OBS}/{name}: HTTP 404" in r.stderr
    assert "Files downloaded:" in r.stdout


def test_offline_switch(cli, monkeypatch):
    monkeypatch.setenv("CAMPFIRE_OFFLINE", "1")
    r = cli("sync")
    assert r.exit_code == 1 and "CAMPFIRE_OFFLINE" in r.stderr
    assert "Offline (CAMPFIRE_OFFLINE=1)" in cli("status").output


def test_base_url_option_and_a_bad_key_in_status(server, monkeypatch):
    monkeypatch.delenv("CAMPFIRE_API_URL", raising=False)
    env = {"CAMPFIRE_API_KEY": "sk_live_" + "1" * 64}
    r = CliRunner().invoke(main, ["--base-url", server.base_url, "status"], env=env)
    assert r.output.startswith("✗ Invalid or expired credentials (HTTP 401). Run: campfire login")


def _pty_run(args, env, answer):
    """Run campfire on a pseudo-terminal, answer the prompt, return the whole screen text."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "campfire", *args], env=env, stdin=slave,
                            stdout=slave, stderr=slave, close_fds=True)  # fmt: skip
    os.close(slave)
    screen, answered = b"", False
    while True:
        ready, _, _ = select.select([master], [], [], 60)
        if not ready:
            proc.kill()
            raise AssertionError(f"no output for 60 s: {screen!r}")
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        screen += chunk
        if not answered and b"Proceed? [Y/n]:" in screen:
            os.write(master, answer + b"\n")
            answered = True
    proc.wait(60)
    os.close(master)
    return proc.returncode, screen.decode().replace("\r\n", "\n")


def test_prompt_and_progress_bar_on_a_terminal(server, helpers, tmp_path):
    env = {**os.environ, "CAMPFIRE_API_URL": server.base_url,
           "CAMPFIRE_API_KEY": helpers.user_key(server, "bob")}  # fmt: skip
    subprocess.run([sys.executable, "-m", "campfire", "sync"], env=env, check=True,
                   capture_output=True)  # fmt: skip
    code, screen = _pty_run(["download", "--obs", OBS], env, b"n")
    assert code == 0 and "Proceed? [Y/n]: n" in screen and "Cancelled." in screen
    code, screen = _pty_run(["download", "--obs", OBS], env, b"y")
    n = len(archive_sizes(server, OBS))
    assert code == 0, screen
    total = mb(sum(archive_sizes(server, OBS)))
    assert f"{OBS}: 100%|██████████| {total}/{total}, {n}/{n} files [" in screen
    # every frame: the percentage is of bytes, shown with units, and the files beside them
    # (#15 item 5: no "100% | 64/104" mid-run, no "0/0" at the start)
    frames = re.findall(
        rf"{OBS}: +(\d+)%\|[^|]*\| ([\d.]+) (\w+)/([\d.]+) (\w+), (\d+)/(\d+) files", screen
    )
    assert frames and frames[0][5:] == ("0", str(n))
    scale = {"B": 1, "kB": 1e3, "MB": 1e6}
    for pct, done, u1, tot, u2, _files, of in frames:
        assert of == str(n)
        shown = float(done) * scale[u1] / (float(tot) * scale[u2]) * 100
        assert abs(int(pct) - shown) <= 1.5, (pct, done, u1, tot, u2)
    assert "✓ Download complete" in screen


def test_download_killed_then_rerun_completes_cleanly(server, helpers, tmp_path):
    env = {**os.environ, "CAMPFIRE_API_URL": server.base_url,
           "CAMPFIRE_API_KEY": helpers.user_key(server, "bob")}  # fmt: skip
    subprocess.run([sys.executable, "-m", "campfire", "sync"], env=env, check=True,
                   capture_output=True)  # fmt: skip
    names = sorted(
        p.name for p in (server.archive_dir / "store" / "spectra" / OBS).glob("*_spec.fits")
    )
    server.set_faults([{"path": f"/files/spectra/{OBS}/{names[5]}", "kind": "stall",
                        "after_bytes": 60_000, "stall_seconds": 30}])  # fmt: skip
    proc = subprocess.Popen([sys.executable, "-m", "campfire", "download", "--obs", OBS, "--yes"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    deadline = time.monotonic() + 60
    while not server.faults()[0]["hits"]:
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.05)
    time.sleep(0.3)  # let it write the first bytes of the stalled file
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    server.clear_faults()
    folder = Path(env["CAMPFIRE_ROOT"]) / "products" / OBS
    assert list(folder.glob(".*.part"))  # the killed run left its partial file behind
    rerun = subprocess.run([sys.executable, "-m", "campfire", "download", "--obs", OBS, "--yes"],
                           env=env, capture_output=True, text=True)  # fmt: skip
    assert rerun.returncode == 0, rerun.stderr
    assert sorted(p.name for p in folder.iterdir()) == names  # every file, no leftovers
    for name in names:
        assert (folder / name).read_bytes() == (
            server.archive_dir / "store" / "spectra" / OBS / name
        ).read_bytes()


def test_stale_files_reported_by_sync_and_status_then_fetched(
    fresh_server, helpers, demo_products, monkeypatch
):
    from astropy.io import fits

    from campfire.server.ingest.deploy import deploy_products

    monkeypatch.setenv("CAMPFIRE_API_URL", fresh_server.base_url)
    env = {"CAMPFIRE_API_KEY": helpers.user_key(fresh_server, "bob")}
    run = lambda *a: CliRunner().invoke(main, list(a), env=env)  # noqa: E731
    assert run("sync").exit_code == 0
    assert run("download", "--obs", OBS, "--yes").exit_code == 0
    program = demo_products / "ember-uds"
    names = sorted(p.name for p in (program / OBS).glob("*_spec.fits"))[:2]
    for name in names:
        with fits.open(program / OBS / name, mode="update") as hdul:
            hdul[0].header["HISTORY"] = "reprocessed"
    assert deploy_products(program, fresh_server.archive_dir).skipped == []
    out = run("sync").output.splitlines()
    assert out[-2:] == [
        "⚠ 2 local file(s) have been updated on the server.",
        "Run: campfire download --stale",
    ]
    status = run("status").output
    assert "⚠ 2 local file(s) updated on server. Run: campfire download --stale" in status
    r = run("download", "--stale", "--yes")
    assert r.exit_code == 0, r.output
    assert f"{OBS}: 2 updated (" in r.output and "Files downloaded: 2" in r.output
    for name in names:
        local = Path(os.environ["CAMPFIRE_ROOT"]) / "products" / OBS / name
        assert (
            local.read_bytes()
            == (fresh_server.archive_dir / "store" / "spectra" / OBS / name).read_bytes()
        )
    assert "updated on server" not in run("status").output


def test_an_incompatible_catalog_is_rebuilt_by_sync_with_the_reason_printed(cli):
    assert cli("sync").exit_code == 0
    db = Path(os.environ["CAMPFIRE_ROOT"]) / "meta" / "campfire.db"
    with Store(db) as s:
        s.set_meta("schema_version", "99")
    r = cli("sync")  # no --full needed: cf.sync() rebuilds too (tests/client/test_agreement.py)
    assert r.exit_code == 0, r.stderr
    assert "⚠ The catalog at" in r.stderr and "schema version 99" in r.stderr
    assert "Rebuilding it now" in r.stderr and "✓ Synced 2 observations" in r.output
    with Store(db) as s:
        assert s.get_meta("schema_version") == "4" and s.count("objects") > 0
