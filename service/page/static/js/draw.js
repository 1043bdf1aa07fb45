// Canvas and SVG drawn from data. Colours come from the CSS variables (lens.css), so the
// pictures follow light and dark mode like the rest of the page.
import { svgEl, el, formatP } from "./ui.js";

// Reading computed style per bar would force a style pass each time: the values are read
// once and forgotten when the colour scheme changes.
const cssCache = new Map();
matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => cssCache.clear());

export function cssVar(name) {
  if (!cssCache.has(name)) {
    cssCache.set(name, getComputedStyle(document.documentElement).getPropertyValue(name).trim());
  }
  return cssCache.get(name);
}

export function classColour(i) {
  return cssVar(`--c${i % 10}`);
}

const rgbCache = new Map();
export function rgb(colour) {
  if (!rgbCache.has(colour)) rgbCache.set(colour, parseColour(colour));
  return rgbCache.get(colour);
}

function parseColour(colour) {
  const probe = document.createElement("canvas").getContext("2d");
  probe.fillStyle = colour;
  const hex = probe.fillStyle; // normalised to #rrggbb
  return [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
}

/** A flat array of numbers, whatever nesting the API sent. */
export function flat(values) {
  return Array.isArray(values) ? values.flat(Infinity) : Array.from(values);
}

/** Largest absolute value (a loop: spreading 400,000 numbers into Math.max overflows). */
export function maxAbs(values) {
  let max = 0;
  for (const v of values) if (Math.abs(v) > max) max = Math.abs(v);
  return max;
}

/**
 * Picture of an image instance (values in [lo, hi]) at its own resolution: grey for shape
 * [h, w] or [h, w, 1], colour for [h, w, 3] (an imported RGB model).
 */
export function drawPixels(canvas, values, [h, w, channels = 1], [lo, hi]) {
  const data = flat(values);
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(w, h);
  const span = hi - lo || 1;
  const byte = (x) => Math.max(0, Math.min(255, Math.round(((x - lo) / span) * 255)));
  for (let i = 0; i < w * h; i++) {
    if (channels === 3) {
      image.data.set([byte(data[3 * i]), byte(data[3 * i + 1]), byte(data[3 * i + 2]), 255], i * 4);
    } else {
      const v = byte(data[i]);
      image.data.set([v, v, v, 255], i * 4);
    }
  }
  ctx.putImageData(image, 0, 0);
  canvas.classList.add("pixels");
  return canvas;
}

/** Diverging picture (negative -> --neg, 0 -> --panel, positive -> --pos). */
export function drawDiverging(canvas, values, [h, w], scale) {
  const data = flat(values);
  const max = scale || maxAbs(data) || 1e-9;
  const [neg, mid, pos] = [rgb(cssVar("--neg")), rgb(cssVar("--panel")), rgb(cssVar("--pos"))];
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(w, h);
  for (let i = 0; i < w * h; i++) {
    const t = Math.max(-1, Math.min(1, data[i] / max));
    const end = t < 0 ? neg : pos;
    const a = Math.abs(t);
    image.data.set([0, 1, 2].map((c) => mid[c] + (end[c] - mid[c]) * a).concat(255), i * 4);
  }
  ctx.putImageData(image, 0, 0);
  canvas.classList.add("pixels");
  return canvas;
}

/** Horizontal probability bars, one per class, the top class highlighted. */
export function probabilityBars(probabilities, classNames) {
  const probs = flat(probabilities);
  const best = probs.indexOf(Math.max(...probs));
  const rowH = 20;
  const width = 300;
  const labelW = 90;
  const svg = svgEl("svg", {
    viewBox: `0 0 ${width} ${rowH * probs.length}`,
    width: "100%",
    role: "img",
    "aria-label": `Probabilities: ${classNames[best]} ${formatP(probs[best])} highest`,
    class: "bars",
  });
  probs.forEach((p, i) => {
    const y = i * rowH;
    svg.append(
      svgEl("text", { x: labelW - 4, y: y + 14, "text-anchor": "end", fill: cssVar("--fg"), "font-size": 12 },
        classNames[i]),
      svgEl("rect", { x: labelW, y: y + 3, width: Math.max(1, p * (width - labelW - 60)), height: rowH - 6,
        fill: i === best ? cssVar("--bar-top") : cssVar("--bar") }),
      svgEl("text", { x: labelW + p * (width - labelW - 60) + 4, y: y + 14, fill: cssVar("--muted"), "font-size": 11 },
        formatP(p)),
    );
  });
  return svg;
}

/**
 * A line chart: xs shared, series [{name, values, colour}], optional vertical markers
 * [{x, label}] and a current x. Returns an SVG element.
 */
export function lineChart({ xs, series, markers = [], current = null, yMax = 1, yMin = 0, label, xLabel = "" }) {
  const W = 600;
  const H = 220;
  const m = { l: 36, r: 10, t: 10, b: 28 };
  const x0 = Math.min(...xs);
  const x1 = Math.max(...xs);
  const sx = (x) => m.l + ((x - x0) / (x1 - x0 || 1)) * (W - m.l - m.r);
  const sy = (y) => H - m.b - ((y - yMin) / (yMax - yMin || 1)) * (H - m.t - m.b);
  const svg = svgEl("svg", { viewBox: `0 0 ${W} ${H}`, width: "100%", role: "img", "aria-label": label });
  const fg = cssVar("--muted");
  for (const t of [0, 0.5, 1]) {
    const y = yMin + t * (yMax - yMin);
    svg.append(
      svgEl("line", { x1: m.l, x2: W - m.r, y1: sy(y), y2: sy(y), stroke: cssVar("--grid") }),
      svgEl("text", { x: m.l - 4, y: sy(y) + 4, "text-anchor": "end", fill: fg, "font-size": 11 }, +y.toFixed(2)),
    );
  }
  svg.append(
    svgEl("text", { x: m.l, y: H - 8, fill: fg, "font-size": 11 }, x0.toFixed(2)),
    svgEl("text", { x: W - m.r, y: H - 8, fill: fg, "font-size": 11, "text-anchor": "end" }, x1.toFixed(2)),
    svgEl("text", { x: W / 2, y: H - 8, fill: fg, "font-size": 11, "text-anchor": "middle" }, xLabel),
  );
  for (const mk of markers) {
    svg.append(
      svgEl("line", { class: "flip-marker", x1: sx(mk.x), x2: sx(mk.x), y1: m.t, y2: H - m.b,
        stroke: cssVar("--focus"), "stroke-dasharray": "4 3" }, svgEl("title", {}, mk.label)),
    );
  }
  for (const s of series) {
    const d = s.values.map((v, i) => `${i ? "L" : "M"}${sx(xs[i]).toFixed(1)},${sy(v).toFixed(1)}`).join("");
    svg.append(svgEl("path", { d, fill: "none", stroke: s.colour, "stroke-width": s.width || 2 },
      svgEl("title", {}, s.name)));
  }
  if (current !== null) {
    svg.append(svgEl("line", { class: "current-marker", x1: sx(current), x2: sx(current), y1: m.t, y2: H - m.b,
      stroke: cssVar("--fg"), "stroke-width": 1.5 }));
  }
  return svg;
}

export function legend(items) {
  return el("div", { class: "legend" },
    items.map(({ name, colour }) => el("span", {}, el("span", { class: "swatch", style: `background:${colour}` }), name)));
}

/** A colour key for a signed map: -max (--neg) .. 0 .. +max (--pos), or 0 .. max unsigned. */
export function scaleLegend(max, posText, negText = null) {
  const signed = negText !== null;
  const stops = signed ? "var(--neg), transparent, var(--pos)" : "transparent, var(--pos)";
  const v = Math.abs(max) >= 1e-3 ? max.toFixed(3) : max.toExponential(1);
  return el("div", { class: "scale" },
    el("span", {}, signed ? `−${v} ${negText}` : "0"),
    el("span", { class: "scale-bar", style: `background:linear-gradient(to right, ${stops})`, "aria-hidden": "true" }),
    el("span", {}, `+${v} ${posText}`));
}
