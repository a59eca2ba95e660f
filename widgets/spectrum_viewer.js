// SpectrumViewer: spectra overlaid by grating, error bands, masked pixels, emission lines at a
// redshift that follows the mouse, f_nu/f_lambda, µm/Å/rest-frame Å, boxcar and Gaussian
// smoothing, wheel/box/y zoom and pan, a line-list control, export, and the 2D spectra.
// Python side: campfire/views/widgets/spectrum_viewer.py. Written as modules — palette.js,
// sv_data.js (data), sv_view.js (geometry and interaction), sv_draw.js (canvases),
// sv_controls.js (DOM) and this file (the widget: one state object, wired by render()) — that
// campfire/views/widgets/_assets.py joins into the one ES module anywidget loads.

import { activeLines, chipLabels, parseCustomLine, redshiftForLine } from "./sv_data.js";
import {
  boxZoom, csvText, decodeTraces, displayFlux, fluxAxisTitle, nearestLine, panWindow, parseYLimits,
  pixelAt, pxToWave, pyToFlux, readoutText, sameWindow, sliderMax, windowFromRange,
  zBoxAction, zText, zoomWindow, zoomY,
} from "./sv_view.js";
import { ALL, HOVER, OVERLAY, TWO_D, hasData, hasZ, rectOf, redraw, schedule, stripsOf, windowOf } from "./sv_draw.js";
import { buildDom, buildLinePanel, h } from "./sv_controls.js";
import { onThemeChange, themeColors } from "./palette.js";
import { saveFile } from "./files.js";

export * from "./palette.js";
export * from "./sv_data.js";
export * from "./sv_view.js";

/**
 * Everything one view of the widget holds.
 * @typedef {object} ViewerState
 * @property {object} model  the anywidget model
 * @property {ReturnType<typeof buildDom>} dom  the view's DOM nodes
 * @property {object[]} traces  decodeTraces() output, with `flux`/`ferr` as drawn (compute)
 * @property {number[]|null} view  the zoom window [x0, x1] um; null shows everything
 * @property {number[]|null} yView  the y window set by y zoom, a box or typed limits; null: automatic
 * @property {number|null} z  the redshift drawn (ahead of the model while the slider or a line moves)
 * @property {string} zShown  the text last put in the redshift box (its text is the z drawn)
 * @property {string} zError  why a typed redshift was refused ("" when it was not)
 * @property {number[]} yRange  the y range of the last base drawing
 * @property {number} exponent  the f_lambda axis' power of ten
 * @property {object[]} lineList  the lines offered (list minus hidden, plus custom: activeLines)
 * @property {{x: number, rest: number, name: string}[]} lineHits  the lines drawn, for grabbing
 * @property {null|object} drag  what the mouse drags: a line, the plot (pan) or a zoom box
 * @property {null|object} box  the zoom box on screen {x0, y0, x1, y1}
 * @property {boolean} boxMode  the box-zoom button is on (a drag draws a box, not a pan)
 * @property {number|null} hover  the wavelength [um] under the mouse (1D or 2D), for the crosshair
 * @property {number} width  the canvases' width in CSS pixels
 * @property {object} theme  the --jp-* colours the canvases use (themeColors)
 * @property {Map<string, number>} textWidths  line label widths measured so far
 * @property {{count: number, total: number, max: number}} stats  overlay drawing times (ms)
 * @property {number} frame  the pending animation frame (0: none)
 * @property {{base: boolean, over: boolean, two: boolean}} dirty  layers to draw in that frame
 * @property {number} saveTimer  the pending x_range save
 */

/** @returns {ViewerState} */
function createState(model, el) {
  const dom = buildDom(el);
  return {
    model, dom, traces: [], view: windowFromRange(model.get("x_range")), yView: windowFromRange(model.get("y_range")),
    z: model.get("redshift"), zShown: "", zError: "", lineError: "", yRange: [0, 1], exponent: 0, lineList: [],
    lineHits: [], drag: null, box: null, boxMode: false, hover: null,
    width: Math.floor(dom.plot.clientWidth || 600) || 600, theme: themeColors(dom.root), textWidths: new Map(),
    stats: { count: 0, total: 0, max: 0 }, frame: 0, dirty: { base: false, over: false, two: false },
    saveTimer: 0, hatch: null, stripBoxes: [], afterDraw: null,
  };
}

// -- data

function decode(s) {
  const hidden = new Set(s.traces.filter((t) => !t.visible).map((t) => t.id));
  s.traces = decodeTraces(s.model.get("traces") || [], hidden);
  for (const t of s.traces) t.has2d = hasData(t.sci);
  const labels = chipLabels(s.traces);
  s.dom.legend.replaceChildren(...s.traces.map((t, i) => legendChip(s, t, labels[i])));
  compute(s);
}

function legendChip(s, t, text) {
  const chip = h("span", "cf-sv-chip" + (t.visible ? "" : " cf-off"), text);
  chip.style.setProperty("--chip", t.color);
  if (t.dash && t.dash.length) chip.classList.add("cf-dashed");
  chip.title = `${t.id}: click to show or hide`;
  chip.dataset.spectrumId = t.id;
  chip.addEventListener("click", () => { t.visible = !t.visible; chip.classList.toggle("cf-off", !t.visible); redraw(s); });
  return chip;
}

function smoothingSpec(model) {
  const kind = model.get("smoothing_kind");
  return kind === "boxcar" ? { kind, value: model.get("smoothing") } : { kind, value: model.get("smoothing_sigma") };
}

function compute(s) {
  const { series, exponent } = displayFlux(s.traces, s.model.get("flux_unit"), smoothingSpec(s.model));
  s.traces.forEach((t, i) => { t.flux = series[i].flux; t.ferr = series[i].err; });
  s.exponent = exponent;
}

function computeLines(s) {
  const m = s.model;
  s.lineList = activeLines(m.get("lines") || [], m.get("hidden_lines"), m.get("custom_lines"));
}

// -- controls and the model

/** The redshift box and slider show s.z — always, focused or not (a stale box undoes drags). */
function showZ(s) {
  const { zInput, zSlider } = s.dom;
  s.zShown = zText(s.z);
  zInput.value = s.zShown;
  zSlider.max = String(sliderMax(s.z));
  zSlider.value = hasZ(s) ? String(s.z) : "0";
  showMessage(s);
}

function showMessage(s) {
  s.dom.message.textContent = s.zError || s.model.get("message") || "";
  s.dom.message.classList.toggle("cf-error", Boolean(s.zError));
}

/** Tell linked widgets (the SciencePanel on the same channel) the redshift drawn, every frame. */
function announceZ(s) {
  const channel = s.model.get("channel");
  if (channel) document.dispatchEvent(new CustomEvent("campfire:redshift", { detail: { channel, z: s.z } }));
}

function commitZ(s) {
  s.model.set("redshift", s.z);
  s.model.save_changes();
}

function syncControls(s) {
  const { model, dom } = s;
  dom.title.textContent = model.get("title") || "";
  dom.unit.value = model.get("flux_unit");
  dom.xUnit.value = model.get("x_unit");
  const kind = model.get("smoothing_kind");
  const amount = kind === "boxcar" ? model.get("smoothing") : model.get("smoothing_sigma");
  const key = kind === "none" || !(amount > 0) ? "none:0" : `${kind}:${amount}`;
  if (![...dom.smoothSel.options].some((o) => o.value === key)) {
    const o = h("option", null, key.replace(":", " ").replace("gauss_kms", "Gauss σ").replace("gauss_px", "Gauss σ px"));
    o.value = key;
    dom.smoothSel.append(o);
  }
  dom.smoothSel.value = key;
  dom.twoBox.checked = model.get("show_2d");
  dom.stretch.value = model.get("stretch_2d");
  dom.cmap.value = model.get("cmap_2d");
  dom.holdBox.checked = model.get("hold_rest_zoom");
  const yr = model.get("y_range");
  dom.yLo.value = yr && yr.length === 2 ? String(Number(yr[0].toPrecision(4))) : "";
  dom.yHi.value = yr && yr.length === 2 ? String(Number(yr[1].toPrecision(4))) : "";
  showZ(s);
  drawLinePanel(s);
}

function drawLinePanel(s) {
  const m = s.model;
  buildLinePanel(s.dom.linePanel, {
    lines: m.get("lines") || [], priority: m.get("line_priority"), hidden: m.get("hidden_lines"),
    custom: m.get("custom_lines"), show: m.get("show_lines"), error: s.lineError,
  }, (ev) => lineEvent(s, ev));
}

function lineEvent(s, ev) {
  const m = s.model;
  s.lineError = "";
  if (ev.kind === "list") saveTrait(s, "line_priority", ev.priority);
  else if (ev.kind === "show") saveTrait(s, "show_lines", ev.value);
  else if (ev.kind === "toggle") {
    const hidden = new Set(m.get("hidden_lines"));
    if (ev.on) hidden.delete(ev.key); else hidden.add(ev.key);
    saveTrait(s, "hidden_lines", [...hidden]);
  } else if (ev.kind === "add") {
    const parsed = parseCustomLine(ev.text);
    if (parsed.error) { s.lineError = parsed.error; drawLinePanel(s); return; }
    const custom = m.get("custom_lines").filter((c) => c.label !== parsed.label);
    saveTrait(s, "custom_lines", [...custom, { label: parsed.label, rest: parsed.rest }]);
  } else if (ev.kind === "remove") {
    saveTrait(s, "custom_lines", m.get("custom_lines").filter((c) => c.label !== ev.label));
  }
}

function saveView(s) {
  clearTimeout(s.saveTimer);
  s.saveTimer = setTimeout(() => {
    s.model.set("x_range", s.view ? [s.view[0], s.view[1]] : []);
    s.model.set("y_range", s.yView ? [s.yView[0], s.yView[1]] : []);
    s.model.save_changes();
  }, 250);
}

function setView(s, next, nextY = s.yView) {
  s.view = next;
  s.yView = nextY;
  redraw(s);
  saveView(s);
}

/** A redshift typed in the box (Enter or change): drawn and told to the kernel, or refused. */
function typedZ(s) {
  const act = zBoxAction(s.dom.zInput.value, s.zShown, s.z);
  if (act.action === "keep") { s.zError = ""; showMessage(s); return; }
  if (act.action === "error") { s.zError = act.error; showMessage(s); return; }
  s.zError = "";
  s.z = act.z;
  showZ(s);
  schedule(s, OVERLAY);
  announceZ(s);
  commitZ(s);
}

/** The slider moves the lines at once; the kernel hears of it when the slider is let go. */
function slideZ(s) {
  s.z = Number(s.dom.zSlider.value);
  s.zError = "";
  s.zShown = zText(s.z);
  s.dom.zInput.value = s.zShown;
  schedule(s, OVERLAY);
  announceZ(s);
}

/** Set a model trait from a control and send it. */
function saveTrait(s, name, value) {
  s.model.set(name, value);
  s.model.save_changes();
}

function typedY(s) {
  const parsed = parseYLimits(s.dom.yLo.value, s.dom.yHi.value);
  if (parsed.error) { s.zError = parsed.error; showMessage(s); return; }
  s.zError = "";
  showMessage(s);
  setView(s, s.view, parsed.y);
}

// -- export: PNG and CSV in the browser (what is on screen), SVG and FITS from the kernel

function fileStem(s) {
  return (s.model.get("title") || "spectra").replace(/[^A-Za-z0-9_.+-]+/g, "_");
}

function exportView(s, format) {
  const stem = fileStem(s);
  if (format === "png") {
    const { base, over, twoD } = s.dom;
    const extra = twoD.style.display === "none" ? 0 : twoD.height;
    const out = document.createElement("canvas");
    out.width = base.width; out.height = base.height + extra;
    const ctx = out.getContext("2d");
    ctx.fillStyle = s.theme.bg; ctx.fillRect(0, 0, out.width, out.height);
    ctx.drawImage(base, 0, 0); ctx.drawImage(over, 0, 0);
    if (extra) ctx.drawImage(twoD, 0, base.height);
    s.dom.root.dataset.exported = `png:${out.width}x${out.height}`;
    out.toBlob((blob) => saveFile(blob, `${stem}.png`), "image/png");
  } else if (format === "csv") {
    const text = csvText(s.traces, windowOf(s), s.model.get("flux_unit"), s.exponent, fluxAxisTitle(s.model.get("flux_unit"), s.exponent));
    s.dom.root.dataset.exported = `csv:${text.split("\n").length - 2}`;
    saveFile(new Blob([text], { type: "text/csv" }), `${stem}.csv`);
  } else if (format) {
    s.model.send({ type: "export", format });
  }
}

function onCustomMessage(s, msg, buffers) {
  if (!msg || msg.type !== "export") return;
  if (msg.error) { s.zError = msg.error; showMessage(s); return; }
  const view = buffers && buffers[0];
  const bytes = view ? new Uint8Array(view.buffer, view.byteOffset, view.byteLength) : new Uint8Array(0);
  s.dom.root.dataset.exported = `${msg.format}:${bytes.length}`;
  saveFile(new Blob([bytes], { type: msg.mime || "application/octet-stream" }), msg.filename);
}

function wireControls(s) {
  const { dom } = s;
  // keys typed in our inputs are ours, not JupyterLab's notebook shortcuts
  dom.root.addEventListener("keydown", (ev) => { if (ev.target.matches("input, select, textarea")) ev.stopPropagation(); });
  dom.zInput.addEventListener("keydown", (ev) => { if (ev.key === "Enter") { ev.preventDefault(); typedZ(s); } });
  dom.zInput.addEventListener("change", () => typedZ(s));
  dom.zSlider.addEventListener("input", () => slideZ(s));
  dom.zSlider.addEventListener("change", () => { showZ(s); commitZ(s); });
  dom.unit.addEventListener("change", () => saveTrait(s, "flux_unit", dom.unit.value));
  dom.xUnit.addEventListener("change", () => saveTrait(s, "x_unit", dom.xUnit.value));
  dom.smoothSel.addEventListener("change", () => {
    const [kind, amount] = dom.smoothSel.value.split(":");
    s.model.set("smoothing_kind", kind === "none" ? "boxcar" : kind);
    if (kind === "boxcar" || kind === "none") s.model.set("smoothing", Number(amount));
    else s.model.set("smoothing_sigma", Number(amount));
    s.model.save_changes();
  });
  dom.linesToggle.addEventListener("click", () => dom.linePanel.classList.toggle("cf-hidden"));
  dom.twoToggle.addEventListener("click", () => dom.twoPanel.classList.toggle("cf-hidden"));
  dom.twoBox.addEventListener("change", () => saveTrait(s, "show_2d", dom.twoBox.checked));
  dom.stretch.addEventListener("change", () => saveTrait(s, "stretch_2d", dom.stretch.value));
  dom.cmap.addEventListener("change", () => saveTrait(s, "cmap_2d", dom.cmap.value));
  dom.holdBox.addEventListener("change", () => saveTrait(s, "hold_rest_zoom", dom.holdBox.checked));
  for (const box of [dom.yLo, dom.yHi]) {
    box.addEventListener("keydown", (ev) => { if (ev.key === "Enter") { ev.preventDefault(); typedY(s); } });
    box.addEventListener("change", () => typedY(s));
  }
  dom.boxZoom.addEventListener("click", () => { s.boxMode = !s.boxMode; dom.boxZoom.classList.toggle("cf-on", s.boxMode); });
  dom.reset.addEventListener("click", () => setView(s, null, null));
  dom.exportSel.addEventListener("change", () => { exportView(s, dom.exportSel.value); dom.exportSel.value = ""; });
}

// -- mouse: the wheel zooms x about the cursor (over the y axis, or with Shift: y), a drag pans
//    (with Shift or the box button: draws a zoom box), dragging a line changes z, a double-click
//    resets; hovering the 1D or the 2D draws a crosshair on both

function local(s, ev) {
  const b = s.dom.over.getBoundingClientRect();
  return [ev.clientX - b.left, ev.clientY - b.top];
}

function onWheel(s, ev) {
  ev.preventDefault();
  const [px, py] = local(s, ev);
  const r = rectOf(s);
  if (ev.shiftKey || px < r.x) {
    const yr = s.yRange;
    setView(s, s.view, zoomY(yr, pyToFlux(py, r, yr), ev.deltaY || ev.deltaX));
    return;
  }
  const xr = windowOf(s);
  setView(s, zoomWindow(xr, pxToWave(px, r, xr), ev.deltaY));
}

function onMouseDown(s, ev) {
  const [px, py] = local(s, ev);
  const hit = nearestLine(s.lineHits, px);
  if (s.boxMode || ev.shiftKey) s.drag = { kind: "box", x0: px, y0: py };
  else if (hit) s.drag = { kind: "line", rest: hit.rest };
  else s.drag = { kind: "pan", px, start: windowOf(s) };
  if (document.activeElement === s.dom.zInput) s.dom.zInput.blur(); // nothing stale stays focused
  ev.preventDefault();
}

function hoverReadout(s, wave) {
  let flux = null;
  const t = s.traces.find((tr) => tr.visible && pixelAt(tr, wave) >= 0);
  if (t) flux = t.flux[pixelAt(t, wave)];
  const unitText = s.model.get("flux_unit") === "flambda" ? (s.exponent ? `×10^${s.exponent} erg/s/cm²/Å` : "erg/s/cm²/Å") : "µJy";
  return readoutText(wave, s.z, flux, unitText, null);
}

function onMouseMove(s, ev) {
  const [px, py] = local(s, ev);
  const r = rectOf(s);
  const { drag, dom } = s;
  if (!drag) {
    const inside = px >= r.x && px <= r.x + r.w && py >= 0 && py <= r.y + r.h + 30;
    if (inside) {
      const wave = pxToWave(px, r, windowOf(s));
      const line = nearestLine(s.lineHits, px);
      dom.readout.textContent = hoverReadout(s, wave) + (line ? ` · ${line.label} (drag to move z)` : "");
      dom.over.style.cursor = line ? "ew-resize" : s.boxMode ? "crosshair" : "grab";
      s.hover = wave;
      schedule(s, HOVER);
    }
    return;
  }
  if (drag.kind === "line") {
    s.z = redshiftForLine(pxToWave(px, r, windowOf(s)), drag.rest);
    s.zShown = zText(s.z);
    dom.zInput.value = s.zShown;
    dom.zSlider.value = String(s.z);
    schedule(s, OVERLAY);
    announceZ(s);
  } else if (drag.kind === "box") {
    s.box = { x0: drag.x0, y0: drag.y0, x1: px, y1: py };
    schedule(s, OVERLAY);
  } else {
    s.view = panWindow(drag.start, px - drag.px, r.w);
    schedule(s, ALL);
  }
}

function onMouseUp(s) {
  const { drag } = s;
  if (!drag) return;
  s.drag = null;
  if (drag.kind === "line") { showZ(s); commitZ(s); return; }
  if (drag.kind === "box") {
    const b = s.box;
    s.box = null;
    const zoom = b ? boxZoom(b.x0, b.y0, b.x1, b.y1, rectOf(s), windowOf(s), s.yRange) : null;
    if (zoom) setView(s, zoom.x, zoom.y); else schedule(s, OVERLAY);
    return;
  }
  saveView(s);
}

function onLeave(s) {
  if (s.hover === null) return;
  s.hover = null;
  schedule(s, HOVER);
}

function on2DMove(s, ev) {
  const b = s.dom.twoD.getBoundingClientRect();
  const px = ev.clientX - b.left, py = ev.clientY - b.top;
  const r = rectOf(s);
  if (px < r.x || px > r.x + r.w) return onLeave(s);
  const wave = pxToWave(px, r, windowOf(s));
  s.hover = wave;
  const strip = s.stripBoxes.find((sb) => py >= sb.y && py < sb.y + sb.h);
  const row = strip ? Math.floor(((strip.y + strip.h - py) / strip.h) * strip.ny) : null;
  s.dom.readout.textContent = hoverReadout(s, wave) + (strip ? ` · 2D ${strip.id} row ${row}` : "");
  schedule(s, HOVER);
}

/** What each model change does to the view. */
function modelHandlers(s) {
  const { model } = s;
  const overlay = () => schedule(s, OVERLAY);
  const recompute = () => { syncControls(s); compute(s); redraw(s); };
  const relines = () => { computeLines(s); drawLinePanel(s); overlay(); };
  return {
    "msg:custom": (msg, buffers) => onCustomMessage(s, msg, buffers),
    "change:traces": () => { decode(s); redraw(s); },
    "change:redshift": () => {
      if (s.drag && s.drag.kind === "line") return;
      s.z = model.get("redshift");
      s.zError = "";
      showZ(s);
      if (model.get("x_unit") === "rest_A") redraw(s); else overlay();
    },
    "change:flux_unit": recompute,
    "change:smoothing": recompute,
    "change:smoothing_kind": recompute,
    "change:smoothing_sigma": recompute,
    "change:x_unit": () => { syncControls(s); redraw(s); },
    "change:x_range": () => {
      const next = windowFromRange(model.get("x_range"));
      if (!sameWindow(next, s.view)) { s.view = next; redraw(s); }
    },
    "change:y_range": () => {
      const next = windowFromRange(model.get("y_range"));
      if (!sameWindow(next, s.yView)) { s.yView = next; syncControls(s); redraw(s); }
    },
    "change:show_lines": () => { drawLinePanel(s); overlay(); },
    "change:lines": relines,
    "change:hidden_lines": relines,
    "change:custom_lines": relines,
    "change:line_priority": relines,
    "change:show_2d": () => { syncControls(s); schedule(s, TWO_D); },
    "change:stretch_2d": () => { syncControls(s); schedule(s, TWO_D); },
    "change:cmap_2d": () => { syncControls(s); schedule(s, TWO_D); },
    "change:hold_rest_zoom": () => syncControls(s),
    "change:title": () => syncControls(s),
    "change:message": () => showMessage(s),
    "change:height": () => redraw(s),
  };
}

function render({ model, el }) {
  const s = createState(model, el);
  const { dom } = s;
  wireControls(s);
  const onMove = (ev) => onMouseMove(s, ev);
  const onUp = () => onMouseUp(s);
  dom.over.addEventListener("wheel", (ev) => onWheel(s, ev), { passive: false });
  dom.over.addEventListener("mousedown", (ev) => onMouseDown(s, ev));
  dom.over.addEventListener("mouseleave", () => onLeave(s));
  dom.over.addEventListener("dblclick", () => setView(s, null, null));
  dom.twoD.addEventListener("mousemove", (ev) => on2DMove(s, ev));
  dom.twoD.addEventListener("mouseleave", () => onLeave(s));
  window.addEventListener("mousemove", onMove);
  window.addEventListener("mouseup", onUp);
  const handlers = modelHandlers(s);
  for (const [ev, fn] of Object.entries(handlers)) model.on(ev, fn);
  const resize = new ResizeObserver(() => {
    const w = Math.floor(dom.plot.clientWidth || el.clientWidth || 600);
    if (w !== s.width && w > 50) { s.width = w; redraw(s); }
  });
  resize.observe(dom.plot);
  // a theme switch changes the --jp-* variables on <body>: redraw the canvases in the new colours
  const stopThemeWatch = onThemeChange(() => { s.hatch = null; redraw(s); });
  computeLines(s);
  syncControls(s);
  decode(s);
  redraw(s);
  dom.root.dataset.strips = String(stripsOf(s).length);

  return () => {
    for (const [ev, fn] of Object.entries(handlers)) model.off(ev, fn);
    window.removeEventListener("mousemove", onMove);
    window.removeEventListener("mouseup", onUp);
    resize.disconnect();
    stopThemeWatch();
    cancelAnimationFrame(s.frame);
    clearTimeout(s.saveTimer);
  };
}

export default { render };
