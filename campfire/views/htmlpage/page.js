// The browser side of a campfire standalone page (campfire export-html).
//
// Bokeh runs each CustomJS callback as a function body whose arguments are the models named
// in its `args`; the page builder puts this file before a one-line call (`cfSelect(a)`), so
// the functions below are local to every callback and the page defines no globals.
// `a` holds the page's models: objects (one row per object, the shared source of the sky
// plot, the redshift-S/N plot and the table), store (one row per binned spectrum: its bins
// are one base64 string of float32, wavelengths then fluxes then errors, decoded only when
// its object is shown), spec and band (the spectrum pane's lines and error bands), lines
// (line markers), the controls, imaging and shutter_store (cutouts as data: URLs, shutter
// outlines as SVG points) and cutout (the Div that shows them). The current object's row is
// spec.tags[0]. The builder draws the first object itself (initial.py, which mirrors
// cfDraw, cfLines, cfTitle and cfCutoutHtml: change them together).

/* exported cfInit, cfSelect, cfDraw, cfRedshift, cfSave, cfExport */

const COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"];
const FAMILY = { PRIS: "#1f77b4", G140: "#2ca02c", G235: "#ff7f0e", G395: "#d62728" };
const SHUTTER_COLOURS = { target: "#ffd700", other: "#00e5ff" };
const CUTOUT_PX = 280;

// a spectrum's bins: [wave, fnu, err], each an Array of `n` numbers (little-endian float32)
function cfBins(blob, n) {
  const raw = atob(blob);
  const view = new DataView(new ArrayBuffer(raw.length));
  for (let j = 0; j < raw.length; j++) view.setUint8(j, raw.charCodeAt(j));
  const out = [new Array(n), new Array(n), new Array(n)];
  for (let p = 0; p < 3; p++) {
    for (let j = 0; j < n; j++) out[p][j] = view.getFloat32(4 * (p * n + j), true);
  }
  return out;
}

function cfCurrent(a) {
  const t = a.spec.tags;
  return t && t.length ? t[0] : -1;
}

function cfStorageKey(a) {
  return "campfire-inspections:" + a.page_key;
}

function cfLoad(a) {
  try {
    return JSON.parse(window.localStorage.getItem(cfStorageKey(a)) || "{}");
  } catch {
    return {};
  }
}

function cfStore(a, records) {
  try {
    window.localStorage.setItem(cfStorageKey(a), JSON.stringify(records));
    return true;
  } catch (e) {
    a.status.text = "Could not keep inspections in this browser: " + e;
    return false;
  }
}

// boxcar smoothing over `k` bins; errors of the mean propagated (sqrt(sum σ²) / n)
function cfSmooth(f, e, k) {
  if (k <= 1) return [Array.from(f), Array.from(e)];
  const n = f.length;
  const h = Math.floor(k / 2);
  const fs = new Array(n);
  const es = new Array(n);
  for (let i = 0; i < n; i++) {
    let sf = 0;
    let se = 0;
    let m = 0;
    for (let j = Math.max(0, i - h); j <= Math.min(n - 1, i + h); j++) {
      sf += f[j];
      se += e[j] * e[j];
      m++;
    }
    fs[i] = sf / m;
    es[i] = Math.sqrt(se) / m;
  }
  return [fs, es];
}

function cfDraw(a) {
  const i = cfCurrent(a);
  const st = a.store.data;
  const flam = a.unit.active === 1;
  const k = Math.round(a.smooth.value);
  const xs = [];
  const ys = [];
  const colours = [];
  const names = [];
  const bx = [];
  const by = [];
  const seen = {};
  let lo = Infinity;
  let hi = -Infinity;
  for (let r = 0; r < st.obj.length; r++) {
    if (st.obj[r] !== i) continue;
    const b = cfBins(st.blob[r], st.bins[r]);
    const w = b[0];
    let f = b[1];
    let e = b[2];
    if (flam) {
      f = f.map((v, j) => (v * a.flam_factor) / (w[j] * w[j]));
      e = e.map((v, j) => (v * a.flam_factor) / (w[j] * w[j]));
    }
    [f, e] = cfSmooth(f, e, k);
    const g = st.grating[r];
    const c = seen[g] === undefined && FAMILY[g.slice(0, 4)] ? FAMILY[g.slice(0, 4)]
      : COLOURS[xs.length % COLOURS.length];
    seen[g] = true;
    xs.push(w);
    ys.push(f);
    colours.push(c);
    names.push(g + " (" + st.factor[r] + " px/bin)");
    bx.push(w.concat(w.slice().reverse()));
    by.push(f.map((v, j) => v + e[j]).concat(f.map((v, j) => v - e[j]).reverse()));
    if (w.length) {
      lo = Math.min(lo, w[0]);
      hi = Math.max(hi, w[w.length - 1]);
    }
  }
  a.spec.data = { xs: xs, ys: ys, color: colours, name: names };
  a.band.data = { xs: bx, ys: by, color: colours };
  a.yaxis.axis_label = flam ? "fλ [10⁻²⁰ erg/s/cm²/Å]" : "fν [µJy]";
  a.lines.tags = isFinite(lo) ? [lo, hi] : [];
  cfLines(a);
}

function cfLines(a) {
  const z = Number(a.zbox.value);
  const rest = a.rest.data;
  const range = a.lines.tags;
  const out = { x: [], label: [], color: [], y: [], name: [] };
  if (isFinite(z) && z >= 0 && range.length === 2) {
    let n = 0;
    for (let j = 0; j < rest.rest.length; j++) {
      const x = rest.rest[j] * (1 + z);
      if (x < range[0] || x > range[1]) continue;
      out.x.push(x);
      out.name.push(rest.name[j]);
      out.color.push(rest.color[j]);
      out.label.push(rest.show_label[j] ? rest.label[j] : "");
      out.y.push(8 + 16 * (n % 3)); // staggered rows of labels, in screen pixels
      if (rest.show_label[j]) n++;
    }
  }
  a.lines.data = out;
}

function cfRedshift(a, from) {
  if (from === "slider") {
    if (Number(a.zbox.value) !== a.zslider.value) a.zbox.value = a.zslider.value;
  } else {
    const z = Number(a.zbox.value);
    if (isFinite(z)) {
      const c = Math.min(a.zslider.end, Math.max(a.zslider.start, z));
      if (a.zslider.value !== c) a.zslider.value = c;
    }
  }
  cfLines(a);
}

// the cutout of object row i with its shutters drawn over (north up, east left)
function cfCutoutHtml(a, i) {
  const im = a.imaging.data;
  const k = im.obj.indexOf(i);
  const url = k >= 0 ? im.url[k] : "";
  const s = a.shutter_store.data;
  let polygons = "";
  for (let r = 0; r < s.obj.length; r++) {
    if (s.obj[r] !== i) continue;
    const c = SHUTTER_COLOURS[s.category[r]] || "#ff4040";
    polygons += '<polygon points="' + s.points[r] + '" stroke="' + c +
      '" stroke-width="1.5" vector-effect="non-scaling-stroke"/>';
  }
  const none = "<i>no cutout cached for this object</i>";
  if (!url && !polygons) return none;
  const img = url ? '<img src="' + url + '" width="' + CUTOUT_PX + '" height="' + CUTOUT_PX +
    '" alt="cutout" style="position:absolute;left:0;top:0">' : "";
  return '<div style="position:relative;width:' + CUTOUT_PX + "px;height:" + CUTOUT_PX +
    'px;background:#f4f4f4">' + img + a.frame + polygons + "</svg></div>" + (url ? "" : none);
}

function cfTitle(a, i) {
  const o = a.objects.data;
  const zt = isFinite(o.redshift[i]) ? "z = " + o.redshift[i].toFixed(4) : "no redshift";
  return "<b>" + o.object_id[i] + "</b> · " + o.field[i] + " · " + zt + " (quality " +
    o.quality[i] + ") · " + o.n_spectra[i] + " spectra";
}

// the inspection kept in this browser for object row i, or the catalog's redshift
function cfShowRecord(a, i) {
  const o = a.objects.data;
  const rec = cfLoad(a)[o.object_id[i]];
  const z = rec && rec.redshift !== null && rec.redshift !== "" ? Number(rec.redshift)
    : o.redshift[i];
  a.zbox.value = isFinite(z) ? Number(Number(z).toFixed(4)) : 0; // its callback moves the lines
  a.quality.active = rec ? Number(rec.quality) : null;
  a.comment.value = rec ? rec.comment : "";
  a.status.text = rec ? "Inspected in this browser." : "";
}

function cfSelect(a) {
  const idx = a.objects.selected.indices;
  if (!idx.length) return;
  const i = idx[0];
  if (i === cfCurrent(a)) return;
  a.spec.tags = [i];
  cfDraw(a); // the spectra, and the lines at the current redshift over their range
  cfShowRecord(a, i); // a new redshift moves the lines again (the zbox callback)
  a.title.text = cfTitle(a, i);
  a.cutout.text = cfCutoutHtml(a, i);
}

// show this browser's inspections in the table's "my" columns (patched: only changed cells)
function cfApply(a, records) {
  const o = a.objects.data;
  const patch = { my_redshift: [], my_quality: [], my_comment: [] };
  for (let r = 0; r < o.object_id.length; r++) {
    const rec = records[o.object_id[r]];
    const z = rec && rec.redshift !== null ? Number(rec.redshift).toFixed(4) : "";
    const q = rec ? String(rec.quality) : "";
    const c = rec ? rec.comment : "";
    if (o.my_redshift[r] !== z) patch.my_redshift.push([r, z]);
    if (o.my_quality[r] !== q) patch.my_quality.push([r, q]);
    if (o.my_comment[r] !== c) patch.my_comment.push([r, c]);
  }
  for (const k of Object.keys(patch)) {
    if (!patch[k].length) delete patch[k];
  }
  if (Object.keys(patch).length) a.objects.patch(patch);
}

function cfSave(a) {
  const i = cfCurrent(a);
  if (i < 0) return;
  const q = a.quality.active;
  if (q === null || q === undefined) {
    a.status.text = "Choose a quality (0–4) before saving.";
    return;
  }
  const z = Number(a.zbox.value);
  const records = cfLoad(a);
  const id = a.objects.data.object_id[i];
  records[id] = { redshift: isFinite(z) ? z : null, quality: q, comment: a.comment.value || "" };
  if (cfStore(a, records)) {
    cfApply(a, records);
    a.status.text = "Saved " + id + " in this browser (" + Object.keys(records).length +
      " inspected). Export CSV to keep them.";
  }
}

function cfCsvField(v) {
  const s = v === null || v === undefined ? "" : String(v);
  return /[",\r\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
}

// the format `campfire inspect --import` reads: object_id,redshift,quality,comment
function cfCsv(a) {
  const records = cfLoad(a);
  const ids = a.objects.data.object_id;
  const out = ["object_id,redshift,quality,comment"];
  for (let r = 0; r < ids.length; r++) {
    const rec = records[ids[r]];
    if (!rec) continue;
    const z = rec.redshift === null || !isFinite(rec.redshift) ? "" : String(rec.redshift);
    out.push([ids[r], z, String(rec.quality), rec.comment].map(cfCsvField).join(","));
  }
  return out.join("\r\n") + "\r\n";
}

function cfExport(a) {
  const text = cfCsv(a);
  const rows = text.split("\r\n").length - 2;
  if (!rows) {
    a.status.text = "Nothing to export yet: save an inspection first.";
    return;
  }
  const blob = new Blob([text], { type: "text/csv;charset=utf-8" });
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = a.csv_name;
  document.body.appendChild(link);
  link.click();
  link.remove();
  a.status.text = "Exported " + rows + " inspection(s) to " + a.csv_name +
    ": import with campfire inspect --import " + a.csv_name;
}

// the first object is drawn by the page builder; only this browser's inspections are added
function cfInit(a) {
  const records = cfLoad(a);
  if (!Object.keys(records).length) return;
  cfApply(a, records);
  const i = cfCurrent(a);
  if (i >= 0 && records[a.objects.data.object_id[i]]) cfShowRecord(a, i);
}
