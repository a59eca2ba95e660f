"""Inspecting in a real JupyterLab: type a redshift, press 4 and Enter, the row says "4 secure".

A notebook runs the Explorer in queue mode against the real demo archive server; Chromium
(Debian's, driven by Playwright) types and presses keys as a user would. A second client of the
archive, in this test process, sees the saved inspection after ``sync``; then it changes the next
object first, and the browser's save of that object shows the conflict, settled with "keep mine".
Screenshots go to ``test-artifacts/widgets/inspect-*.png``, timings to ``metrics.json``.
"""

from __future__ import annotations

import pytest
from lab import Notebook, chromium, lab, missing, record, setup_cell  # noqa: F401 (fixtures)

from campfire import Campfire

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WHY = missing()
if WHY:
    pytest.skip(WHY, allow_module_level=True)

STATE = "() => document.querySelector('.cf-ib').dataset.state"


def second_client(server, path) -> Campfire:
    """Another client of the same archive (Alice on another machine), synced."""
    import os

    os.environ.update(CAMPFIRE_API_URL=server.base_url, CAMPFIRE_API_KEY=server.users[0]["api_key"])
    cf = Campfire(data_dir=path)
    cf.sync()
    return cf


def wait_state(page, state: str, timeout: float = 60_000) -> None:
    page.wait_for_function(f"() => document.querySelector('.cf-ib').dataset.state === '{state}'",
                           timeout=timeout)  # fmt: skip


def test_inspect_from_the_keyboard_in_jupyterlab(lab, chromium, demo_cf, demo_server, tmp_path):
    cf = demo_cf
    todo = [str(o) for o in cf.query_objects(inspected_only=False, sort="object_id")["object_id"]]
    first, second = todo[0], todo[1]
    other = second_client(demo_server, tmp_path / "other")
    name = lab.write_notebook(
        "inspect.ipynb",
        [
            setup_cell(cf, demo_server),
            'ex = Explorer(cf, queue="uninspected", inspected_only=False, page_size=10)\nex',
        ],
    )
    page = chromium.new_page(viewport={"width": 1400, "height": 1300})
    nb = Notebook(page, lab, name)
    nb.run_cell(0)
    nb.run_cell(1)
    page.wait_for_selector(f'.cf-ib[data-object-id="{first}"]', timeout=60_000)
    row = page.locator(f'tr[data-object-id="{first}"]')
    assert "0 none" in row.inner_text()
    assert page.inner_text(".cf-ib-queue") == f"uninspected: 1 of {len(todo)}"

    # type a redshift (Enter applies it), press 4, then Enter: saved, and on to the next object
    page.click(".cf-ib-z")
    page.fill(".cf-ib-z", "2.4321")
    page.press(".cf-ib-z", "Enter")
    page.wait_for_function(STATE + " === 'edited'")
    page.keyboard.press("4")
    page.wait_for_function("() => document.querySelector('.cf-ib-q.cf-on')?.dataset.q === '4'")
    nb.shot("inspect-1-draft", ".cf-ib")
    t0 = page.evaluate("() => performance.now()")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelector('.cf-ib').dataset.confirmedAt",
                           timeout=30_000)  # fmt: skip
    shown, confirmed = page.evaluate(
        "(t0) => { const d = document.querySelector('.cf-ib').dataset;"
        " return [Number(d.pressedAt) - t0, Number(d.confirmedAt) - t0]; }",
        t0,
    )
    page.wait_for_selector(f'.cf-ib-rec[data-object-id="{first}"][data-state="saved"]',
                           timeout=60_000)  # fmt: skip
    page.wait_for_function(
        f"() => document.querySelector('tr[data-object-id=\"{first}\"]')"
        ".innerText.includes('4 secure')",
        timeout=30_000,
    )
    page.wait_for_selector(f'.cf-ib[data-object-id="{second}"]', timeout=30_000)
    assert page.inner_text(".cf-ib-queue") == f"uninspected: 2 of {len(todo)}"
    nb.shot("inspect-2-saved-and-next")

    # the other client sees it after a sync
    other.sync()
    seen = other.get_object(first)
    assert seen.redshift_quality == 4 and seen.redshift_inspected == pytest.approx(2.4321)

    # the other client changes the next object first: the browser's save of it conflicts
    other.inspect(second, redshift=1.5, quality=3)
    page.keyboard.press("2")
    page.keyboard.press("Enter")
    page.wait_for_selector(f'.cf-ib-rec[data-object-id="{second}"][data-state="conflict"]',
                           timeout=60_000)  # fmt: skip
    text = page.inner_text(f'.cf-ib-rec[data-object-id="{second}"]')
    assert "yours 2 tentative" in text and "theirs z = 1.5000, 3 probable" in text, text
    nb.shot("inspect-3-conflict")
    page.click(f'.cf-ib-rec[data-object-id="{second}"] .cf-ib-mine')
    page.wait_for_selector(f'.cf-ib-rec[data-object-id="{second}"][data-state="saved"]',
                           timeout=60_000)  # fmt: skip
    other.sync()
    assert other.get_object(second).redshift_quality == 2  # mine, written over theirs
    nb.shot("inspect-4-kept-mine")
    assert not [e for e in nb.errors if "cf-" in e or "anywidget" in e.lower()], nb.errors
    record("inspect", {"enter_to_saving_shown_ms": round(shown, 1),
                       "enter_to_confirmation_ms": round(confirmed, 1)})  # fmt: skip
    assert confirmed < 20_000  # gross regressions only; the figure is in metrics.json
    page.close()
