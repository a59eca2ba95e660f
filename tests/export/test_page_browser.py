"""The exported page in headless Chromium with the network cut: what a collaborator sees.

The page is opened from ``file://`` in Debian's Chromium (never ``playwright install``); every
request that is not ``file:`` is aborted and counted. The page's state is read back from its
Bokeh models through ``Bokeh.documents`` and compared with values computed apart from the page:
the catalog, the FITS files, and :func:`campfire.get_emission_lines`.
"""

from __future__ import annotations

import csv
import io
import math
import os

import pytest

pytestmark = [pytest.mark.browser]

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
if not os.access(CHROMIUM, os.X_OK):
    pytest.skip(f"{CHROMIUM} not found: apt-get install -y chromium", allow_module_level=True)
pytest.importorskip("playwright")

READY = """() => window.Bokeh && Bokeh.documents.length === 1 &&
  Bokeh.documents[0].get_model_by_name('spectrum').data.xs.length > 0"""
MODEL = """([name, attr]) => {
  const v = Bokeh.documents[0].get_model_by_name(name)[attr];
  return JSON.parse(JSON.stringify(v, (k, x) => ArrayBuffer.isView(x) ? Array.from(x) : x)) }"""


class Opened:
    def __init__(self, page, requests, errors):
        self.page, self.requests, self.errors = page, requests, errors

    def model(self, name: str, attr: str = "data"):
        return self.page.evaluate(MODEL, [name, attr])


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def opened(browser, exported):
    context = browser.new_context(viewport={"width": 1300, "height": 1400}, accept_downloads=True)
    page = context.new_page()
    requests: list[str] = []
    errors: list[str] = []

    def route(r):
        if r.request.url.startswith("file:"):
            r.continue_()
        else:
            requests.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
    page.goto(exported.path.as_uri())
    page.wait_for_function(READY, timeout=60_000)
    yield Opened(page, requests, errors)
    context.close()


def test_no_request_no_error_and_a_rendered_document(opened):
    page = opened.page
    page.wait_for_timeout(300)  # let late requests (fonts, images) show themselves
    assert opened.requests == []
    assert opened.errors == []
    assert page.evaluate("() => Bokeh.documents.length") == 1
    assert page.locator("canvas").count() >= 3  # sky, redshift-S/N, spectrum (at least)
    # no element points outside the file: no script, stylesheet or image from elsewhere
    assert (
        page.evaluate(
            "() => [...document.querySelectorAll('[src],[href]')].map(e => e.src || e.href)"
            ".filter(u => u && !u.startsWith('data:') && !u.startsWith('blob:') &&"
            " !u.startsWith('file:'))"
        )
        == []
    )


def test_the_table_has_one_row_per_selected_object(opened, exported):
    objects = opened.model("objects")
    assert objects["object_id"] == exported.ids  # the selection, in its order
    rows = opened.page.evaluate(
        "() => Bokeh.index.find_one(Bokeh.documents[0].get_model_by_name('table'))"
        ".grid.getDataLength()"
    )
    assert rows == len(exported.ids)
    for oid, z in zip(objects["object_id"], objects["redshift"], strict=True):
        want = exported.redshift[oid]
        assert (z is None and math.isnan(want)) or z == pytest.approx(want, abs=1e-9)


def test_selecting_a_row_shows_that_objects_spectrum(opened, exported):
    page = opened.page
    ids = exported.ids
    target = next(i for i in range(3, 0, -1) if exported.spectra[ids[i]])  # rows on screen
    oid = ids[target]
    page.locator(".slick-row").filter(has_text=oid).first.click()
    page.wait_for_function(
        "(i) => Bokeh.documents[0].get_model_by_name('spectrum').tags[0] === i", arg=target
    )
    selected = "() => Bokeh.documents[0].get_model_by_name('objects').selected.indices"
    assert opened.page.evaluate(selected) == [target]
    spec = opened.model("spectrum")
    want = exported.spectra[oid]
    assert len(spec["xs"]) == len(want)
    for xs, (grating, lo, hi) in zip(spec["xs"], sorted(want, key=lambda r: r[0] != "PRISM"),
                                     strict=True):  # fmt: skip
        span = hi - lo
        assert lo <= min(xs) < lo + 0.02 * span and hi - 0.02 * span < max(xs) <= hi, grating
    assert f"<b>{oid}</b>" in opened.model("object_title", "text")


FIRST_STATE = """() => {
  const m = (n) => Bokeh.documents[0].get_model_by_name(n);
  const plain = (v) => JSON.parse(JSON.stringify(v, (k, x) => ArrayBuffer.isView(x) ?
    Array.from(x) : x));
  return plain({spectrum: m('spectrum').data, band: m('band').data, lines: m('lines').data,
    range: m('lines').tags, title: m('object_title').text, cutout: m('cutout').text,
    zbox: m('zbox').value, zslider: m('zslider').value, row: m('spectrum').tags}) }"""


def select_row(page, i: int) -> None:
    page.evaluate(
        "(i) => { Bokeh.documents[0].get_model_by_name('objects').selected.indices = [i] }", i
    )
    page.wait_for_function(
        "(i) => Bokeh.documents[0].get_model_by_name('spectrum').tags[0] === i", arg=i
    )


def test_the_first_object_drawn_by_the_builder_is_what_the_browser_draws(opened, exported):
    """The page opens with row 0 drawn in Python (initial.py); page.js must draw the same."""
    page = opened.page
    built = page.evaluate(FIRST_STATE)
    assert built["row"] == [0]
    assert len(built["spectrum"]["xs"]) == len(exported.spectra[exported.ids[0]]) > 0
    assert built["lines"]["x"]  # the catalog redshift puts lines on the spectrum
    select_row(page, 1)
    assert page.evaluate(FIRST_STATE)["spectrum"] != built["spectrum"]
    select_row(page, 0)
    assert page.evaluate(FIRST_STATE) == built


def test_the_cutout_and_its_shutters_are_shown(opened, exported):
    page = opened.page
    select_row(page, exported.ids.index(exported.hero))
    html = opened.model("cutout", "text")
    assert 'src="data:image/png;base64,' in html
    assert html.count("<polygon ") == exported.n_shutters > 0
    assert 'stroke="#ffd700"' in html  # the target's own shutter
    other = next(i for i, oid in enumerate(exported.ids) if oid != exported.hero)
    select_row(page, other)  # nothing cached for this one
    assert opened.model("cutout", "text") == "<i>no cutout cached for this object</i>"


def test_changing_the_redshift_moves_the_line_markers(opened):
    from campfire.science.lines import get_emission_lines

    page = opened.page
    spec = opened.model("spectrum")
    lo = min(min(x) for x in spec["xs"])
    hi = max(max(x) for x in spec["xs"])
    before = opened.model("lines")["x"]
    box = input_of(page, "zbox")
    for z in (2.5, 6.123):
        box.fill(str(z))
        box.press("Enter")
        page.wait_for_function(
            "(z) => Bokeh.documents[0].get_model_by_name('zslider').value === z", arg=z
        )
        lines = opened.model("lines")
        want = get_emission_lines(z, lo, hi, min_priority=4)
        assert lines["x"] == pytest.approx([ln["wavelength"] for ln in want], rel=1e-6)
        assert lines["name"] == [ln["name"] for ln in want]
        assert lines["x"] != before
    assert page.evaluate("() => Bokeh.documents[0].get_model_by_name('zbox').value") == 6.123


def input_of(page, name: str):
    """The <input> of the Bokeh widget model called ``name`` (inside its shadow root)."""
    return page.evaluate_handle(
        "(n) => Bokeh.index.find_one(Bokeh.documents[0].get_model_by_name(n)).input_el", name
    ).as_element()


def check_import_format(raw: bytes) -> list[dict]:
    """The documented format of ``campfire inspect --import`` (docs/sharing.md), checked."""
    text = raw.decode("utf-8")  # UTF-8, or this raises
    reader = csv.DictReader(io.StringIO(text, newline=""))
    assert reader.fieldnames == ["object_id", "redshift", "quality", "comment"]
    out = []
    for row in reader:
        assert row["object_id"]
        assert row["quality"] in {"0", "1", "2", "3", "4"}
        z = float(row["redshift"]) if row["redshift"] else None
        out.append({**row, "redshift": z, "quality": int(row["quality"])})
    return out


def import_dry_run(path, exported) -> str | None:
    """``campfire inspect --import FILE --dry-run``'s output, or None before that command exists."""
    from click.testing import CliRunner

    from campfire.cli import COMMANDS, main

    if "inspect" not in COMMANDS:
        return None
    env = {"CAMPFIRE_ROOT": str(exported.data), "CAMPFIRE_API_KEY": exported.api_key}
    args = ["--base-url", exported.base_url, "inspect", "--import", str(path), "--dry-run"]
    result = CliRunner().invoke(main, args, env=env)
    assert result.exit_code == 0, result.output
    return result.output


def test_the_inspection_csv_is_in_the_import_format(opened, exported, tmp_path):
    page = opened.page
    oid = exported.ids[0]  # shown first
    zbox = input_of(page, "zbox")
    zbox.fill("3.25")
    zbox.press("Enter")
    page.get_by_role("button", name="4 secure").click()
    comment = 'broad Hα, "LRD?", check G395M'
    box = input_of(page, "comment")
    box.fill(comment)
    box.press("Enter")
    page.get_by_role("button", name="Save inspection").click()
    page.wait_for_function(
        "() => Bokeh.documents[0].get_model_by_name('objects').data.my_quality[0] === '4'"
    )
    with page.expect_download() as dl:
        page.get_by_role("button", name="Export CSV").click()
    path = tmp_path / "inspections.csv"
    dl.value.save_as(path)
    raw = path.read_bytes()
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8"), newline="")))
    assert rows == [["object_id", "redshift", "quality", "comment"], [oid, "3.25", "4", comment]]
    assert check_import_format(raw) == [
        {"object_id": oid, "redshift": 3.25, "quality": 4, "comment": comment}
    ]
    dry = import_dry_run(path, exported)
    assert dry is None or oid in dry
    # kept in the browser: a reload shows the inspection in the table again
    page.reload()
    page.wait_for_function(READY)
    assert opened.model("objects")["my_quality"][0] == "4"
    assert opened.model("objects")["my_comment"][0] == comment
