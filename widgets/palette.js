// Colours every campfire widget shares with the static pictures. The grating palette is
// colour-blind safe (Okabe-Ito hues: grey, blue, bluish green, vermillion; a second spectrum of
// a grating takes a second shade and a dashed line) and every colour keeps a contrast of at least
// 3:1 against both JupyterLab's light (#fff) and dark (#111) backgrounds. Python's copy is
// campfire/views/palette.py (tests/views/test_palette.py keeps the two the same).

/** The shades of each grating family, in the order a grating's spectra take them. */
export const GRATING_PALETTE = {
  "PRISM": ["#7a7a7a", "#8d6e63"],
  "G140": ["#0072b2", "#3a8fd9"],
  "G235": ["#009e73", "#00897b"],
  "G395": ["#d55e00", "#b07800"],
  "OTHER": ["#cc79a7", "#8a6fd0", "#a68200", "#5c6bc0"]
};
/** Line dashes by how many spectra of the same grating came before ([] = solid). */
export const DASHES = [[], [6, 3], [2, 2], [8, 2, 2, 2]];

/** The family key of a grating name ("G395M" -> "G395"; unknown -> "OTHER"). */
export function gratingFamily(grating) {
  const name = String(grating || "").toUpperCase();
  return Object.keys(GRATING_PALETTE).find((k) => k !== "OTHER" && name.startsWith(k)) || "OTHER";
}

/**
 * A colour and dash for each spectrum: the spectra of a grating family take its shades in turn
 * (G395M then G395H: vermillion, ochre), and a second spectrum of the very same grating also
 * gets a dashed line (PRISM, PRISM: grey solid, brown dashed). Same rule as the Python copy.
 * @param {string[]} gratings
 * @returns {{color: string, dash: number[], nth: number}[]}
 */
export function gratingStyles(gratings) {
  const perGrating = new Map();
  const perFamily = new Map();
  return gratings.map((g) => {
    const fam = gratingFamily(g);
    const key = String(g || "").toUpperCase();
    const nth = perGrating.get(key) || 0;
    const shade = perFamily.get(fam) || 0;
    perGrating.set(key, nth + 1);
    perFamily.set(fam, shade + 1);
    const shades = GRATING_PALETTE[fam];
    return { color: shades[shade % shades.length], dash: DASHES[Math.min(nth, DASHES.length - 1)], nth };
  });
}

/** Relative luminance (WCAG) of a #rrggbb colour. */
export function luminance(hex) {
  const c = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255)
    .map((x) => (x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4));
  return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
}

/** WCAG contrast ratio of two #rrggbb colours (1-21). */
export function contrast(a, b) {
  const [lo, hi] = [luminance(a), luminance(b)].sort((x, y) => x - y);
  return (hi + 0.05) / (lo + 0.05);
}

/** "#rrggbb" for a CSS rgb()/rgba() string or a hex colour, #rgb too (null when unreadable). */
export function cssHex(color) {
  const s = String(color || "").trim();
  if (/^#[0-9a-f]{6}$/i.test(s)) return s.toLowerCase();
  if (/^#[0-9a-f]{3}$/i.test(s)) return ("#" + s[1] + s[1] + s[2] + s[2] + s[3] + s[3]).toLowerCase();
  const m = s.match(/^rgba?\(\s*(\d+)[,\s]+(\d+)[,\s]+(\d+)/i);
  if (!m) return null;
  return "#" + m.slice(1, 4).map((v) => Number(v).toString(16).padStart(2, "0")).join("");
}

/** "dark" when a background colour is dark (luminance below 0.2), else "light". */
export function themeOf(background) {
  const hex = cssHex(background);
  return hex && luminance(hex) < 0.2 ? "dark" : "light";
}

/**
 * The theme's colours for a canvas, read from the --jp-* variables on an element (JupyterLab
 * light, dark and high contrast set them; outside JupyterLab the light defaults apply).
 */
export function themeColors(el) {
  const css = getComputedStyle(el);
  const v = (name, fallback) => css.getPropertyValue(name).trim() || fallback;
  // the element's own computed background is always rgb(): JupyterLab writes "#111" or var()s
  const own = css.backgroundColor;
  const bg = own && own !== "rgba(0, 0, 0, 0)" && own !== "transparent" ? own : v("--jp-layout-color0", "#ffffff");
  return {
    fg: css.color || v("--jp-ui-font-color1", "#222222"),
    fg2: v("--jp-ui-font-color2", "#666666"),
    bg,
    grid: v("--jp-border-color2", "rgba(128,128,128,0.35)"),
    theme: themeOf(bg),
  };
}

/**
 * Call `redraw` when JupyterLab's theme changes (the --jp-* variables with it): at the switch
 * and again once the new theme's stylesheet has loaded. Returns the function that stops it.
 */
export function onThemeChange(redraw) {
  const timers = [];
  const observer = new MutationObserver(() => {
    redraw();
    for (const ms of [150, 500, 1500]) timers.push(setTimeout(redraw, ms));
  });
  observer.observe(document.body, { attributes: true, attributeFilter: ["data-jp-theme-name", "data-jp-theme-light"] });
  return () => { observer.disconnect(); timers.forEach(clearTimeout); };
}
