// Why this answer, under Predict: the attribution map of :explain over the input the model
// saw, and the nearest training examples of :neighbors. Both are asked only once the input
// has settled (stroke end, upload, example pick, then SETTLE_MS without a newer one), never while a stroke is drawn, and an
// answer for an older input is dropped as Predict drops its stale answers.
import { api } from "../api.js";
import { state, inputSpec, stillShown } from "../app.js";
import { cssVar, drawPixels, flat, maxAbs, rgb, scaleLegend } from "../draw.js";
import { el, errorBox, field, svgEl } from "../ui.js";

const METHODS = {
  "integrated-gradients": "Integrated gradients",
  saliency: "Saliency",
  smoothgrad: "SmoothGrad",
  occlusion: "Occlusion",
};
const SIGNED = new Set(["integrated-gradients", "occlusion"]); // the others are |df/dx|
export const NEIGHBORS_K = 8;
/** How long an input must stay before it is explained: paging through examples quickly
 * sends no :explain for the ones skipped past, and never slows their predictions. */
export const SETTLE_MS = 150;

/** A number as the panel prints it: 4 decimals, or 3 significant digits when tiny. */
export function num(v) {
  return v === null || v === undefined ? "n/a" : Math.abs(v) >= 1e-3 || v === 0 ? v.toFixed(4) : v.toExponential(2);
}

/** A small share as a percentage that never rounds to 0.00%. */
function share(x) {
  const pct = x * 100;
  return pct >= 0.01 ? `${pct.toFixed(2)}%` : `${pct.toExponential(1)}%`;
}

/** One value per pixel: a colour model's attributions summed over the channels. */
function perPixel(values, shape) {
  const channels = shape.length === 3 ? shape[2] : 1;
  if (channels === 1) return values;
  const out = new Float64Array(values.length / channels);
  for (let i = 0; i < out.length; i++) for (let c = 0; c < channels; c++) out[i] += values[i * channels + c];
  return out;
}

/** The input with the signed map laid over it: colour strength is |a| / scale. */
function drawOverlay(canvas, instance, attributions, opacity, scale) {
  const spec = inputSpec();
  drawPixels(canvas, instance, spec.shape, spec.value_range);
  const [h, w] = spec.shape;
  const ctx = canvas.getContext("2d");
  const image = ctx.getImageData(0, 0, w, h);
  const values = perPixel(flat(attributions), spec.shape);
  const [neg, pos] = [rgb(cssVar("--neg")), rgb(cssVar("--pos"))];
  for (let i = 0; i < w * h; i++) {
    const t = Math.max(-1, Math.min(1, values[i] / scale));
    const a = Math.abs(t) ** 0.7 * opacity; // a gentle gamma: weak evidence still shows
    const end = t < 0 ? neg : pos;
    for (let c = 0; c < 3; c++) image.data[i * 4 + c] = image.data[i * 4 + c] * (1 - a) + end[c] * a;
  }
  ctx.putImageData(image, 0, 0);
  return canvas;
}

/** One signed bar per input coordinate (vector models such as xor). */
function coordinateBars(attributions, instance) {
  const values = flat(attributions);
  const max = maxAbs(values) || 1e-9;
  const rowH = 24;
  const W = 300;
  const mid = 150;
  const svg = svgEl("svg", { viewBox: `0 0 ${W} ${rowH * values.length}`, width: "100%", class: "bars", role: "img",
    "aria-label": `Attribution per input coordinate: ${values.map((v, i) => `x${i} ${num(v)}`).join(", ")}` });
  values.forEach((v, i) => {
    const y = i * rowH;
    const len = (Math.abs(v) / max) * (mid - 70);
    svg.append(
      svgEl("text", { x: 4, y: y + 16, fill: cssVar("--fg"), "font-size": 12 }, `x${i} = ${num(instance[i])}`),
      svgEl("line", { x1: mid, x2: mid, y1: y + 2, y2: y + rowH - 2, stroke: cssVar("--muted") }),
      svgEl("rect", { x: v < 0 ? mid - len : mid, y: y + 5, width: Math.max(1, len), height: rowH - 10,
        fill: v < 0 ? cssVar("--neg") : cssVar("--pos") }),
      svgEl("text", { x: W - 4, y: y + 16, "text-anchor": "end", fill: cssVar("--muted"), "font-size": 11 }, num(v)),
    );
  });
  return svg;
}

/**
 * The Why panel. `open(input, {source, label})` opens a neighbour in Predict.
 * Returns {element, settled(instance), superseded(), unsettled(message?)}.
 */
export function whyPanel(open) {
  const names = state.manifest.class_names;
  const image = inputSpec().kind === "image";
  const generation = state.generation;
  const method = el("select", { id: "why-method" },
    Object.entries(METHODS).map(([value, text]) => el("option", { value }, text)));
  const target = el("select", { id: "why-target" }, el("option", { value: "" }, "the predicted class"),
    names.map((name, i) => el("option", { value: i }, name)));
  const opacity = el("input", { type: "range", id: "why-opacity", min: 0, max: 1, step: 0.05, value: 0.85 });
  const attribution = el("div", { id: "why-attribution", "aria-live": "polite" });
  const neighbours = el("div", { id: "why-neighbors", "aria-live": "polite" });
  const note = el("p", { class: "muted", id: "why-note" }, "Pick, draw or upload an input.");
  let current = null; // {instance}: the settled input on screen
  let shown = null; // the explanation drawn, redrawn when the opacity moves
  const calls = { explain: { issued: 0, controller: null }, neighbors: { issued: 0, controller: null } };

  /** Starts a request of `kind`, aborting the one before; its answer counts only if still the latest. */
  async function ask(kind, box, what, send, draw) {
    const call = calls[kind];
    call.controller?.abort();
    call.controller = new AbortController();
    const seq = ++call.issued;
    box.dataset.pending = String(seq);
    if (!box.firstChild || box.querySelector(".error")) box.replaceChildren(el("p", { class: "loading" }, what));
    else box.classList.add("stale");
    try {
      const body = await send(call.controller.signal);
      if (seq !== call.issued || !stillShown(generation)) return;
      await draw(body, seq);
    } catch (err) {
      if (err.name === "AbortError" || seq !== call.issued || !stillShown(generation)) return;
      box.replaceChildren(errorBox(err));
    } finally {
      if (seq === call.issued) {
        delete box.dataset.pending;
        box.classList.remove("stale");
      }
    }
  }

  function explain() {
    if (!current) return;
    const { instance } = current;
    const params = { method: method.value, target: target.value || undefined };
    ask("explain", attribution, "Explaining", (signal) =>
      api.explain(state.model, state.version, { instances: [instance] }, params, { signal }),
    (body, seq) => {
      shown = { e: body.explanations[0], instance, method: body.method };
      drawExplanation(seq);
    });
  }

  function drawExplanation(seq = attribution.dataset.seq) {
    if (!shown) return;
    const { e, instance, method: m } = shown;
    const values = flat(e.attributions);
    const scale = maxAbs(values) || 1e-9;
    const stat = (id, label, value) =>
      el("span", { id, dataset: { value: value ?? "" } }, `${label} ${num(value)}`);
    const gap = e.completeness_gap;
    const change = e.baseline_value === null || e.baseline_value === undefined ? null : e.value - e.baseline_value;
    const picture = image
      ? drawOverlay(el("canvas", { id: "why-overlay", class: "overlay", role: "img",
        "aria-label": `${METHODS[m]} for class ${e.target_class} over the input the model saw` }),
      instance, e.attributions, Number(opacity.value), scale)
      : coordinateBars(e.attributions, instance);
    attribution.dataset.seq = String(seq);
    attribution.dataset.method = m;
    attribution.dataset.target = String(e.target);
    attribution.replaceChildren(
      el("div", { class: "row why-row" }, picture,
        el("div", {},
          el("p", {}, `${METHODS[m]}, class `, el("strong", {}, e.target_class),
            e.target === e.predicted ? " (the predicted class)" : ` (predicted: ${names[e.predicted]})`),
          el("p", { class: "stats" }, stat("why-value", "f(x) =", e.value), stat("why-baseline", "f(baseline) =", e.baseline_value),
            gap === undefined || gap === null ? null : stat("why-gap", "completeness gap =", gap)),
          gap === undefined || gap === null || !change ? null
            : el("p", { class: "muted" }, `The map adds up to f(x) − f(baseline) = ${num(change)} within ${share(gap / Math.abs(change))}.`),
          scaleLegend(scale, SIGNED.has(m) ? `toward ${e.target_class}` : "|df/dx|", SIGNED.has(m) ? `away from it` : null),
        )),
    );
  }

  function neighbors() {
    const { instance } = current;
    ask("neighbors", neighbours, "Finding the nearest examples", async (signal) => {
      const body = await api.neighbors(state.model, state.version, { instances: [instance] }, { k: NEIGHBORS_K }, { signal });
      const examples = await Promise.all(body.results[0].neighbors.map((n) => api.example(body.dataset, n.index)));
      return { body, examples };
    }, ({ body, examples }, seq) => {
      const r = body.results[0];
      const buttons = r.neighbors.map((n, i) => {
        const ex = examples[i];
        const picture = image
          ? drawPixels(el("canvas", { "aria-hidden": "true" }), ex.instance, inputSpec().shape, inputSpec().value_range)
          : el("span", {}, `(${ex.instance.map((v) => (+v).toFixed(2)).join(", ")})`);
        // The visible label and distance are the button's name, the rest is for screen readers.
        return el("button", { type: "button", class: "neighbor", dataset: { index: n.index, classId: n.class_id },
          title: `Open ${body.dataset} #${n.index} in Predict`,
          onclick: () => open({ instances: [ex.instance] }, { source: `${body.dataset} #${n.index}`, label: n.class_id }) },
        picture, el("span", { class: "neighbor-label" }, n.label), el("span", { class: "muted" }, n.distance.toFixed(2)),
        el("span", { class: "sr-only" }, `distance; open ${body.dataset} #${n.index} in Predict`));
      });
      const agrees = r.agrees;
      neighbours.dataset.seq = String(seq);
      neighbours.dataset.indices = r.neighbors.map((n) => n.index).join(",");
      neighbours.replaceChildren(
        el("p", {}, `${NEIGHBORS_K} nearest in ${body.dataset} (${body.space} space): vote `,
          el("strong", { id: "why-vote", dataset: { classId: r.vote.class_id, agrees: String(agrees) } },
            `${r.vote.label} (${Math.round(r.vote.share * 100)}%)`),
          el("span", { class: agrees ? "agree" : "disagree" },
            agrees ? ", agreeing with the prediction" : `, not the predicted ${r.predicted_label}: trust it less`),
        ),
        el("div", { class: "thumbs neighbors" }, buttons));
    });
  }

  opacity.addEventListener("input", () => image && drawExplanation());
  method.addEventListener("change", explain);
  target.addEventListener("change", explain);

  const controls = el("div", { class: "row" }, field("Method", method), field("Target", target),
    image ? field("Overlay strength", opacity) : null);
  const element = el("section", { class: "panel", id: "why", "aria-labelledby": "why-title" },
    el("h2", { id: "why-title" }, "Why this answer"), note, controls,
    el("h3", {}, "What moved the score"), attribution,
    el("h3", {}, "Nearest training examples"), neighbours);

  let timer = 0;
  /** What is shown belongs to an input before the current one: answers in flight are dropped. */
  function drop() {
    clearTimeout(timer);
    for (const call of Object.values(calls)) {
      call.controller?.abort();
      call.issued++;
    }
    for (const box of [attribution, neighbours]) {
      box.classList.add("stale");
      delete box.dataset.pending;
    }
  }

  return {
    element,
    /** A new input is on its way: nothing is asked for the one before. */
    superseded: drop,
    settled(instance) {
      current = { instance };
      note.replaceChildren();
      clearTimeout(timer);
      timer = setTimeout(() => {
        if (!stillShown(generation)) return;
        explain();
        if (state.manifest.neighbor_indexes?.length) neighbors();
        else neighbours.replaceChildren(el("p", { class: "muted", id: "why-no-index" },
          "This version has no training examples indexed (an import without --task)."));
      }, SETTLE_MS);
    },
    unsettled(message = "Drawing: the map and the nearest examples follow when the stroke ends.") {
      drop();
      note.replaceChildren(message);
    },
  };
}
