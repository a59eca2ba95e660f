"""``cf.export_html`` and ``campfire export-html`` against the real server on loopback."""

from __future__ import annotations

import re
import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from campfire import Campfire
from campfire.cli import main
from campfire.errors import NotFoundError, ValidationError


@pytest.fixture
def cf(exported, tiny_server, tmp_path, monkeypatch, connect):
    data = tmp_path / "data"
    shutil.copytree(exported.data, data)  # synced, spectra of uds kept
    return connect(tiny_server, data, monkeypatch)


def test_the_page_is_one_file_with_everything_inline(exported):
    text = exported.path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert "<title>uds test page</title>" in text
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=[\"']?(https?:)?//", text)
    assert "Bokeh" in text and "ColumnDataSource" in text
    assert "inverse-variance weighted means, errors propagated" in text
    for oid in exported.ids:
        assert oid in text


def test_ids_and_tables_select_the_same_page(cf, tmp_path):
    table = cf.query_objects(fields=["uds"], limit=3)
    ids = list(table["object_id"])
    a = cf.export_html(table, tmp_path / "a.html", title="same")
    b = cf.export_html(ids + ids[:1], tmp_path / "b.html", title="same")  # repeats dropped
    assert a.read_text().count(ids[2]) == b.read_text().count(ids[2]) > 0
    one = cf.export_html(ids[0], tmp_path / "one.html")
    assert "campfire: 1 objects" in one.read_text()


def test_above_the_cap_the_message_names_max_objects(cf, tmp_path):
    table = cf.query_objects(fields=["uds"])
    with pytest.raises(ValidationError, match=r"--max-objects \d+") as info:
        cf.export_html(table, tmp_path / "x.html", max_objects=2)
    assert f"{len(table)} objects selected" in str(info.value)
    assert not (tmp_path / "x.html").exists()


def test_bad_selections_say_what_to_do(cf, tmp_path):
    with pytest.raises(ValidationError, match="empty"):
        cf.export_html([], tmp_path / "x.html")
    with pytest.raises(ValidationError, match="no object_id column"):
        cf.export_html(cf.sql("SELECT field FROM objects LIMIT 2"), tmp_path / "x.html")
    with pytest.raises(NotFoundError, match=r"J000000\.00"):
        cf.export_html(["J000000.00+000000.0"], tmp_path / "x.html")
    with pytest.raises(ValidationError, match="object ids"):
        cf.export_html([3], tmp_path / "x.html")


def test_spectra_that_cannot_be_opened_are_listed_on_the_page(cf, tmp_path, monkeypatch):
    other = cf.query_objects(fields=["cosmos"], limit=50)  # never downloaded
    with_spectra = [o for o, n in zip(other["object_id"], other["n_spectra"], strict=True) if n]
    assert with_spectra
    monkeypatch.setenv("CAMPFIRE_OFFLINE", "1")  # read when a client is made
    cf = Campfire(base_url=cf.settings.base_url, data_dir=cf.data_dir)
    path = cf.export_html(with_spectra[:2], tmp_path / "offline.html")
    text = path.read_text()
    assert "item(s) not shown" in text and "CAMPFIRE_OFFLINE" in text


def run(exported, *args):
    env = {"CAMPFIRE_API_KEY": exported.api_key}
    return CliRunner().invoke(main, ["--base-url", exported.base_url, *args], env=env)


def test_cli_filters_and_sql(cf, exported, tmp_path):
    out = tmp_path / "uds.html"
    result = run(exported, "export-html", "--field", "uds", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert f"Gathering {len(exported.ids)} objects" in result.output and str(out) in result.output
    assert all(oid in out.read_text() for oid in exported.ids)
    sql = f"SELECT object_id FROM objects WHERE object_id = '{exported.hero}'"
    result = run(exported, "export-html", "--sql", sql, "-o", str(tmp_path / "s.html"))
    assert result.exit_code == 0, result.output
    assert "Gathering 1 object..." in result.output


def test_cli_objects_by_name_or_target_id_narrowed_by_filters(cf, exported, tmp_path):
    hero = cf.get_object(exported.hero)
    target = hero.target_ids[0]
    other = next(i for i in exported.ids if i != exported.hero)
    out = tmp_path / "two.html"
    args = ["export-html", "--object", target, other, exported.hero, "-o", str(out)]
    result = run(exported, *args)
    assert result.exit_code == 0, result.output
    assert "Gathering 2 objects" in result.output  # the target id names the hero: once
    text = out.read_text()
    assert exported.hero in text and other in text
    result = run(exported, *args, "--field", "cosmos")  # a filter narrows: nothing left
    assert result.exit_code == 1 and "No objects match" in result.output


def test_cli_refusals(cf, exported, tmp_path):
    result = run(exported, "export-html", "--field", "uds", "--max-objects", "1")
    assert result.exit_code == 1
    assert "--max-objects" in result.output and "Traceback" not in result.output
    result = run(exported, "export-html")
    assert result.exit_code == 2 and "--sql" in result.output
    both = ["--field", "uds", "--sql", "SELECT object_id FROM objects"]
    result = run(exported, "export-html", *both)
    assert result.exit_code == 2 and "not both" in result.output
    result = run(exported, "export-html", "--field", "nowhere")
    assert result.exit_code != 0


def test_500_prism_objects_make_a_page_under_10_mb(exported, tmp_path):
    """The size test: 500 objects, each with a PRISM spectrum of the tiny archive."""
    from campfire.io.fits import read_spectrum
    from campfire.models.object import Object
    from campfire.views.htmlpage import PageObject, page_html

    files = sorted(exported.data.glob("products/*/*prism*_spec.fits"))
    assert files
    spectra = [read_spectrum(f) for f in files]
    rng = np.random.default_rng(5)
    pages = []
    for i in range(500):
        obj = Object(
            object_id=f"J0217{i:05d}", field="uds", ra=34.3 + rng.uniform(0, 0.2),
            dec=-5.2 + rng.uniform(0, 0.2), redshift=float(rng.uniform(1, 9)),
            max_snr=float(rng.uniform(1, 50)), redshift_quality=int(rng.integers(0, 5)),
        )  # fmt: skip
        pages.append(PageObject(obj=obj, spectra=[spectra[i % len(spectra)]]))
    text = page_html(pages, "500 PRISM objects")
    size = len(text.encode("utf-8"))
    assert size < 10_000_000, f"{size / 1e6:.1f} MB"
    assert text.count("J0217") >= 500


def test_explorer_to_html_holds_what_its_table_selects(cf, tmp_path):
    from campfire.widgets import Explorer

    ex = Explorer(cf, fields=["uds"], redshift_range=(3.0, 6.0))
    try:
        path = ex.to_html(tmp_path / "ex.html", title="explorer page")
    finally:
        ex.close()
    text = path.read_text()
    want = set(cf.query_objects(fields=["uds"], redshift_range=(3.0, 6.0))["object_id"])
    others = set(cf.query_objects(fields=["uds"])["object_id"]) - want
    assert want and others
    assert all(oid in text for oid in want) and not any(oid in text for oid in others)
    assert "<title>explorer page</title>" in text
