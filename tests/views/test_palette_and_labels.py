"""Issue #14: one colour-blind-safe palette for the live widgets and the static pictures, legible
line colours, semi-forbidden labels, and line labels that never pile up on static plots."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from campfire.models.data import SpectrumData
from campfire.science.lines import LINES, place_labels
from campfire.views.palette import (
    DARK_BACKGROUND,
    DASHES,
    GRATING_PALETTE,
    contrast,
    grating_styles,
    legible,
)

ROOT = Path(__file__).resolve().parents[2]


def js_constant(name: str):
    text = (ROOT / "widgets" / "palette.js").read_text()
    m = re.search(rf"export const {name} = (\{{.*?\}}|\[.*?\]);", text, re.S)
    assert m, name
    return json.loads(m.group(1))


def test_the_browser_and_python_share_one_palette():
    assert js_constant("GRATING_PALETTE") == GRATING_PALETTE
    assert js_constant("DASHES") == DASHES
    # the SpectrumData card colours each family by its first shade
    from campfire.models.data import _GRATING_COLOURS

    assert {
        "PRIS": GRATING_PALETTE["PRISM"][0], "G140": GRATING_PALETTE["G140"][0],
        "G235": GRATING_PALETTE["G235"][0], "G395": GRATING_PALETTE["G395"][0],
    } == _GRATING_COLOURS  # fmt: skip


def test_every_grating_colour_reads_on_light_and_dark():
    for shades in GRATING_PALETTE.values():
        for c in shades:
            assert contrast(c, "#ffffff") >= 3 and contrast(c, DARK_BACKGROUND) >= 3, c
    # the old PRISM colour was invisible in JupyterLab dark (defect 3)
    assert contrast("#1a1a1a", DARK_BACKGROUND) < 1.2


def test_wcag_contrast_against_the_standard_values():
    # WCAG's own examples: black on white 21:1, #777 on white about 4.48:1
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)


def test_grating_styles_tell_repeated_gratings_apart():
    st = grating_styles(["PRISM", "PRISM", "G395M", "G395H"])
    assert [s["color"] for s in st] == ["#7a7a7a", "#8d6e63", "#d55e00", "#b07800"]
    assert [s["dash"] for s in st] == [[], [6, 3], [], []]


def test_line_colours_are_made_legible_on_both_backgrounds():
    # CIV (silver) and NaI D (khaki) were nearly invisible on white (defect 8)
    assert contrast("#c0c0c0", "#ffffff") < 2 and contrast("#f0e68c", "#ffffff") < 1.5
    for ln in LINES.values():
        c = legible(ln.color)
        assert contrast(c, "#ffffff") >= 3 and contrast(c, DARK_BACKGROUND) >= 3, (ln.name, c)
    from campfire.views.widgets.spectrum_traces import line_table

    row = next(r for r in line_table(4) if r["name"] == "CIV-1548")
    assert contrast(row["color"], "#ffffff") >= 3


def test_the_named_colours_table_agrees_with_matplotlib():
    from matplotlib.colors import to_hex

    from campfire.views.palette import _NAMED

    assert {ln.color for ln in LINES.values()} <= set(_NAMED)
    for name, hex_ in _NAMED.items():
        assert to_hex(name) == hex_, name


def test_semi_forbidden_lines_keep_their_bracket():
    assert LINES["OIII-1663"].label == "OIII]"
    assert LINES["CIII-1906"].label == "CIII]"
    assert LINES["NIII-1750"].label == "NIII]"
    assert LINES["OIII-5007"].label == "[OIII]"


def test_place_labels_merges_doublets_and_never_overlaps():
    # [OIII] 4959/5007 and Hβ at z = 7.11 across a 420 px plot of 0.6-5.3 µm
    z, px_per_um = 7.11, 420 / 4.7
    items = [
        {"x": (LINES[n].rest_wavelength * (1 + z) / 1e4 - 0.6) * px_per_um,
         "width": 6 * len(LINES[n].label) + 4, "label": LINES[n].label,
         "priority": LINES[n].priority, "name": n}
        for n in ("Hb", "OIII-4959", "OIII-5007")
    ]  # fmt: skip
    groups = place_labels(items, max_rows=2)
    assert [g["label"] for g in groups] == ["Hβ", "[OIII]"]
    assert all(g["visible"] for g in groups)
    assert {g["row"] for g in groups} == {0, 1}  # 11 px apart: two rows, both shown
    # one row only: [OIII] (the strongest) wins the room
    one = place_labels(items, max_rows=1)
    assert [g["label"] for g in one if g["visible"]] == ["[OIII]"]


def test_the_card_at_z_711_labels_oiii():
    w = np.linspace(0.6, 5.3, 400)
    s = SpectrumData(w, np.ones(400), np.full(400, 0.1), grating="PRISM", redshift=7.11)
    labels = re.findall(r'class="line-label"[^>]*>([^<]*)<', s._repr_html_())
    assert "[OIII]" in labels and "Hβ" in labels
    assert labels.count("[OIII]") == 1  # the doublet once


def test_matplotlib_quick_look_labels_do_not_overlap():
    from matplotlib.figure import Figure

    from campfire.views.plotting import plot_spectrum_data

    w = np.linspace(0.6, 5.3, 500)
    s = SpectrumData(w, np.ones(500), np.full(500, 0.1), grating="PRISM", redshift=2.2)
    fig = Figure(figsize=(7, 3))
    ax = fig.add_subplot()
    plot_spectrum_data(s, ax=ax)
    texts = [t for t in ax.texts if t.get_gid() == "line-label"]
    assert len(texts) >= 6
    assert all(t.get_rotation() == 0 for t in texts)  # horizontal, not rotated clumps
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    renderer = FigureCanvasAgg(fig).get_renderer()
    boxes = [t.get_window_extent(renderer) for t in texts]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            overlap_x = min(a.x1, b.x1) - max(a.x0, b.x0)
            overlap_y = min(a.y1, b.y1) - max(a.y0, b.y0)
            assert overlap_x <= 1 or overlap_y <= 1, (a, b)


def _spec_lines() -> list[tuple[str, float]]:
    """(label, vacuum Å) for every line of the spec's table (data-formats.md section 5)."""
    out = []
    table = (ROOT / "tests" / "data" / "reference" / "emission-lines.md").read_text()
    for row in table.splitlines():
        cells = [c.strip() for c in row.strip("|").split("|")]
        if not row.startswith("|") or not re.match(r"[\d.]", cells[1]):
            continue
        names = [re.sub(r"\(.*\)$", "", n).strip() for n in cells[0].split(",")]
        waves = [float(w.split()[0]) for w in cells[1].split(",")]
        if len(names) == 1:  # one label for every component: 'OIII] 1663' → 'OIII]'
            names = [re.sub(r"\s+[\d/]+$", "", names[0])] * len(waves)
        out += zip(names, waves, strict=True)
    return out


def test_every_line_label_is_the_spec_s():
    """#14: NIV-1483 read 'NIV', [NeV] and [ArIII] had no brackets; each line of the spec's
    table is labelled as the table names it (the list entry at that wavelength)."""
    spec = _spec_lines()
    assert len(spec) > 70
    wrong, found = [], 0
    for label, wave in spec:
        near = [ln for ln in LINES.values() if abs(ln.rest_wavelength - wave) < 0.05]
        if near:  # a component the list merges with its neighbour has no entry of its own
            found += 1
            if near[0].label != label:
                wrong.append(f"{near[0].name} {wave} Å: {near[0].label!r}, spec {label!r}")
    assert found > 60
    assert not wrong, wrong
    assert LINES["NIV-1483"].label == LINES["NIV-1486"].label == "NIV]"
