"""campfire serve, campfire deploy (local and remote) and campfire admin."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import requests
from click.testing import CliRunner
from server_products import USERS, api_get, write_all

from campfire.cli import main


@pytest.fixture
def archive_copy(built, backend, tmp_path):
    root, keys = built
    backend.copy(root / "archive", tmp_path / "archive")
    return tmp_path / "archive", keys


def run(*args, input=None):
    return CliRunner().invoke(main, list(map(str, args)), input=input)


def test_admin_commands(archive_copy, tmp_path):
    archive, _ = archive_copy
    a = ["admin", "--archive", archive]
    r = run(*a, "add-user", "dana@example.org", "--password", "pw-dana", "--name", "Dana")
    assert r.exit_code == 0 and "added dana@example.org" in r.output
    assert "already exists" in run(*a, "add-user", "dana@example.org", "--password", "x").output
    assert "can now see BETA-UDS" in run(*a, "grant", "dana@example.org", "BETA-UDS").output
    bad = run(*a, "grant", "dana@example.org", "NOPE")
    assert bad.exit_code == 1 and "known programs: ALPHA-UDS, BETA-UDS" in bad.output
    key = run(*a, "create-key", "dana@example.org", "--name", "laptop").output.strip()
    assert key.startswith("sk_live_") and len(key) == 72
    listing = run(*a, "list-users").output
    assert "dana@example.org" in listing and key[:16] in listing and "BETA-UDS" in listing
    from campfire.server.testing import running_server

    with running_server(archive) as srv:
        h = {"Authorization": f"Bearer {key}"}
        meta = requests.get(srv.base_url + "/metadata", headers=h, timeout=10).json()
        assert [p["slug"] for p in meta["programs"]] == ["ALPHA-UDS", "BETA-UDS"]
        assert "lost BETA-UDS" in run(*a, "revoke", "dana@example.org", "BETA-UDS").output
        meta = requests.get(srv.base_url + "/metadata", headers=h, timeout=10).json()
        assert [p["slug"] for p in meta["programs"]] == ["ALPHA-UDS"]
        assert "now public" in run(*a, "set-public", "BETA-UDS").output
        meta = requests.get(srv.base_url + "/metadata", headers=h, timeout=10).json()
        assert [p["slug"] for p in meta["programs"]] == ["ALPHA-UDS", "BETA-UDS"]
        assert "now private" in run(*a, "set-private", "BETA-UDS").output
        assert "revoked 1 key" in run(*a, "revoke-key", key[:16]).output
        assert requests.get(srv.base_url + "/metadata", headers=h, timeout=10).status_code == 401
    missing = run("admin", "--archive", tmp_path / "nothing", "list-users")
    assert missing.exit_code == 2 and "holds no archive" in missing.output
    nouser = run(*a, "create-key", "ghost@example.org")
    assert nouser.exit_code == 1 and "campfire admin add-user" in nouser.output


def test_deploy_local(tmp_path):
    products = write_all(tmp_path / "products")
    r = run("deploy", *products, "--archive", tmp_path / "archive")
    assert r.exit_code == 0, r.output
    assert "ALPHA-UDS: 5 spectra ingested" in r.output and "BETA-UDS: 3 spectra" in r.output
    (products[0] / "alpha_uds_p1" / "alpha_uds_p1_prism_clear_2_spec.fits").write_bytes(b"junk")
    again = run("deploy", products[0], "--archive", tmp_path / "archive")
    assert again.exit_code == 1 and "unreadable FITS" in again.output
    assert run("deploy", products[0]).exit_code == 2
    both = run("deploy", products[0], "--archive", tmp_path, "--base-url", "http://x/api/v1")
    assert both.exit_code == 2 and "exactly one" in both.output


def test_deploy_remote_through_presign_and_ingest(fresh, tmp_path):
    # a new program uploaded over HTTP by an admin, then served
    gamma = {
        "slug": "GAMMA-UDS",
        "obs": "gamma_uds_p1",
        "public": True,
        "targets": {5: (34.41, -5.21)},
        "spectra": [("prism", "clear", 5, 1.0, 2.0)],
    }
    from server_products import write_program

    folder = write_program(tmp_path / "p", gamma)
    denied = run("deploy", folder, "--base-url", fresh.base_url, "--api-key", fresh.keys["full"])
    assert denied.exit_code == 1 and "not an admin" in denied.output
    r = run("deploy", folder, "--base-url", fresh.base_url, "--api-key", fresh.keys["admin"])
    assert r.exit_code == 0, r.output
    assert "GAMMA-UDS: 1 spectra ingested" in r.output
    rows = api_get(fresh, "/spectra/list", "public", programs="GAMMA-UDS").json()["data"]
    assert [s["spectrum_id"] for s in rows] == ["gamma_uds_p1_prism_clear_5"]
    obs = api_get(fresh, "/observations", "public").json()["observations"]
    g = next(o for o in obs if o["observation"] == "gamma_uds_p1")
    assert g["deployed_by_username"] == "admin"
    store = fresh.app.state.archive.store
    if store.local_path("x") is None:  # S3: the staged products were in the bucket, now gone
        assert not list(store.keys(".uploads/")) and not (fresh.archive_dir / "uploads").exists()
    else:
        assert not list((fresh.archive_dir / "uploads" / "data" / "staging").iterdir())


@pytest.mark.local_files  # uploads through the app (S3: tests/server/test_server_s3deploy.py)
def test_presign_rules(fresh):
    url = fresh.base_url + "/deploy/presign"
    admin = {"Authorization": f"Bearer {fresh.keys['admin']}"}
    user = {"Authorization": f"Bearer {fresh.keys['full']}"}
    assert requests.post(url, json={"uploads": [{"key": "a"}]}, timeout=10).status_code == 401
    r = requests.post(url, json={"uploads": [{"key": "a"}]}, headers=user, timeout=10)
    assert r.json() == {
        "error": "forbidden",
        "error_description": "Admin access required for deployment",
    }
    for body in (
        {"uploads": []},
        {"uploads": [{"key": "x"}] * 501},
        {"bucket": "other", "uploads": [{"key": "x"}]},
        {"uploads": [{"key": "../etc/passwd"}]},
    ):
        r = requests.post(url, json=body, headers=admin, timeout=10)
        assert r.status_code == 400 and r.json()["error"] == "invalid_request"
    put_url = requests.post(
        url, json={"uploads": [{"key": "staging/t/x.txt"}]}, headers=admin, timeout=10
    ).json()["urls"]["staging/t/x.txt"]
    assert requests.put(put_url, data=b"hello", timeout=10).json()["size"] == 5
    assert (
        fresh.archive_dir / "uploads" / "data" / "staging" / "t" / "x.txt"
    ).read_bytes() == b"hello"
    forged = put_url.replace("x.txt", "y.txt")
    assert requests.put(forged, data=b"x", timeout=10).status_code == 403
    ingest = requests.post(
        fresh.base_url + "/deploy/ingest",
        json={"prefix": "staging/none/"},
        headers=admin,
        timeout=10,
    )
    assert ingest.status_code == 400 and "program.json" in ingest.json()["error_description"]


def _serve(archive, *extra):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "campfire",
            "serve",
            "--archive",
            str(archive),
            "--port",
            "0",
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if line.startswith("Serving "):
            return proc, lines, line.split(" at ")[1].split()[0]
    proc.wait()
    raise AssertionError("".join(lines))


def test_serve_prints_base_url_and_serves(archive_copy):
    archive, keys = archive_copy
    proc, _, base = _serve(archive)
    try:
        assert base.startswith("http://127.0.0.1:") and base.endswith("/api/v1")
        assert requests.get(base + "/version", timeout=10).json()["server"] == "campfire"
        h = {"Authorization": f"Bearer {keys['public']}"}
        assert requests.get(base + "/objects", headers=h, timeout=10).status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        proc.stdout.close()


def test_serve_without_archive_explains(tmp_path):
    r = run("serve", "--archive", tmp_path / "empty")
    assert r.exit_code == 2 and "campfire deploy PRODUCTS" in r.output and "--demo" in r.output


def test_users_fixture_matches_logins():
    assert {u["email"] for u in USERS.values()} >= {"full@example.org", "public@example.org"}


def test_admin_grant_and_revoke_inspect(archive_copy):
    archive, keys = archive_copy
    a = ["admin", "--archive", archive]
    listing = run(*a, "list-users").output
    assert "viewer@example.org\n" in listing  # no "(can inspect)"
    assert "full@example.org (can inspect)" in listing
    assert "admin@example.org (admin, can inspect)" in listing
    r = run(*a, "grant-inspect", "viewer@example.org")
    assert r.exit_code == 0 and "viewer@example.org may now write inspections" in r.output
    assert "could already" in run(*a, "grant-inspect", "viewer@example.org").output
    assert "viewer@example.org (can inspect)" in run(*a, "list-users").output
    obj = "J021736.00-051200.0"
    from campfire.server.testing import running_server

    with running_server(archive) as srv:
        h = {"Authorization": f"Bearer {keys['viewer']}"}
        who = requests.get(srv.base_url + "/auth/whoami", headers=h, timeout=10).json()
        assert who["can_inspect"] is True
        url = f"{srv.base_url}/objects/{obj}/comments"
        assert requests.post(url, json={"body": "hi"}, headers=h, timeout=10).status_code == 201
        assert "no longer" in run(*a, "revoke-inspect", "viewer@example.org").output
        assert requests.post(url, json={"body": "hi"}, headers=h, timeout=10).status_code == 403
        assert requests.get(url, headers=h, timeout=10).status_code == 200  # still reads
    assert "could not" in run(*a, "revoke-inspect", "viewer@example.org").output
    ghost = run(*a, "grant-inspect", "ghost@example.org")
    assert ghost.exit_code == 1 and "campfire admin add-user" in ghost.output
    r = run(*a, "add-user", "eve@example.org", "--password", "pw", "--inspect")
    assert "added eve@example.org (can inspect)" in r.output


def test_database_option_binds_the_archive_folder(backend, tmp_path):
    """``deploy --database URL`` puts the catalog there; later commands on the folder find it."""
    from campfire.server.archive import Archive

    url = backend.database("cli") or f"sqlite:///{tmp_path / 'elsewhere' / 'catalog.db'}"
    products = write_all(tmp_path / "products")
    archive = tmp_path / "archive"
    r = run("deploy", products[0], "--archive", archive, "--database", url)
    assert r.exit_code == 0, r.output
    assert not (archive / "archive.db").exists()  # the catalog is not in the folder
    r = run("admin", "--archive", archive, "add-user", "eve@example.org", "--password", "pw")
    assert r.exit_code == 0 and "added eve@example.org" in r.output
    opened = Archive(archive)  # no database= : the folder remembers it
    try:
        assert opened.db.url == url
        emails = [row[0] for row in opened.db.conn().execute("SELECT email FROM users")]
        assert emails == ["eve@example.org"]
        (n,) = opened.db.conn().execute("SELECT count(*) FROM programs").fetchone()
        assert n == 1
    finally:
        opened.close()
    assert oct((archive / "database.url").stat().st_mode & 0o777) == "0o600"


def test_an_unsupported_or_unreachable_database_is_one_clear_line(tmp_path):
    r = run("admin", "--archive", tmp_path, "--database", "mysql://db/x", "list-users")
    assert r.exit_code == 1 and "Unsupported database URL mysql://" in r.output
    assert "Traceback" not in r.output
    down = "postgresql://nobody:secret-pw@127.0.0.1:1/none"
    r = run("admin", "--archive", tmp_path, "--database", down, "list-users")
    assert (
        r.exit_code == 1 and "Cannot open the PostgreSQL database at 127.0.0.1:1/none" in r.output
    )
    assert "secret-pw" not in r.output and "Traceback" not in r.output
