"""Binder: repo2docker's ``postBuild`` and ``start`` run in a fresh environment, and the notebooks
started behind them find the served, synced demo, as they do on mybinder.org.

The environment is what a new container has: an empty HOME, no campfire settings, the installed
venv on PATH. Only the size of the demo (tiny, not small) and a free port (not 8765, which a
developer's ``make demo`` may hold) differ, through the variables ``binder/demo.py`` documents.

The archive ``postBuild`` finds is a copy of the session's one tiny demo archive (the same
``build_demo_archive(scale="tiny", seed=42)`` that ``demo.py build`` calls), so the test suite
builds the demo once. The notebooks are executed once, in ``tests/test_notebooks.py``, with the
environment and preparation of ``binder/demo.py``'s own functions; here ``start`` runs every
notebook's setup cell and checks what the notebooks then see.
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BINDER = REPO / "binder"
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))


def fresh_env(tmp: Path, **extra: str) -> dict[str, str]:
    """A new container's environment: empty HOME, no CAMPFIRE_*/JUPYTER*/MPL settings."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CAMPFIRE_", "JUPYTER", "IPYTHON", "MPL", "PYTEST"))
    }
    (tmp / "home").mkdir(exist_ok=True)
    env.update(
        HOME=str(tmp / "home"),
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        CAMPFIRE_ARCHIVE=str(tmp / "archive"),
        CAMPFIRE_ROOT=str(tmp / "data"),
        CAMPFIRE_DEMO_SCALE="tiny",
        CAMPFIRE_DEMO_PORT="0",
        CAMPFIRE_DEMO_ENV=str(tmp / "demo.env"),  # not the checkout's .demo/env
        **extra,
    )
    return env


def run(cmd: list[str], env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def server_pid(archive: Path) -> int:
    return int((archive / "server.pid").read_text().split()[0])


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")  # a zombie has exited; only its parent has not reaped it
    return not (stat.is_file() and stat.read_text().split(")")[-1].split()[0] == "Z")


def test_repo2docker_configuration_matches_the_package():
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    needs = pyproject["project"]["requires-python"]  # ">=3.11"
    runtime = (BINDER / "runtime.txt").read_text().strip()
    assert re.fullmatch(r"python-3\.\d+", runtime)
    assert int(runtime.split(".")[1]) >= int(needs.split(".")[1])
    reqs = [
        ln.strip()
        for ln in (BINDER / "requirements.txt").read_text().splitlines()
        if ln.strip() and not ln.startswith("#")
    ]
    local = [m for r in reqs if (m := re.fullmatch(r"(?:-e\s+)?\.\[([\w,]+)\]", r))]
    assert len(local) == 1, f"requirements.txt must install this checkout with extras: {reqs}"
    extra_defs = pyproject["project"]["optional-dependencies"]

    def expand(extra: str) -> set[str]:
        nested = [n for dep in extra_defs[extra] for n in re.findall(r"campfire\[(.*)\]", dep)]
        return {extra}.union(*(expand(x) for n in nested for x in n.split(",")))

    covered = set().union(*(expand(x) for x in local[0].group(1).split(",")))
    assert {"server", "jupyter", "science", "plotting"} <= covered, covered
    for script in ("postBuild", "start"):
        path = BINDER / script
        assert os.access(path, os.X_OK), f"binder/{script} must be executable"
        assert path.read_text().startswith("#!/bin/bash")
    assert 'exec "$@"' in (BINDER / "start").read_text()


# run by `start` as the notebooks' kernel would be: each notebook's setup cell, then the client
NOTEBOOK_CHECK = """
import json, os, sys
import nbformat
for path in sys.argv[1:]:
    cells = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    exec(compile(cells[0].source, path, "exec"), {"__name__": "__main__"})
from campfire import Campfire
cf = Campfire()
hero = cf.query_objects(search="ember_uds_p4_123456")
print(json.dumps({
    "base_url": cf.settings.base_url, "data_dir": str(cf.data_dir), "is_local": cf.is_local,
    "objects": len(cf.query_objects()), "hero": list(hero["object_id"]),
    "key": os.environ["CAMPFIRE_API_KEY"],
}))
"""


@pytest.mark.slow
def test_postbuild_then_start_serves_syncs_and_the_notebooks_find_the_demo(
    tmp_path, copy_tiny_archive
):
    env = fresh_env(tmp_path)
    archive, data = tmp_path / "archive", tmp_path / "data"
    copy_tiny_archive(archive)  # the image's archive: demo.py build finds it and keeps it

    built = run([str(BINDER / "postBuild")], env)
    assert built.returncode == 0, built.stderr
    assert f"demo archive already in {archive}" in built.stderr
    assert (archive / "archive.db").is_file()
    users = json.loads((archive / "demo-users.json").read_text())["users"]
    assert [u["email"] for u in users][:1] == ["alice@campfire.demo"]

    try:
        # start: serve in the background, sync, download one observation, export, exec "$@"
        first = run([str(BINDER / "start"), "env"], env)
        assert first.returncode == 0, first.stderr
        seen = dict(ln.split("=", 1) for ln in first.stdout.splitlines() if "=" in ln)
        assert seen["CAMPFIRE_ROOT"] == str(data)
        assert seen["CAMPFIRE_API_KEY"] == users[0]["api_key"]
        base_url = seen["CAMPFIRE_API_URL"]
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/api/v1", base_url)
        assert not base_url.endswith(":8765/api/v1")  # CAMPFIRE_DEMO_PORT=0 took a free port
        pid = server_pid(archive)
        assert alive(pid)  # it outlived the start script
        downloaded = list((data / "products" / "ember_uds_p4").glob("*_spec.fits"))
        assert len(downloaded) > 0 and (data / "meta" / "campfire.db").is_file()

        # a second launch reuses the running server, then runs the notebooks' setup cells
        cmd = [str(BINDER / "start"), sys.executable, "-c", NOTEBOOK_CHECK, *map(str, NOTEBOOKS)]
        executed = run(cmd, env, timeout=600)
        assert executed.returncode == 0, executed.stderr[-4000:]
        assert f"reusing the archive server at {base_url}" in executed.stderr
        assert server_pid(archive) == pid
        seen_by_notebooks = json.loads(executed.stdout.splitlines()[-1])
        with (data / "meta" / "objects.csv").open() as f:
            n_objects = sum(1 for _ in csv.DictReader(f))
        assert seen_by_notebooks == {
            "base_url": base_url, "data_dir": str(data), "is_local": True,
            "objects": n_objects, "hero": ["J021740.53-051228.1"], "key": users[0]["api_key"],
        }  # fmt: skip
        assert n_objects > 0
        assert len(NOTEBOOKS) == 5
    finally:
        stopped = run([sys.executable, str(BINDER / "demo.py"), "stop"], env)
    assert stopped.returncode == 0, stopped.stderr
    deadline = time.monotonic() + 15
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(pid)
    assert not (archive / "server.pid").exists()


def test_start_without_a_demo_says_so_and_still_runs_the_command(tmp_path):
    env = fresh_env(tmp_path)
    (tmp_path / "archive").mkdir()
    (tmp_path / "archive" / "notes.txt").write_text("not an archive\n")
    result = run(
        [str(BINDER / "start"), "sh", "-c", "echo ran; echo ${CAMPFIRE_API_URL:-unset}"], env
    )
    assert result.returncode == 0
    assert result.stdout.split() == ["ran", "unset"]
    assert "is not empty and holds no archive" in result.stderr
    assert "not being served" in result.stderr
    assert (tmp_path / "archive" / "notes.txt").read_text() == "not an archive\n"  # untouched
