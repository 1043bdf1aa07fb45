// Sweep: between inputs A and B (alpha 1 = A, 0 = B, as the API mixes them) in pixel or
// embedding space. Class-probability curves with the flips marked, the strip of mixed
// pictures, and a slider that scrubs through the steps.
import { api } from "../api.js";
import { state, currentInput, inputSpec, isImage, testSet, stillShown } from "../app.js";
import { classColour, drawPixels, legend, lineChart, probabilityBars, flat } from "../draw.js";
import { el, field, withLoading, formatP } from "../ui.js";

const MAX_STRIP = 120;

function endChooser(name, defaultIndex) {
  const kind = el("select", { id: `sweep-${name}-kind` },
    el("option", { value: "example" }, `${testSet()} example`), el("option", { value: "current" }, "current input"));
  const index = el("input", { type: "number", id: `sweep-${name}-index`, min: 0, value: defaultIndex });
  const row = el("div", { class: "row" }, field(name.toUpperCase(), kind), field("index", index));
  async function instance() {
    if (kind.value === "current") return (await currentInput()).instance;
    return (await api.example(testSet(), Number(index.value))).instance;
  }
  return { row, instance };
}

/** w * a + (1 - w) * b, element-wise, as the API mixes in pixel space. */
function mix(a, b, w) {
  return a.map((v, i) => w * v + (1 - w) * b[i]);
}

export function sweepChart(result, current, names) {
  const xs = result.points.map((p) => p.alpha);
  const classes = names.map((name, c) => ({ name, colour: classColour(c), values: result.points.map((p) => p.probabilities[c]) }));
  const markers = result.summary.flips.map((f) => ({
    x: (f.alpha_before + f.alpha_after) / 2,
    label: `${f.from_label} -> ${f.to_label} between alpha ${f.alpha_before.toFixed(3)} and ${f.alpha_after.toFixed(3)}`,
  }));
  return lineChart({ xs, series: classes, markers, current, label: `Class probabilities over alpha, ${markers.length} flips`, xLabel: "alpha" });
}

export async function render(main) {
  const A = endChooser("a", 1);
  const B = endChooser("b", 2);
  const space = el("select", { id: "sweep-space" }, el("option", { value: "pixel" }, "pixel"), el("option", { value: "embedding" }, "embedding"));
  const start = el("input", { type: "number", id: "sweep-start", step: 0.1, value: 0 });
  const stop = el("input", { type: "number", id: "sweep-stop", step: 0.1, value: 1 });
  const num = el("input", { type: "number", id: "sweep-num", min: 2, max: 1000, value: 21 });
  const run = el("button", { type: "submit", class: "primary", id: "sweep-run" }, "Sweep");
  const out = el("div", { id: "sweep-result" });
  const form = el("form", { class: "panel" }, el("h2", {}, "Sweep between two inputs"), A.row, B.row,
    el("div", { class: "row" }, field("Space", space), field("alpha from", start), field("to", stop), field("steps", num), run));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const generation = state.generation;
      const [a, b] = await Promise.all([A.instance(), B.instance()]);
      if (!stillShown(generation)) return;
      const result = await withLoading(out, api.interpolate(state.model, state.version, {
        a: { instance: a }, b: { instance: b }, space: space.value,
        alphas: { start: Number(start.value), stop: Number(stop.value), num: Number(num.value) },
      }), "Sweeping");
      show(result, flat(a), flat(b));
    } catch {
      /* withLoading shows the API's message */
    }
  });
  main.append(form, out);

  function show(result, a, b) {
    const names = state.manifest.class_names;
    const spec = inputSpec();
    const n = result.points.length;
    const chart = el("div", { class: "chart-wrap", id: "sweep-chart", dataset: { points: n, flips: result.summary.flips.length } });
    const strip = el("div", { class: "strip", id: "sweep-strip" });
    const stepView = el("div", { id: "sweep-step", "aria-live": "polite" });
    const slider = el("input", { type: "range", id: "sweep-slider", min: 0, max: n - 1, value: 0, style: "width:100%" });
    const every = Math.max(1, Math.ceil(n / MAX_STRIP));
    const pixelSpace = isImage() && result.space === "pixel";
    const thumbs = [];
    if (pixelSpace) {
      result.points.forEach((p, i) => {
        if (i % every) return;
        const c = drawPixels(el("canvas", { title: `alpha ${p.alpha.toFixed(3)}: ${p.label}` }), mix(a, b, p.alpha), spec.shape, spec.value_range);
        c.addEventListener("click", () => { slider.value = i; step(i); });
        thumbs[i] = c;
        strip.append(c);
      });
    }
    function step(i) {
      const p = result.points[i];
      chart.replaceChildren(sweepChart(result, p.alpha, names), legend(names.map((name, c) => ({ name, colour: classColour(c) }))));
      thumbs.forEach((t, k) => t && t.classList.toggle("current", k === i));
      slider.setAttribute("aria-valuetext", `step ${i + 1} of ${n}, alpha ${p.alpha.toFixed(3)}, ${p.label}`);
      stepView.replaceChildren(
        el("div", { class: "row" },
          pixelSpace ? drawPixels(el("canvas", { style: "width:112px;height:112px" }), mix(a, b, p.alpha), spec.shape, spec.value_range) : null,
          el("p", { class: "big", id: "sweep-step-label", dataset: { step: i, alpha: p.alpha } },
            `step ${i + 1}/${n}: alpha ${p.alpha.toFixed(3)} → ${p.label} ${formatP(p.probability)}`)),
        probabilityBars(p.probabilities, names));
    }
    slider.addEventListener("input", () => step(Number(slider.value)));
    const flips = result.summary.flips;
    out.replaceChildren(el("div", { class: "panel" },
      el("p", {}, `${result.space} space: ${result.summary.start.label} at alpha ${result.summary.start.alpha} → ${result.summary.stop.label} at alpha ${result.summary.stop.alpha}; `,
        flips.length ? `flips: ${flips.map((f) => `${f.from_label}→${f.to_label} near ${((f.alpha_before + f.alpha_after) / 2).toFixed(3)}`).join(", ")}` : "no flip"),
      chart, field("Scrub alpha", slider), stepView,
      pixelSpace ? el("h3", {}, "The mixed pictures") : el("p", { class: "muted" }, "Embedding space mixes the embedding, not the picture: no picture strip."),
      strip));
    step(0);
  }
  form.requestSubmit();
}
