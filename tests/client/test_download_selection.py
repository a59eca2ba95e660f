"""Downloading exactly a selection, in Python (#15 "Download exactly a selection", item 10).

``cf.download(object_ids=..., spectrum_ids=..., tags=...)``, ``cf.download(table)`` for a query
result, ``cf.download_urls(...)`` and the curl script it feeds. What should be fetched is read
from the server's own database (objects, targets, tags, spectra) and the bytes are checked
against the server's stored files, never against campfire's own planning code.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from contextlib import nullcontext
from pathlib import Path

import pytest
import requests

from campfire import Campfire
from campfire.download.result import DownloadResult, Failure
from campfire.download.urls import curl_script
from campfire.errors import ValidationError

HERO = "ember_uds_p4_123456"


def spectra_where(server, sql: str, *args) -> set[str]:
    """Spectrum ids from the server's database: ``sql`` selects ``s.spectrum_id`` over ``spectra
    s JOIN targets t LEFT JOIN objects o``.
    """
    with nullcontext(server.app.state.archive.db.conn()) as db:  # SQLite or PostgreSQL
        rows = db.execute(
            "SELECT s.spectrum_id FROM spectra s JOIN targets t ON t.id = s.target_pk "
            f"LEFT JOIN objects o ON o.id = s.object_pk WHERE {sql}",
            args,
        )
        return {r[0] for r in rows}


def store_key(server, spectrum_id: str) -> str:
    with nullcontext(server.app.state.archive.db.conn()) as db:  # SQLite or PostgreSQL
        (fits_path,) = db.execute(
            "SELECT fits_path FROM spectra WHERE spectrum_id = ?", (spectrum_id,)
        ).fetchone()
    return str(fits_path)


def store_file(server, spectrum_id: str) -> Path:
    """The server's stored file (a local copy of it when the store is an S3 bucket)."""
    key, store = store_key(server, spectrum_id), server.app.state.archive.store
    local = store.local_path(key)
    if local is not None:
        return Path(local)
    dest = Path(tempfile.mkdtemp(prefix="stored-")) / key.rsplit("/", 1)[1]
    store.get_file(key, dest)
    return dest


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def downloaded(cf: Campfire) -> dict[str, Path]:
    """spectrum_id -> file, for every downloaded spectrum (the catalog's local_path)."""
    rows = cf.sql("SELECT spectrum_id, local_path FROM spectra WHERE local_path IS NOT NULL")
    return {str(r["spectrum_id"]): cf.data_dir / "products" / str(r["local_path"]) for r in rows}


@pytest.fixture
def cf(server, helpers, monkeypatch):
    monkeypatch.setenv("CAMPFIRE_API_URL", server.base_url)
    monkeypatch.setenv("CAMPFIRE_API_KEY", helpers.user_key(server, "alice"))
    client = Campfire()
    client.sync()
    return client


def check_files(server, cf, expected: set[str]) -> None:
    got = downloaded(cf)
    assert set(got) == expected
    for sid, path in got.items():
        assert sha256(path) == sha256(store_file(server, sid)), sid


def test_object_ids_take_names_and_target_ids(server, cf):
    with nullcontext(server.app.state.archive.db.conn()) as db:  # SQLite or PostgreSQL
        other = db.execute(
            "SELECT object_id FROM objects WHERE object_id NOT IN (SELECT o.object_id FROM "
            "objects o JOIN targets t ON t.object_pk = o.id WHERE t.target_id = ?) "
            "ORDER BY object_id LIMIT 1",
            (HERO,),
        ).fetchone()[0]
    expected = spectra_where(
        server,
        "o.id IN (SELECT object_pk FROM targets WHERE target_id = ?) OR o.object_id = ?",
        HERO,
        other,
    )
    result = cf.download(object_ids=[HERO, other])
    assert result.ok and result.downloaded == len(expected) >= 3
    check_files(server, cf, expected)
    again = cf.download(object_ids=[HERO, other])  # incremental: nothing left to fetch
    assert again.downloaded == 0 and again.ok


def test_a_query_table_downloads_its_rows_narrowed_by_the_filters(server, cf):
    lrd = cf.query_objects(tags=["lrd"])
    assert len(lrd) >= 2
    result = cf.download(lrd, gratings=["PRISM"])
    expected = spectra_where(
        server,
        "s.grating = 'PRISM' AND s.object_pk IN (SELECT m.object_pk FROM list_members m "
        "JOIN lists l ON l.id = m.list_id WHERE l.slug = 'lrd')",
    )
    assert result.ok and expected
    check_files(server, cf, expected)
    spectra = cf.query_spectra(gratings=["G395M"], limit=3)
    more = cf.download(spectra)
    assert more.downloaded == 3
    check_files(server, cf, expected | set(spectra["spectrum_id"]))


def test_tags_and_spectrum_ids_add_up(server, cf):
    one = sorted(spectra_where(server, "t.observation = 'capers_cosmos_p1'"))[0]
    tagged = spectra_where(
        server,
        "s.object_pk IN (SELECT m.object_pk FROM list_members m JOIN lists l ON "
        "l.id = m.list_id WHERE l.slug IN ('blagn', 'lae'))",
    )
    result = cf.download(tags=["BLAGN", "lae"], spectrum_ids=[one])
    assert result.ok
    check_files(server, cf, tagged | {one})


def test_a_selection_is_checked_before_anything_is_fetched(cf):
    products = cf.data_dir / "products"
    cases = [
        ({}, "observations=, programs=, fields=, gratings=, object_ids="),
        ({"object_ids": ["ember_uds_p4_999", HERO]}, r"1 id\(s\) not in the local catalog: ember"),
        ({"spectrum_ids": [HERO]}, "not in the local catalog"),  # a target id is no spectrum id
        ({"tags": ["lrdd"]}, "Unknown tag 'lrdd'. Did you mean: lrd"),
        ({"object_ids": []}, "names no spectra"),
        ({"observations": cf.query_objects(limit=0)}, "names no spectra"),
    ]
    for kwargs, message in cases:
        with pytest.raises(ValidationError, match=message):
            cf.download(**kwargs)
    with pytest.raises(ValidationError, match="--obs") as not_python:
        cf.downloads.prepare(cli=True)
    assert "observations=" not in str(not_python.value)
    with pytest.raises(ValidationError, match="spectrum_id or object_id column"):
        cf.download(cf.get_tags())
    assert not products.exists() or not list(products.rglob("*.fits"))


def test_the_result_is_a_short_summary_with_the_files_folded_away():
    files = [f"ember_uds_p4/file_{i:04d}_spec.fits" for i in range(500)]
    result = DownloadResult(downloaded=500, bytes=123_456_789, files=files)
    text = repr(result)
    assert text == "DownloadResult(downloaded=500 files, 123.5 MB, failed=0)"
    html = result._repr_html_()
    assert "<details>" in html and "500 file(s) under products/" in html
    assert html.count("<li>") == 201 and "… and 300 more" in html  # 200 shown, then a count
    bad = DownloadResult(
        failures=[Failure("s1", "o", "o/s1.fits", "HTTP 404"), Failure("s2", "o", "o/s2", "x")]
    )
    assert (
        repr(bad)
        == "DownloadResult(downloaded=0 files, 0 B, failed=2: o/s1.fits: HTTP 404 (+1 more))"
    )
    assert "<details open><summary>2 failure(s)" in bad._repr_html_()


def test_download_urls_lists_every_selected_file_with_its_hash_and_size(server, cf):
    cf.download(object_ids=[HERO], gratings=["PRISM"])  # one of them is already here
    table = cf.download_urls(object_ids=[HERO])
    expected = spectra_where(
        server, "o.id IN (SELECT object_pk FROM targets WHERE target_id = ?)", HERO
    )
    assert set(table["spectrum_id"]) == expected and len(table) == len(expected)
    for row in table:
        stored = store_file(server, row["spectrum_id"])
        assert row["sha256"] == sha256(stored) and row["size"] == stored.stat().st_size
        assert row["path"] == f"{row['observation']}/{stored.name}"
        body = requests.get(row["url"], timeout=30).content  # signed: no login needed
        assert hashlib.sha256(body).hexdigest() == row["sha256"]
    assert set(downloaded(cf)) == {s for s in expected if "_prism_" in s}  # nothing fetched


@pytest.mark.skipif(not (shutil.which("curl") and shutil.which("sha256sum")), reason="no curl")
@pytest.mark.local_files  # it corrupts the bytes the app sends (on S3 it sends none)
def test_the_curl_script_downloads_and_verifies(server, cf, tmp_path):
    table = cf.download_urls(tags=["lrd"])
    script = tmp_path / "get.sh"
    script.write_text(curl_script(table))
    where = tmp_path / "files"
    where.mkdir()
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}
    ran = subprocess.run(["sh", str(script)], cwd=where, env=env, capture_output=True, text=True,
                         timeout=300, check=False)  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.count(": OK") == len(table) > 0
    for row in table:
        assert sha256(where / row["path"]) == sha256(store_file(server, row["spectrum_id"]))
    # run again: verified files are skipped; a damaged one is fetched again
    victim = where / table["path"][0]
    victim.write_bytes(b"damaged")
    again = subprocess.run(["sh", str(script)], cwd=where, env=env, capture_output=True,
                           text=True, timeout=300, check=False)  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert sha256(victim) == table["sha256"][0]
    # bytes corrupted by the server: sha256sum -c fails and so does the script
    victim.unlink()
    key = store_key(server, table["spectrum_id"][0])
    server.set_faults([{"path": f"/files/{key}", "kind": "corrupt"}])
    bad = subprocess.run(["sh", str(script)], cwd=where, env=env, capture_output=True, text=True,
                         timeout=300, check=False)  # fmt: skip
    assert bad.returncode != 0 and "FAILED" in bad.stdout + bad.stderr
