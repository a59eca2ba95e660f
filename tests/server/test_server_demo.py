"""The demo archive (tiny scale): built through the real ingest, served, users and access."""

from __future__ import annotations

import hashlib
import json

import pytest
import requests

pytest.importorskip("campfire.server.demo.generate")

from campfire.server.demo.archive import demo_key, write_demo_users
from campfire.server.testing import running_server


@pytest.fixture(scope="session")
def demo(tiny_build, copy_tiny_archive, tmp_path_factory):
    # the session's one build_demo_archive(root, scale="tiny", seed=42), served from a copy
    root = copy_tiny_archive(tmp_path_factory.mktemp("demo") / "archive")
    users = tiny_build.users
    write_demo_users(root, None)
    with running_server(root) as srv:
        yield srv, users


def headers(user):
    return {"Authorization": f"Bearer {user['api_key']}"}


def everyone(users):
    return max(users, key=lambda u: len(u["programs"]))


def public_only(users):
    return next(u for u in users if not u["programs"] and not u["admin"])


def test_demo_users_and_keys(demo):
    srv, users = demo
    assert srv.users == users  # running_server reads demo-users.json
    meta = requests.get(srv.base_url + "/metadata", headers=headers(everyone(users)), timeout=10)
    private = {p["slug"] for p in meta.json()["programs"] if not p["is_public"]}
    assert private <= set(everyone(users)["programs"])  # "*" is written as the full list
    for u in users:
        assert u["api_key"] == demo_key(42, u["email"])
        who = requests.get(srv.base_url + "/auth/whoami", headers=headers(u), timeout=10).json()
        assert who["email"] == u["email"] and who["is_admin"] == u["admin"]
    meta_all = requests.get(
        srv.base_url + "/metadata", headers=headers(everyone(users)), timeout=10
    ).json()
    private = [p["slug"] for p in meta_all["programs"] if not p["is_public"]]
    assert private, "the demo must have a private program"
    meta_pub = requests.get(
        srv.base_url + "/metadata", headers=headers(public_only(users)), timeout=10
    ).json()
    assert not set(private) & {p["slug"] for p in meta_pub["programs"]}


def test_public_only_user_sees_nothing_private(demo):
    srv, users = demo
    admin, pub = headers(everyone(users)), headers(public_only(users))
    meta = requests.get(srv.base_url + "/metadata", headers=admin, timeout=10).json()
    private = {p["slug"] for p in meta["programs"] if not p["is_public"]}
    spectra = requests.get(srv.base_url + "/sync/spectra", headers=admin, timeout=10).json()["data"]
    hidden = [s for s in spectra if s["program_slug"] in private]
    assert hidden
    seen = requests.get(srv.base_url + "/sync/spectra", headers=pub, timeout=10).json()["data"]
    assert not {s["spectrum_id"] for s in seen} & {s["spectrum_id"] for s in hidden}
    listed = requests.get(
        srv.base_url + "/spectra/list", headers=pub, params={"limit": 10000}, timeout=10
    ).json()["data"]
    assert not {s["program_slug"] for s in listed} & private
    for s in hidden[:5]:
        for route, params in (
            ("/spectrum", {"spectrum_id": s["spectrum_id"]}),
            ("/redshift-fit", {"spectrum_id": s["spectrum_id"]}),
            ("/spectra", {"path": s["fits_path"]}),
        ):
            r = requests.get(srv.base_url + route, params=params, headers=pub, timeout=10)
            assert r.status_code == 403, (route, r.text)
        r = requests.get(
            srv.base_url + f"/observations/{s['observation']}/manifest", headers=pub, timeout=10
        )
        assert r.status_code == 404
        assert (
            requests.get(srv.base_url + "/files/" + s["fits_path"], timeout=10).status_code == 403
        )


def test_every_demo_file_downloads_and_verifies(demo):
    srv, users = demo
    h = headers(everyone(users))
    observations = requests.get(srv.base_url + "/observations", headers=h, timeout=10).json()
    n = 0
    for obs in observations["observations"]:
        manifest = requests.get(
            srv.base_url + f"/observations/{obs['observation']}/manifest", headers=h, timeout=30
        ).json()
        assert manifest["spectrum_count"] == obs["spectrum_count"]
        for entry in manifest["spectra"]:
            body = requests.get(entry["download_url"], timeout=30).content
            assert "sha256:" + hashlib.sha256(body).hexdigest() == entry["file_hash"]
            assert len(body) == entry["file_size"]
            n += 1
    assert (
        n
        == requests.get(srv.base_url + "/sync/spectra", headers=h, timeout=10).json()["pagination"][
            "total"
        ]
    )


def test_regenerated_products_redeploy_as_unchanged(demo, tmp_path):
    from campfire.server.demo.generate import generate_products
    from campfire.server.ingest.deploy import deploy_products

    srv, _ = demo
    for folder in generate_products(tmp_path / "again", scale="tiny", seed=42):
        report = deploy_products(folder, srv.archive_dir)
        assert report.ingested == 0 and report.objects_changed == 0 and not report.skipped


def test_serve_demo_reuses_the_archive_and_rewrites_users(demo, copy_tiny_archive, tmp_path):
    import os
    import subprocess
    import sys

    _, users = demo
    copy = copy_tiny_archive(tmp_path / "archive")
    write_demo_users(copy, None)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "campfire",
            "serve",
            "--demo",
            "--archive",
            str(copy),
            "--port",
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        out = []
        for line in proc.stdout:
            out.append(line)
            if line.startswith("Serving "):
                break
        text = "".join(out)
        assert "Building" not in text  # an existing archive is served, not rebuilt
        for u in users:
            assert u["email"] in text and u["api_key"] in text and u["password"] in text
        base = line.split(" at ")[1].split()[0]
        saved = json.loads((copy / "demo-users.json").read_text())
        assert saved["base_url"] == base and saved["users"] == users
        assert requests.get(base + "/version", timeout=10).status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        proc.stdout.close()
