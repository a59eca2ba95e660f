"""The explorer in a real JupyterLab, driven by Debian's Chromium through Playwright.

A notebook is written, opened and run in JupyterLab on loopback; the kernel talks to the real
demo archive server. Screenshots and measured figures go to ``test-artifacts/widgets/``.
Timing figures are recorded (``metrics.json``); only gross regressions (20x the targets) fail.
"""

from __future__ import annotations


import pytest
from lab import Notebook, chromium, lab, missing, record, setup_cell  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WHY = missing()
if WHY:
    pytest.skip(WHY, allow_module_level=True)

ECHO = """import ipywidgets as W
echo = W.Label(value="kernel: waiting")
def _echo(change=None):
    v = ex.viewer
    echo.value = (f"kernel: z={v.redshift} unit={v.flux_unit} "
                  f"range={[round(x, 3) for x in v.x_range]} selected={ex.browser.selected}")
v = ex.viewer
v.observe(_echo, ["redshift", "flux_unit", "x_range"])
ex.browser.observe(_echo, "selected")
_echo()
echo"""

WAIT_CHANGE = """async ([selector, key, click]) => {
  const root = document.querySelector(selector);
  const before = root.dataset[key];
  const t0 = performance.now();
  const changed = new Promise((resolve) => {
    const obs = new MutationObserver(() => {
      if (root.dataset[key] !== before) { obs.disconnect(); resolve(performance.now() - t0); }
    });
    obs.observe(root, { attributes: true });
  });
  document.querySelector(click).click();
  return await changed;
}"""

DRAG_FRAMES = """async (frames) => {
  const slider = document.querySelector('.cf-sv-zslider');
  const root = document.querySelector('.cf-sv');
  const frame = () => new Promise((r) => requestAnimationFrame(r));
  await frame();
  const t0 = performance.now();
  for (let i = 0; i < frames; i++) {
    slider.value = String(1.2 + i * 0.005);
    slider.dispatchEvent(new Event('input'));
    await frame();
  }
  const elapsed = performance.now() - t0;
  return { fps: (frames / elapsed) * 1000, lines: Number(root.dataset.linesDrawn),
           overlayMeanMs: Number(root.dataset.overlayMs),
           overlayMaxMs: Number(root.dataset.overlayMaxMs), z: root.dataset.redshift };
}"""


def test_explorer_in_jupyterlab(lab, chromium, demo_cf, demo_server):
    cf = demo_cf
    spectra = cf.query_spectra()
    counts: dict[str, int] = {}
    for o in spectra["object_id"]:
        counts[str(o)] = counts.get(str(o), 0) + 1
    objs = cf.query_objects()
    order = [str(o) for o in objs["object_id"]]
    with_z = {
        str(o) for o, m in zip(objs["object_id"], objs["redshift"].mask, strict=True) if not m
    }
    oid = max((o for o in order[:15] if o in with_z), key=lambda o: counts.get(o, 0))
    name = lab.write_notebook(
        "explorer.ipynb",
        [setup_cell(cf, demo_server), "ex = Explorer(cf)\nex.viewer.line_priority = 3\nex", ECHO],
    )
    page = chromium.new_page(viewport={"width": 1400, "height": 1100})
    nb = Notebook(page, lab, name)
    nb.run_cell(0)
    t0 = nb.run_cell(1)
    page.wait_for_selector("tr.cf-ob-row", timeout=60_000)
    first_rows = (
        page.evaluate("() => Number(document.querySelector('.cf-ob').dataset.firstRowsAt)") - t0
    )
    nb.run_cell(2)
    page.wait_for_selector("text=kernel: z=None", timeout=30_000)

    # click a row: its spectra are fetched from the archive, drawn with their lines
    page.locator(f'tr[data-object-id="{oid}"]').click()
    page.wait_for_selector(f"text=selected={oid}", timeout=30_000)
    page.wait_for_selector('.cf-ex[data-state="done"]', timeout=120_000)
    chips = page.locator(".cf-sv-chip")
    assert chips.count() == counts[oid]
    assert page.inner_text(".cf-ex-summary").startswith(oid)
    viewer = page.locator(".cf-sv")
    page.wait_for_function("() => Number(document.querySelector('.cf-sv').dataset.linesDrawn) > 0")
    nb.shot("1-object-selected")
    nb.shot("1-viewer", ".cf-sv")

    # the shutters on the cutout, the target's among them
    page.wait_for_function("() => document.querySelector('.cf-cp').dataset.hasImage === '1'")
    cut = page.locator(".cf-cp")
    assert int(cut.get_attribute("data-shutters-drawn")) > 0
    assert int(cut.get_attribute("data-target-shutters")) >= 1
    nb.shot("2-cutout", ".cf-cp")

    # type a redshift: lines move in the browser, the kernel hears it once
    page.fill(".cf-sv-z", "2.5")
    page.press(".cf-sv-z", "Enter")
    page.wait_for_selector("text=kernel: z=2.5 ", timeout=30_000)
    assert viewer.get_attribute("data-redshift") == "2.50000"
    page.fill(".cf-sv-z", "two")
    page.press(".cf-sv-z", "Enter")
    assert "not a redshift" in page.inner_text(".cf-sv-message")
    assert viewer.get_attribute("data-redshift") == "2.50000"  # nothing lost

    # drag the redshift slider frame by frame: JS only, no kernel round trip per step
    drag = page.evaluate(DRAG_FRAMES, 120)
    assert drag["lines"] >= 40
    assert page.locator("text=kernel: z=2.5 ").count() == 1  # the kernel has not been told yet
    page.dispatch_event(".cf-sv-zslider", "change")
    page.wait_for_selector(f"text=kernel: z={float(drag['z']):.3f}", timeout=30_000)
    nb.shot("3-redshift-dragged", ".cf-sv")

    # drag a line with the mouse: the redshift follows it
    xs = [float(x) for x in viewer.get_attribute("data-line-xs").split(",")]
    box = page.locator(".cf-sv-over").bounding_box()
    x = xs[len(xs) // 2]
    z_before = float(viewer.get_attribute("data-redshift"))
    page.mouse.move(box["x"] + x, box["y"] + box["height"] / 2)
    page.mouse.down()
    for step in range(1, 11):
        page.mouse.move(box["x"] + x + 4 * step, box["y"] + box["height"] / 2)
    page.mouse.up()
    assert float(viewer.get_attribute("data-redshift")) > z_before

    # switch units: f_lambda, told to the kernel
    page.select_option(".cf-sv-unit", "flambda")
    page.wait_for_selector("text=unit=flambda", timeout=30_000)
    assert "fλ" in page.inner_text(".cf-sv-unit")
    nb.shot("4-flambda", ".cf-sv")

    # zoom with the wheel, reset with the button
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, -400)
    page.wait_for_function("() => !document.body.innerText.includes('range=[] ')", timeout=30_000)
    page.click(".cf-sv-reset")
    page.wait_for_selector("text=range=[] ", timeout=30_000)

    # keyboard: the next row becomes the selection, and the explorer follows
    page.locator(f'tr[data-object-id="{oid}"]').click()
    page.keyboard.press("ArrowDown")
    nxt = order[order.index(oid) + 1]
    page.wait_for_selector(f"text=selected={nxt}", timeout=30_000)
    page.wait_for_function(
        f"() => document.querySelector('.cf-ex-summary').textContent.startsWith('{nxt}')"
    )
    nb.shot("5-keyboard-next")

    # filters: a typo is flagged in the widget and not sent; a good value re-runs the query
    page.click(".cf-ob-toggle:has-text('Filters')")
    zmin = ".cf-ob-num[data-key='zmin']"
    page.fill(zmin, "five")
    page.press(zmin, "Tab")
    assert 'redshift: "five" is not a number' in page.inner_text(".cf-ob-error")
    assert page.input_value(zmin) == "five"  # what was typed stays, to be fixed
    page.fill(zmin, "5")
    page.press(zmin, "Tab")
    n = len(cf.query_objects(redshift_range=(5, None)))
    page.wait_for_selector(f".cf-ob-info:has-text('of {n}')", timeout=30_000)
    assert page.inner_text(".cf-ob-error") == ""
    nb.shot("6-filtered", ".cf-ob")

    assert not [e for e in nb.errors if "cf-" in e or "anywidget" in e.lower()], nb.errors
    record("explorer", {"first_rows_ms": round(first_rows, 1), **drag})
    page.close()


def test_object_browser_pages_100k_objects(lab, chromium, tmp_path):
    from catalog_data import fill_catalog

    from campfire import Campfire

    fill_catalog(tmp_path / "big", 100_000, seed=11, with_spectra=False)
    Campfire(data_dir=tmp_path / "big").catalog.refresh()  # writes the Parquet snapshot
    name = lab.write_notebook(
        "big.ipynb",
        [
            "from campfire import Campfire\nfrom campfire.widgets import ObjectBrowser\n"
            f"cf = Campfire(data_dir={str(tmp_path / 'big')!r})\ncf.catalog.connection()",
            "b = ObjectBrowser(cf, page_size=25)\nb",
        ],
    )
    page = chromium.new_page(viewport={"width": 1300, "height": 900})
    nb = Notebook(page, lab, name)
    nb.run_cell(0)
    t0 = nb.run_cell(1)
    page.wait_for_selector("tr.cf-ob-row", timeout=60_000)
    first = page.evaluate("() => Number(document.querySelector('.cf-ob').dataset.firstRowsAt)") - t0
    assert "of 100,000" in page.inner_text(".cf-ob-info")
    nexts = []
    for _ in range(6):  # paging on at a brisk reader's pace: the pages ahead are prefetched
        page.wait_for_timeout(150)
        nexts.append(page.evaluate(WAIT_CHANGE, [".cf-ob", "offset", ".cf-ob-nav:nth-of-type(3)"]))
    # a jump no prefetch covers (the last page) is one kernel round trip; back to the first
    jumps = [page.evaluate(WAIT_CHANGE, [".cf-ob", "offset", ".cf-ob-nav:nth-of-type(4)"])]
    page.wait_for_timeout(150)
    page.evaluate(WAIT_CHANGE, [".cf-ob", "offset", ".cf-ob-nav:nth-of-type(1)"])
    assert page.get_attribute(".cf-ob", "data-offset") == "0"
    page.click(".cf-ob-th[data-column='redshift']")
    page.wait_for_selector(".cf-ob-th[data-column='redshift']:has-text('z ▲')")
    page.wait_for_function(  # the kernel re-sorted 100,000 rows: the lowest redshift first
        "() => { const c = document.querySelectorAll('tr.cf-ob-row td')[5];"
        " return c && Number(c.textContent) < 0.52; }",
        timeout=30_000,
    )
    nb.shot("7-browser-100k")
    metrics = {
        "first_rows_ms": round(first, 1),
        "next_page_ms": [round(v, 2) for v in nexts],
        "uncached_page_ms": [round(v, 2) for v in jumps],
    }
    record("browser_100k", metrics)
    # gross regressions only (targets: 1 s, 50 ms); the figures themselves are in metrics.json
    assert first < 20_000 and max(nexts + jumps) < 1_000, metrics
    page.close()
