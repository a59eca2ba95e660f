// SpectrumViewer, its drawing: three canvases per view — the base (axes, masked pixels, error
// bands, spectra), the overlay (emission lines and labels, the rest-frame axis, the hover
// crosshair and the box being dragged; redrawn every frame of a redshift drag, so kept lean)
// and the 2D strips (stretch, colour map, spatial axis, trace and aperture, colour bars).
// Functions of the ViewerState (spectrum_viewer.js); the geometry comes from sv_view.js.

import { FONT, LABEL_ROWS, ROW_HEIGHT, NO_DATA, colormap, levelsToRGBAStretched, placeLabels, stretched } from "./sv_data.js";
import {
  axisTicks, columnSpan, fluxAxisTitle, fluxToPy, linesInWindow, labelRowTop, maskedBands,
  plotRect, restTicks, stripHeight, stripRowToPy, tickCount, viewWindow, visibleSpan, waveToPx,
  xAxis, xAxisTicks, yWindow, finiteRuns,
} from "./sv_view.js";
import { themeColors } from "./palette.js";

export const rectOf = (s) => plotRect(s.width, s.model.get("height"));
export const windowOf = (s) => viewWindow(s.view, s.traces);
export const hasZ = (s) => s.z !== null && s.z !== undefined;

export function sizeCanvas(canvas, w, hgt) {
  const dpr = window.devicePixelRatio || 1;
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(hgt * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(hgt * dpr);
    canvas.style.width = `${w}px`;
    canvas.style.height = `${hgt}px`;
  }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  return ctx;
}

function hatchPattern(s, ctx) {
  if (s.hatch && s.hatchTheme === s.theme.theme) return s.hatch;
  const tile = document.createElement("canvas");
  tile.width = tile.height = 8;
  const t = tile.getContext("2d");
  t.strokeStyle = s.theme.theme === "dark" ? "rgba(200,200,200,0.35)" : "rgba(110,110,110,0.4)";
  t.beginPath(); t.moveTo(0, 8); t.lineTo(8, 0); t.stroke();
  s.hatch = ctx.createPattern(tile, "repeat");
  s.hatchTheme = s.theme.theme;
  return s.hatch;
}

/** The base layer: axes, ticks, masked pixels, error bands and the spectra. */
export function drawBase(s) {
  s.theme = themeColors(s.dom.root);
  const { fg, grid } = s.theme;
  const height = s.model.get("height");
  const ctx = sizeCanvas(s.dom.base, s.width, height);
  const r = rectOf(s);
  const xr = windowOf(s);
  ctx.clearRect(0, 0, s.width, height);
  s.yRange = yWindow(s.yView, s.traces, xr);
  const yr = s.yRange;
  ctx.font = FONT;
  ctx.fillStyle = fg;
  ctx.strokeStyle = grid;
  ctx.lineWidth = 1;
  const axis = xAxis(s.model.get("x_unit"), s.z);
  ctx.textAlign = "center"; ctx.textBaseline = "top";
  for (const tick of xAxisTicks(xr, axis, tickCount(r.w, 80))) {
    const px = waveToPx(tick.wave, r, xr);
    ctx.beginPath(); ctx.moveTo(px, r.y); ctx.lineTo(px, r.y + r.h); ctx.stroke();
    ctx.fillText(tick.label, px, r.y + r.h + 4);
  }
  ctx.fillText(axis.title, r.x + r.w / 2, r.y + r.h + 18);
  const yt = axisTicks(yr[0], yr[1], tickCount(r.h, 40));
  ctx.textAlign = "right"; ctx.textBaseline = "middle";
  yt.values.forEach((v, i) => {
    const py = fluxToPy(v, r, yr);
    ctx.beginPath(); ctx.moveTo(r.x, py); ctx.lineTo(r.x + r.w, py); ctx.stroke();
    ctx.fillText(yt.labels[i], r.x - 4, py);
  });
  ctx.save();
  ctx.translate(12, r.y + r.h / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.textAlign = "center";
  ctx.fillText(fluxAxisTitle(s.model.get("flux_unit"), s.exponent), 0, 0);
  ctx.restore();
  ctx.strokeStyle = fg;
  ctx.strokeRect(r.x, r.y, r.w, r.h);
  ctx.save();
  ctx.beginPath(); ctx.rect(r.x, r.y, r.w, r.h); ctx.clip();
  if (yr[0] < 0 && yr[1] > 0) {
    ctx.strokeStyle = grid;
    ctx.beginPath(); ctx.moveTo(r.x, fluxToPy(0, r, yr)); ctx.lineTo(r.x + r.w, fluxToPy(0, r, yr)); ctx.stroke();
  }
  const bands = maskedBands(s.traces, r, xr);
  const hatch = hatchPattern(s, ctx);
  for (const b of bands) {
    ctx.fillStyle = b.color || hatch;
    ctx.globalAlpha = b.color ? 0.7 : 1;
    ctx.fillRect(b.x, b.y, b.w, b.h);
  }
  ctx.globalAlpha = 1;
  for (const t of s.traces) if (t.visible) drawTrace(ctx, t, r, xr, yr);
  ctx.restore();
  s.dom.root.dataset.yRange = yr.map((v) => v.toPrecision(4)).join(",");
  s.dom.root.dataset.fullHatches = String(bands.filter((b) => !b.color).length);
  s.dom.root.dataset.maskBands = String(bands.filter((b) => b.color).length);
  s.dom.root.dataset.theme = s.theme.theme;
}

/** One spectrum: its error band (translucent) and its flux, broken at masked pixels. */
function drawTrace(ctx, t, r, xr, yr) {
  const [a, b] = visibleSpan(t, xr);
  const runs = finiteRuns(t.flux, a, b);
  const px = (k) => waveToPx(t.wave[k], r, xr);
  ctx.fillStyle = t.color;
  ctx.globalAlpha = 0.18;
  for (const [start, end] of runs) {
    ctx.beginPath();
    for (let k = start; k < end; k++) ctx.lineTo(px(k), fluxToPy(t.flux[k] + t.ferr[k], r, yr));
    for (let k = end - 1; k >= start; k--) ctx.lineTo(px(k), fluxToPy(t.flux[k] - t.ferr[k], r, yr));
    ctx.closePath();
    ctx.fill();
  }
  ctx.globalAlpha = 1;
  ctx.strokeStyle = t.color;
  ctx.lineWidth = 1.2;
  ctx.setLineDash(t.dash || []);
  ctx.beginPath();
  for (const [start, end] of runs) {
    ctx.moveTo(px(start), fluxToPy(t.flux[start], r, yr));
    for (let k = start + 1; k < end; k++) ctx.lineTo(px(k), fluxToPy(t.flux[k], r, yr));
  }
  ctx.stroke();
  ctx.setLineDash([]);
}

function labelWidth(s, ctx, text) {
  if (!s.textWidths.has(text)) s.textWidths.set(text, ctx.measureText(text).width + 6);
  return s.textWidths.get(text);
}

/**
 * The overlay: emission lines at the current redshift, their labels, the rest-frame axis, the
 * hover crosshair and the zoom box being dragged.
 */
export function drawOverlay(s) {
  const t0 = performance.now();
  const { model, dom } = s;
  const height = model.get("height");
  const ctx = sizeCanvas(dom.over, s.width, height);
  ctx.clearRect(0, 0, s.width, height);
  const r = rectOf(s);
  const xr = windowOf(s);
  ctx.font = FONT;
  let shown = [];
  if (model.get("show_lines") && hasZ(s)) {
    shown = linesInWindow(s.lineList, s.z, model.get("line_priority"), xr, r);
    drawLines(ctx, shown, r);
    dom.root.dataset.labelsShown = String(drawLabels(s, ctx, shown, r));
    drawTopAxis(s, ctx, r, xr);
  }
  s.lineHits = shown;
  if (s.hover !== null && s.hover !== undefined) {
    const px = waveToPx(s.hover, r, xr);
    if (px >= r.x && px <= r.x + r.w) {
      ctx.strokeStyle = s.theme.fg2; ctx.globalAlpha = 0.6; ctx.lineWidth = 1;
      ctx.beginPath(); ctx.moveTo(px, r.y); ctx.lineTo(px, r.y + r.h); ctx.stroke();
      ctx.globalAlpha = 1;
    }
  }
  if (s.box) {
    ctx.strokeStyle = s.theme.fg; ctx.setLineDash([3, 3]);
    ctx.strokeRect(Math.min(s.box.x0, s.box.x1), Math.min(s.box.y0, s.box.y1), Math.abs(s.box.x1 - s.box.x0), Math.abs(s.box.y1 - s.box.y0));
    ctx.setLineDash([]);
  }
  dom.root.dataset.linesDrawn = String(shown.length);
  dom.root.dataset.lineXs = s.lineHits.map((hit) => hit.x.toFixed(1)).join(","); // for browser tests
  dom.root.dataset.redshift = hasZ(s) ? s.z.toFixed(5) : "";
  const ms = performance.now() - t0;
  s.stats.count++; s.stats.total += ms; s.stats.max = Math.max(s.stats.max, ms);
  dom.root.dataset.overlayMs = (s.stats.total / s.stats.count).toFixed(3);
  dom.root.dataset.overlayMaxMs = s.stats.max.toFixed(3);
}

function drawLines(ctx, shown, r) {
  ctx.setLineDash([4, 3]);
  ctx.lineWidth = 1;
  ctx.globalAlpha = 0.8;
  for (const ln of shown) {
    ctx.strokeStyle = ln.color;
    ctx.beginPath(); ctx.moveTo(ln.x, r.y); ctx.lineTo(ln.x, r.y + r.h); ctx.stroke();
  }
  ctx.setLineDash([]);
  ctx.globalAlpha = 1;
}

/** Line labels in rows above the plot, each tied to its line; returns how many are shown. */
function drawLabels(s, ctx, shown, r) {
  for (const ln of shown) ln.width = labelWidth(s, ctx, ln.label);
  const placed = placeLabels(shown, { maxRows: LABEL_ROWS, gap: 3 });
  ctx.textAlign = "center"; ctx.textBaseline = "top";
  let count = 0;
  for (const g of placed) {
    if (!g.visible) continue;
    count++;
    const y = labelRowTop(g.row);
    ctx.fillStyle = g.members[0].color;
    ctx.fillText(g.label, g.x, y);
    ctx.globalAlpha = 0.45;
    ctx.strokeStyle = g.members[0].color;
    ctx.beginPath(); ctx.moveTo(g.x, y + ROW_HEIGHT - 1); ctx.lineTo(g.x, r.y); ctx.stroke();
    ctx.globalAlpha = 1;
  }
  return count;
}

/** The top axis: rest-frame Å when the bottom shows observed wavelengths, observed µm otherwise. */
function drawTopAxis(s, ctx, r, xr) {
  const { fg } = s.theme;
  ctx.fillStyle = fg; ctx.strokeStyle = fg;
  ctx.textBaseline = "bottom"; ctx.textAlign = "center";
  const restBottom = xAxis(s.model.get("x_unit"), s.z).unit === "rest_A";
  const ticks = restBottom
    ? xAxisTicks(xr, xAxis("um", s.z), tickCount(r.w, 90))
    : restTicks(xr, s.z, tickCount(r.w, 90));
  for (const tick of ticks) {
    const px = waveToPx(tick.wave, r, xr);
    ctx.beginPath(); ctx.moveTo(px, r.y); ctx.lineTo(px, r.y + 4); ctx.stroke();
    ctx.fillText(tick.label, px, r.y - 1);
  }
  ctx.textAlign = "right";
  ctx.fillText(restBottom ? "obs [µm]" : "rest [Å]", r.x - 4, r.y - 1);
}

/** The traces with a 2D spectrum worth a strip (some pixel has data). */
export function stripsOf(s) {
  if (!s.model.get("show_2d")) return [];
  return s.traces.filter((t) => t.visible && t.sci && t.nx && t.ny && t.has2d);
}

/**
 * The 2D spectra, one strip each under the plot, columns aligned with the wavelength axis:
 * a spatial axis (rows, ticks every 5), the extraction trace and aperture in the spectrum's
 * colour, a colour bar in the right margin, and the hover crosshair shared with the 1D plot.
 */
export function draw2D(s) {
  const { twoD } = s.dom;
  const strips = stripsOf(s);
  s.dom.root.dataset.strips = String(strips.length);
  if (!strips.length) { twoD.style.display = "none"; return; }
  twoD.style.display = "block";
  const total = strips.reduce((sum, t) => sum + stripHeight(t.ny) + 4, 0);
  const ctx = sizeCanvas(twoD, s.width, total);
  ctx.clearRect(0, 0, s.width, total);
  ctx.imageSmoothingEnabled = false;
  const r = rectOf(s);
  const xr = windowOf(s);
  const stretch = s.model.get("stretch_2d"), cmap = s.model.get("cmap_2d");
  ctx.font = FONT;
  let y = 0;
  s.stripBoxes = [];
  for (const t of strips) {
    const hgt = stripHeight(t.ny);
    const key = `${stretch}:${cmap}`;
    if (!t.img || t.imgKey !== key) {
      t.img = document.createElement("canvas");
      t.img.width = t.nx; t.img.height = t.ny;
      t.img.getContext("2d").putImageData(new ImageData(levelsToRGBAStretched(t.sci, t.nx, t.ny, stretch, cmap), t.nx, t.ny), 0, 0);
      t.imgKey = key;
    }
    ctx.fillStyle = "rgba(128,128,128,0.15)";
    ctx.fillRect(r.x, y, r.w, hgt);
    ctx.save();
    ctx.beginPath(); ctx.rect(r.x, y, r.w, hgt); ctx.clip();
    const [first, last] = columnSpan(t.edges, t.nx, xr);
    for (let j = first; j < last; j++) {
      const x0 = waveToPx(t.edges[j], r, xr), x1 = waveToPx(t.edges[j + 1], r, xr);
      ctx.drawImage(t.img, j, 0, 1, t.ny, x0, y, Math.max(1, x1 - x0 + 0.5), hgt);
    }
    drawTraceAperture(ctx, t, r, y, hgt);
    if (s.hover !== null && s.hover !== undefined) {
      const px = waveToPx(s.hover, r, xr);
      ctx.strokeStyle = s.theme.fg; ctx.globalAlpha = 0.7;
      ctx.beginPath(); ctx.moveTo(px, y); ctx.lineTo(px, y + hgt); ctx.stroke();
      ctx.globalAlpha = 1;
    }
    ctx.restore();
    drawSpatialAxis(s, ctx, t, r, y, hgt);
    drawColorBar(ctx, cmap, stretch, r.x + r.w + 3, y, 7, hgt);
    s.stripBoxes.push({ id: t.id, y, h: hgt, ny: t.ny });
    y += hgt + 4;
  }
}

function drawTraceAperture(ctx, t, r, y, hgt) {
  if (t.trace2d === null || t.trace2d === undefined) return;
  ctx.strokeStyle = t.color;
  ctx.lineWidth = 1;
  const row = (v) => y + stripRowToPy(v, t.ny, hgt);
  ctx.setLineDash([2, 3]);
  ctx.beginPath(); ctx.moveTo(r.x, row(t.trace2d)); ctx.lineTo(r.x + r.w, row(t.trace2d)); ctx.stroke();
  if (t.aperture) {
    ctx.setLineDash([6, 3]);
    for (const edge of t.aperture) {
      ctx.beginPath(); ctx.moveTo(r.x, row(edge)); ctx.lineTo(r.x + r.w, row(edge)); ctx.stroke();
    }
  }
  ctx.setLineDash([]);
}

function drawSpatialAxis(s, ctx, t, r, y, hgt) {
  ctx.strokeStyle = s.theme.fg; ctx.fillStyle = s.theme.fg2;
  ctx.lineWidth = 1;
  for (let row = 0; row < t.ny; row += 5) {
    const py = y + stripRowToPy(row, t.ny, hgt);
    ctx.beginPath(); ctx.moveTo(r.x - 3, py); ctx.lineTo(r.x, py); ctx.stroke();
  }
  ctx.fillStyle = t.color;
  ctx.textAlign = "right"; ctx.textBaseline = "middle";
  ctx.fillText(t.grating, r.x - 5, y + hgt / 2 - 5);
  ctx.fillStyle = s.theme.fg2;
  ctx.fillText(`${t.ny} px`, r.x - 5, y + hgt / 2 + 7);
}

function drawColorBar(ctx, cmap, stretch, x, y, w, hgt) {
  for (let k = 0; k < hgt; k++) {
    const [cr, cg, cb] = colormap(cmap, stretched(1 - k / Math.max(1, hgt - 1), stretch));
    ctx.fillStyle = `rgb(${cr},${cg},${cb})`;
    ctx.fillRect(x, y + k, w, 1);
  }
}

/** Whether a 2D spectrum has any pixel with data (an all-empty one gets no strip). */
export function hasData(levels) {
  if (!levels) return false;
  for (let i = 0; i < levels.length; i++) if (levels[i] !== NO_DATA) return true;
  return false;
}

/** Draw the layers asked for (base, overlay, 2D) in the next animation frame, once. */
export function schedule(s, layers) {
  const { dirty } = s;
  dirty.base ||= layers.base; dirty.over ||= layers.over; dirty.two ||= layers.two;
  if (s.frame) return;
  s.frame = requestAnimationFrame(() => {
    s.frame = 0;
    if (dirty.base) drawBase(s);
    if (dirty.over) drawOverlay(s);
    if (dirty.two) draw2D(s);
    dirty.base = dirty.over = dirty.two = false;
    if (s.afterDraw) s.afterDraw();
  });
}
export const ALL = Object.freeze({ base: true, over: true, two: true });
export const OVERLAY = Object.freeze({ base: false, over: true, two: false });
export const TWO_D = Object.freeze({ base: false, over: false, two: true });
export const HOVER = Object.freeze({ base: false, over: true, two: true });
export const redraw = (s) => schedule(s, ALL);
