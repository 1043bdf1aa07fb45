// Inside: every probe-able layer's output for the current input (vectors as strips,
// convolution maps as image grids), the first layer's weights as pictures (a Dense layer's
// columns over the image, or a convolution's filters), and the
// embedding as sliders sent to :head (the reports' question 6, live).
import { api } from "../api.js";
import { state, currentInput, inputSpec, stillShown } from "../app.js";
import { drawDiverging, flat, maxAbs, probabilityBars, scaleLegend } from "../draw.js";
import { el, errorBox, field, throttle, withLoading, formatP } from "../ui.js";
import { seenInput } from "./predict.js";
import { LIVE_INTERVAL_MS } from "../sources.js";

const MAX_MAPS = 32;
const MAX_WEIGHT_PICTURES = 64;

function layerPicture(vectors, shape) {
  if (shape.length === 3) {
    const [h, w, c] = shape;
    const data = vectors.flat(Infinity);
    const figures = [];
    for (let k = 0; k < Math.min(c, MAX_MAPS); k++) {
      const channel = new Float32Array(h * w);
      for (let i = 0; i < h * w; i++) channel[i] = data[i * c + k];
      const canvas = drawDiverging(el("canvas", { style: `width:${Math.max(56, w * 2)}px` }), channel, [h, w]);
      figures.push(el("figure", {}, canvas, el("figcaption", {}, `map ${k}`)));
    }
    return el("div", { class: "maps" }, figures, c > MAX_MAPS ? el("p", { class: "muted" }, `first ${MAX_MAPS} of ${c} maps`) : null);
  }
  const flat = vectors.flat(Infinity);
  const canvas = drawDiverging(el("canvas", { style: "width:100%;height:28px" }), flat, [1, flat.length]);
  const max = maxAbs(flat);
  return el("div", {}, canvas, el("p", { class: "muted" }, `${flat.length} units, largest |value| ${max.toFixed(3)}`));
}

async function layers(box, instance) {
  const spec = state.manifest.layers;
  const generation = state.generation;
  for (const layer of spec) {
    if (!stillShown(generation)) return;
    const panel = el("div", { class: "layer", dataset: { layer: layer.name } },
      el("h3", {}, `${layer.name} `, el("span", { class: "muted" }, `[${layer.output_shape.join(" x ")}]`)));
    const body = el("div");
    panel.append(body);
    box.append(panel);
    try {
      const out = await withLoading(body, api.embed(state.model, state.version, { instances: [instance] }, layer.name));
      body.append(layerPicture(out.embeddings[0], out.shape.slice(1)));
    } catch {
      /* withLoading shows the API's message */
    }
  }
}

/** The first Dense or Conv2D layer of the manifest: the one that reads the input. */
function firstWeighted() {
  return state.manifest.layers.find((l) => l.kind === "Dense" || l.kind === "Conv2D");
}

/** A Conv2D kernel [kh, kw, channels, filters]: one small picture per filter and channel. */
function kernelPictures(w) {
  const [kh, kw, channels, filters] = w.shape;
  const data = flat(w.weights);
  const scale = maxAbs(data);
  const figures = [];
  for (let f = 0; f < filters && figures.length < MAX_WEIGHT_PICTURES; f++) {
    for (let c = 0; c < channels && figures.length < MAX_WEIGHT_PICTURES; c++) {
      const kernel = new Float32Array(kh * kw);
      for (let i = 0; i < kh * kw; i++) kernel[i] = data[(i * channels + c) * filters + f];
      figures.push(el("figure", {}, drawDiverging(el("canvas", { role: "img",
        "aria-label": `filter ${f}${channels > 1 ? ` channel ${c}` : ""}` }), kernel, [kh, kw], scale),
      el("figcaption", {}, channels > 1 ? `${f}.${c}` : String(f))));
    }
  }
  const shown = figures.length < filters * channels ? ` (first ${figures.length})` : "";
  return [
    el("p", { class: "muted" }, `Layer ${w.layer}: ${filters} filters of ${kh} x ${kw} x ${channels}${shown}, one colour scale`),
    scaleLegend(scale, "", ""),
    el("div", { class: "maps kernels", id: "kernel-pictures", dataset: { filters, kh, kw } }, figures),
  ];
}

async function weights(box) {
  const input = inputSpec();
  const first = firstWeighted();
  try {
    const w = await withLoading(box, api.weights(state.model, state.version, first?.name));
    if (w.shape.length === 4) {
      box.append(...kernelPictures(w));
      return;
    }
    const [inputs, units] = w.shape;
    const pixels = input.shape.reduce((a, b) => a * b, 1);
    box.append(el("p", { class: "muted" }, `Layer ${w.layer}: ${inputs} inputs x ${units} units`));
    const scale = maxAbs(w.weights.flat());
    box.append(scaleLegend(scale, "", ""));
    if (input.kind === "image" && inputs === pixels) {
      const [h, wd] = input.shape;
      const figures = [];
      for (let u = 0; u < Math.min(units, MAX_WEIGHT_PICTURES); u++) {
        const column = w.weights.map((row) => row[u]);
        figures.push(el("figure", {}, drawDiverging(el("canvas", { style: "width:56px" }), column, [h, wd], scale),
          el("figcaption", {}, `unit ${u}`)));
      }
      box.append(el("div", { class: "maps", id: "weight-pictures" }, figures));
    } else {
      // One row per unit (units x inputs): the first Dense layer does not read the image.
      const rows = new Float32Array(units * inputs);
      w.weights.forEach((row, i) => row.forEach((v, u) => (rows[u * inputs + i] = v)));
      box.append(drawDiverging(el("canvas", { style: "width:100%;height:256px", id: "weight-matrix",
        role: "img", "aria-label": `weights of ${w.layer}, one row per unit` }), rows, [units, inputs], scale));
    }
  } catch (err) {
    // withLoading shows the API's errors; anything else (a drawing failure) shows here.
    if (!box.querySelector(".error")) box.append(errorBox(err));
  }
}

async function editableEmbedding(box, instance) {
  const names = state.manifest.class_names;
  let vector;
  try {
    vector = (await withLoading(box, api.embed(state.model, state.version, { instances: [instance] }))).embeddings[0];
  } catch {
    return;
  }
  const original = vector.slice();
  const answer = el("div", { "aria-live": "polite", id: "head-answer" });
  const top = Math.max(1, maxAbs(original)) * 2;
  let seq = 0;
  let applied = 0;
  const generation = state.generation;
  const ask = throttle(async () => {
    if (!stillShown(generation)) return;
    const mine = ++seq;
    try {
      const body = await api.head(state.model, state.version, [vector]);
      if (mine <= applied) return;
      applied = mine;
      const p = body.predictions[0];
      answer.replaceChildren(el("p", { class: "big" }, `${p.label} ${formatP(p.probability)}`), probabilityBars(p.probabilities, names));
    } catch (err) {
      answer.replaceChildren(errorBox(err));
    }
  }, LIVE_INTERVAL_MS);
  const sliders = vector.map((v, i) => {
    const input = el("input", { type: "range", min: Math.min(0, -top), max: top, step: top / 200, value: v,
      "aria-label": `unit ${i}` });
    input.addEventListener("input", () => {
      vector[i] = Number(input.value);
      ask();
    });
    return el("div", {}, el("span", { class: "muted" }, `${i}`), input);
  });
  const reset = el("button", { type: "button", onclick: () => {
    vector = original.slice();
    sliders.forEach((s, i) => (s.querySelector("input").value = vector[i]));
    ask();
  } }, "Reset");
  box.append(el("div", { class: "row" }, reset, el("span", { class: "muted" }, "Drag a unit and watch the head's answer.")),
    answer, el("div", { class: "units" }, sliders));
  ask();
}

export async function render(main) {
  const input = await currentInput();
  const layerBox = el("div");
  const weightBox = el("div");
  const embedBox = el("div");
  main.append(el("div", { class: "grid" },
    el("section", { class: "panel", "aria-labelledby": "inside-input" }, el("h2", { id: "inside-input" }, "Input"),
      seenInput(input.instance), el("p", { class: "muted" }, input.source)),
    el("section", { class: "panel", "aria-labelledby": "inside-emb" }, el("h2", { id: "inside-emb" }, `Embedding (${state.manifest.embedding_layer}), editable`), embedBox)),
  el("section", { class: "panel", "aria-labelledby": "inside-layers" }, el("h2", { id: "inside-layers" }, "Every layer"), layerBox),
  el("section", { class: "panel", "aria-labelledby": "inside-w" }, el("h2", { id: "inside-w" }, "First layer's weights as pictures"), weightBox));
  await Promise.all([layers(layerBox, input.instance), weights(weightBox), editableEmbedding(embedBox, input.instance)]);
}
