"""``campfire inspect``, ``tag``, ``untag`` and ``sync``'s outbox lines, and the CSV import,
run as a user runs them against the real server; the archive is read back with ``requests``."""

from __future__ import annotations

import pytest
import requests
from click.testing import CliRunner
from demo_clients import user_client

from campfire.cli import main
from campfire.client.imports import read_rows


@pytest.fixture(scope="module")
def srv(copy_tiny_archive, tmp_path_factory):
    from campfire.server.testing import running_server

    served = copy_tiny_archive(tmp_path_factory.mktemp("cli-served") / "archive")
    with running_server(served, faults=True) as server:
        yield server


@pytest.fixture(scope="module")
def objects(srv, tmp_path_factory):
    cf = user_client(srv, "alice", tmp_path_factory.mktemp("cli-ids"))
    cf.sync()
    rows = cf.sql("SELECT object_id, redshift_quality FROM objects ORDER BY 1")
    return [
        str(o) for o, q in zip(rows["object_id"], rows["redshift_quality"], strict=True) if q == 0
    ]


@pytest.fixture
def run(srv, tmp_path, monkeypatch):
    """``run(*args, offline=False)``: campfire with alice's key on a synced data directory."""
    monkeypatch.setenv("CAMPFIRE_API_KEY", srv.user("alice@campfire.demo")["api_key"])
    monkeypatch.setenv("CAMPFIRE_API_URL", srv.base_url)
    monkeypatch.setenv("CAMPFIRE_ROOT", str(tmp_path / "root"))
    runner = CliRunner()
    assert runner.invoke(main, ["sync"]).exit_code == 0

    def invoke(*args: str, offline: bool = False):
        env = {"CAMPFIRE_OFFLINE": "1" if offline else ""}
        return runner.invoke(main, list(args), env=env)

    return invoke


def archive_row(srv, oid):
    key = srv.user("alice@campfire.demo")["api_key"]
    rows = requests.get(
        srv.base_url + "/sync/objects",
        params={"limit": 10000},
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    ).json()["data"]
    return next(o for o in rows if o["object_id"] == oid)


def test_inspect_command_saves_and_sends(srv, objects, run):
    oid = objects[0]
    out = run("inspect", oid, "--z", "2.31", "--quality", "secure", "--comment", "Ha + [NII]")
    assert out.exit_code == 0, out.output
    assert f"{oid}: z 2.31, quality 4 (secure); comment added" in out.output
    assert "Saved and sent to the archive" in out.output
    row = archive_row(srv, oid)
    assert (row["redshift_inspected"], row["redshift_quality"]) == (2.31, 4)
    bad = run("inspect", oid, "--quality", "superb")
    assert bad.exit_code == 1 and "unknown redshift quality 'superb'" in bad.output
    assert "Traceback" not in bad.output
    assert run("inspect", oid).exit_code == 2  # nothing to save: a usage error


def test_flags_tags_and_offline_then_sync(srv, objects, run):
    oid = objects[1]
    listed = run(
        "sql", "--format", "csv", f"SELECT spectrum_id FROM spectra WHERE object_id = '{oid}'"
    )
    sid = listed.output.splitlines()[1]
    out = run("inspect", oid, "--flag", f"{sid}=CHIP_GAP,LOW_SNR", "--quality", "2", offline=True)
    assert out.exit_code == 0, out.output
    assert f"{sid}: DQ flags 33 (CHIP_GAP, LOW_SNR)" in out.output
    assert "goes to the archive with the next `campfire sync`" in out.output
    out = run("tag", "cli-review", oid, "--create", offline=True)
    assert out.exit_code == 0 and "Created tag cli-review (private)" in out.output
    assert "Tagged 1 object(s) cli-review" in out.output
    assert "queued for the next campfire sync" in out.output
    synced = run("sync")
    assert synced.exit_code == 0 and "Sent 4 write(s) from the outbox" in synced.output
    assert archive_row(srv, oid)["redshift_quality"] == 2
    out = run("untag", "cli-review", oid)
    assert out.exit_code == 0 and "Untagged 1 object(s) from cli-review; sent" in out.output


def test_conflicts_are_listed_by_sync_and_inspect_and_settled(srv, objects, run, tmp_path):
    oid = objects[2]
    assert run("inspect", oid, "--quality", "4", offline=True).exit_code == 0
    other = user_client(srv, "alice", tmp_path / "elsewhere")
    other.sync()
    other.inspect(oid, redshift=1.11, quality="probable")
    synced = run("sync")
    assert "1 conflict(s)" in synced.output
    line = f"  {oid}: mine z unchanged, quality 4 (secure) | theirs z 1.11, quality 3 (probable)"
    assert line in synced.output and "by Alice Admin" in synced.output
    listed = run("inspect", "--conflicts")
    assert listed.exit_code == 0 and line in listed.output
    kept = run("inspect", oid, "--keep", "mine")
    assert kept.exit_code == 0 and "kept mine; saved and sent" in kept.output
    assert archive_row(srv, oid)["redshift_quality"] == 4
    assert "No conflicts." in run("inspect", "--conflicts").output


def test_csv_import_dry_run_errors_and_apply(srv, objects, run, tmp_path):
    a, b, c = objects[3:6]
    path = tmp_path / "sheet.csv"
    path.write_text(
        "\ufeffobject_id;redshift;quality;comment;notes\n"  # Excel: BOM and semicolons
        f"{a};2.5;secure;from the sheet;x\n"
        f"{b};;bad;;\n"
        "J000000.00+000000.0;1.0;2;;\n"
        f"{c};forty;3;;\n"
        f"{a};2.6;;;\n"
        "\n",
        encoding="utf-8",
    )
    rows, errors = read_rows(path)  # parsing alone: line numbers of the file
    assert [r["line"] for r in rows] == [2, 3, 4, 6] and errors[0][0] == 5
    dry = run("inspect", "--import", str(path), "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "line 4: no object 'J000000.00+000000.0' in the catalog" in dry.output
    assert "line 5: redshift must be a number (got 'forty')" in dry.output
    assert f"line 6: {a} is already on line 2" in dry.output
    assert f"line 2: {a}: z none -> 2.5, quality 0 (none) -> 4 (secure), comment" in dry.output
    assert "Dry run: 2 row(s) would be applied" in dry.output
    refused = run("inspect", "--import", str(path))
    assert refused.exit_code == 1 and "Nothing was saved: 3 row(s) have errors" in refused.output
    assert archive_row(srv, a)["redshift_quality"] == 0
    applied = run("inspect", "--import", str(path), "--skip-bad-rows")
    assert applied.exit_code == 0 and "Applied 2 row(s): 3 write(s) sent" in applied.output
    assert archive_row(srv, a)["redshift_inspected"] == 2.5
    assert archive_row(srv, b)["redshift_quality"] == 1
    missing = tmp_path / "no-id.csv"
    missing.write_text("id,redshift\nx,1\n", encoding="utf-8")
    out = run("inspect", "--import", str(missing))
    assert out.exit_code == 1 and "has no object_id column" in out.output


def test_clear_redshift_offline_then_sync_and_online(srv, objects, run):
    oid = objects[-1]
    assert run("inspect", oid, "--z", "3.3", "--quality", "3").exit_code == 0
    auto = archive_row(srv, oid)["redshift_auto"]
    assert archive_row(srv, oid)["redshift"] == 3.3
    out = run("inspect", oid, "--clear-redshift", offline=True)
    assert out.exit_code == 0, out.output
    assert (
        f"{oid}: z none, quality 3 (probable)" in out.output
        and "next `campfire sync`" in out.output
    )
    assert archive_row(srv, oid)["redshift_inspected"] == 3.3  # queued, not sent yet
    sql = f"SELECT redshift_inspected, redshift FROM objects WHERE object_id = '{oid}'"
    local = run("sql", "--format", "csv", sql)
    assert local.output.splitlines()[1] == f",{auto if auto is not None else ''}"
    assert run("sync").exit_code == 0
    row = archive_row(srv, oid)
    assert (row["redshift_inspected"], row["redshift"], row["redshift_quality"]) == (None, auto, 3)
    # online, with a redshift again and cleared again: sent at once
    assert run("inspect", oid, "--z", "4.4").exit_code == 0
    assert run("inspect", oid, "--clear-redshift").exit_code == 0
    assert archive_row(srv, oid)["redshift_inspected"] is None
    both = run("inspect", oid, "--z", "1", "--clear-redshift")
    assert both.exit_code == 2 and "not both" in both.output
