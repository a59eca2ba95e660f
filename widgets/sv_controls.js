// SpectrumViewer, its controls: the DOM of one view (tool bar, line-list panel, 2D and y-limit
// controls, export menu, legend, plot canvases, readout). Building only: what the controls do
// is wired in spectrum_viewer.js.

import { lineGroup } from "./sv_data.js";

export function h(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

export function option(sel, value, text) {
  const o = h("option", null, text);
  o.value = value;
  sel.appendChild(o);
}

export function checkbox(cls, text, tip) {
  const label = h("label", cls);
  const box = h("input");
  box.type = "checkbox";
  label.title = tip;
  label.append(box, document.createTextNode(" " + text));
  return [label, box];
}

function button(cls, text, tip) {
  const b = h("button", cls, text);
  b.type = "button";
  if (tip) b.title = tip;
  return b;
}

function select(cls, tip, choices) {
  const sel = h("select", cls);
  sel.title = tip;
  for (const [v, text] of choices) option(sel, v, text);
  return sel;
}

/** The line lists one may choose: the priority each shows from. */
export const LINE_LISTS = [["5", "strongest lines"], ["4", "common lines"], ["3", "more lines"], ["1", "every line"]];
/** Smoothing kinds and their widths or σ offered in the menu (value: "kind:amount"). */
export const SMOOTHINGS = [
  ["none:0", "no smoothing"], ["boxcar:3", "boxcar 3 px"], ["boxcar:5", "boxcar 5 px"], ["boxcar:9", "boxcar 9 px"],
  ["gauss_px:1", "Gauss σ 1 px"], ["gauss_px:2", "Gauss σ 2 px"], ["gauss_px:4", "Gauss σ 4 px"],
  ["gauss_kms:100", "Gauss σ 100 km/s"], ["gauss_kms:300", "Gauss σ 300 km/s"], ["gauss_kms:1000", "Gauss σ 1000 km/s"],
];

/** The view's DOM in el: tool bars, panels, legend, message, plot canvases, 2D canvas, readout. */
export function buildDom(el) {
  const root = h("div", "cf-sv");
  const bar = h("div", "cf-sv-bar");
  const title = h("span", "cf-sv-title");
  const zBox = h("label", "cf-sv-zbox", "z ");
  const zInput = h("input", "cf-sv-z");
  Object.assign(zInput, { type: "text", inputMode: "decimal", size: 7, title: "redshift: type a value and press Enter, or drag a line" });
  const zSlider = h("input", "cf-sv-zslider");
  Object.assign(zSlider, { type: "range", min: "0", max: "12", step: "0.0001", title: "drag to move the lines" });
  zBox.append(zInput, zSlider);
  const unit = select("cf-sv-unit", "flux unit", [["fnu", "fν [µJy]"], ["flambda", "fλ [erg/s/cm²/Å]"]]);
  const xUnit = select("cf-sv-xunit", "wavelength axis", [["um", "λ obs [µm]"], ["A", "λ obs [Å]"], ["rest_A", "λ rest [Å]"]]);
  const smoothSel = select("cf-sv-smooth", "smoothing: boxcar width, or Gaussian σ in pixels or km/s", SMOOTHINGS);
  const linesToggle = button("cf-sv-toggle cf-sv-linestoggle", "Lines ▾", "choose, hide and add emission lines");
  const twoToggle = button("cf-sv-toggle cf-sv-twotoggle", "2D ▾", "2D spectra: show, stretch, colour map");
  const [holdLabel, holdBox] = checkbox("cf-sv-hold", "hold rest zoom", "keep the rest-frame window when the object changes");
  const yLo = h("input", "cf-sv-ylo"), yHi = h("input", "cf-sv-yhi");
  for (const [box, ph] of [[yLo, "y min"], [yHi, "y max"]]) Object.assign(box, { type: "text", inputMode: "decimal", size: 6, placeholder: ph, title: "y limits (empty both: automatic, keeping line peaks in view)" });
  const yBox = h("span", "cf-sv-ybox");
  yBox.append(yLo, yHi);
  const boxZoom = button("cf-sv-boxzoom", "⬚ box", "box zoom: drag a box on the plot (or hold Shift while dragging)");
  const reset = button("cf-sv-reset", "Reset zoom", "show everything, y automatic (or double-click the plot)");
  const exportSel = select("cf-sv-export", "export the view or the data shown", [["", "Export ▾"], ["png", "view as PNG"], ["svg", "view as SVG"], ["csv", "data as CSV"], ["fits", "data as FITS"]]);
  bar.append(title, zBox, unit, xUnit, smoothSel, linesToggle, twoToggle, holdLabel, yBox, boxZoom, reset, exportSel);
  const linePanel = h("div", "cf-sv-panel cf-sv-linepanel cf-hidden");
  const twoPanel = h("div", "cf-sv-panel cf-sv-twopanel cf-hidden");
  const [twoLabel, twoBox] = checkbox("cf-sv-2d", "show 2D", "show the 2D spectra");
  const stretch = select("cf-sv-stretch", "2D stretch", [["linear", "linear"], ["sqrt", "sqrt"], ["asinh", "asinh"]]);
  const cmap = select("cf-sv-cmap", "2D colour map", [["grey", "grey"], ["inverted", "grey inverted"], ["viridis", "viridis"]]);
  twoPanel.append(twoLabel, h("span", "cf-sv-plabel", "stretch"), stretch, h("span", "cf-sv-plabel", "colours"), cmap);
  const legend = h("div", "cf-sv-legend");
  const message = h("div", "cf-sv-message");
  const plot = h("div", "cf-sv-plot");
  const base = h("canvas", "cf-sv-base");
  const over = h("canvas", "cf-sv-over");
  plot.append(base, over);
  const twoD = h("canvas", "cf-sv-twod");
  const readout = h("div", "cf-sv-readout");
  root.append(bar, linePanel, twoPanel, legend, message, plot, twoD, readout);
  el.appendChild(root);
  return {
    root, title, zInput, zSlider, unit, xUnit, smoothSel, linesToggle, twoToggle, linePanel, twoPanel,
    twoBox, stretch, cmap, holdBox, yLo, yHi, boxZoom, reset, exportSel, legend, message, plot, base,
    over, twoD, readout,
  };
}

/**
 * The line-list panel's content: the list chooser, a show-lines box, one toggle per group and
 * per label among the lines offered, the custom lines with a remove button, and a box to add one.
 * `on` receives {kind: "list"|"show"|"toggle"|"add"|"remove", ...}.
 */
export function buildLinePanel(panel, { lines, priority, hidden, custom, show, error }, on) {
  const off = new Set(hidden);
  const listSel = select("cf-sv-linelist", "which line list", LINE_LISTS);
  listSel.value = String(LINE_LISTS.find(([v]) => Number(v) <= priority)?.[0] ?? "1");
  listSel.addEventListener("change", () => on({ kind: "list", priority: Number(listSel.value) }));
  const [showLabel, showBox] = checkbox("cf-sv-lines", "show lines", "show emission lines");
  showBox.checked = show;
  showBox.addEventListener("change", () => on({ kind: "show", value: showBox.checked }));
  const toggle = (key, text, cls) => {
    const [label, box] = checkbox(cls, text, key.startsWith("group:") ? `every ${text} line` : `${text}`);
    box.checked = !off.has(key);
    box.dataset.key = key;
    box.addEventListener("change", () => on({ kind: "toggle", key, on: box.checked }));
    return label;
  };
  const groups = h("div", "cf-sv-prow");
  groups.append(h("span", "cf-sv-plabel", "groups"));
  for (const [g, text] of [["H", "H"], ["He", "He"], ["forbidden", "forbidden"], ["other", "other"]]) groups.append(toggle(`group:${g}`, text, "cf-sv-group"));
  const labels = h("div", "cf-sv-prow cf-sv-labels");
  labels.append(h("span", "cf-sv-plabel", "lines"));
  const seen = new Set();
  for (const ln of lines) {
    if (ln.priority < priority || seen.has(ln.label)) continue;
    seen.add(ln.label);
    const item = toggle(ln.label, ln.label, "cf-sv-linecheck");
    item.style.color = ln.color;
    item.dataset.group = lineGroup(ln.label);
    labels.append(item);
  }
  const customRow = h("div", "cf-sv-prow");
  customRow.append(h("span", "cf-sv-plabel", "custom"));
  for (const c of custom) {
    const chip = button("cf-sv-custom", `${c.label} ${c.rest} Å ✕`, "remove this line");
    chip.addEventListener("click", () => on({ kind: "remove", label: c.label }));
    customRow.append(chip);
  }
  const add = h("input", "cf-sv-addline");
  Object.assign(add, { type: "text", placeholder: "name  rest Å, Enter", size: 16, title: 'add a line: a name and its rest wavelength in Å, e.g. "FeII* 2612.6"' });
  add.addEventListener("keydown", (ev) => { if (ev.key === "Enter") { ev.preventDefault(); on({ kind: "add", text: add.value }); } });
  customRow.append(add);
  const err = h("span", "cf-sv-lineerror", error || "");
  panel.replaceChildren(h("div", "cf-sv-prow"), groups, labels, customRow, err);
  panel.firstChild.append(listSel, showLabel);
}
