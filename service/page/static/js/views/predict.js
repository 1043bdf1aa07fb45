// Predict: draw, upload, drop, paste or pick an example (a point for xor) and watch the
// probabilities, beside the input the model actually saw (the API's include_input); below,
// why that answer (views/why.js).
import { api } from "../api.js";
import { state, isImage, isColour, hasTestSet, setInput, inputSpec, navigate, currentInput, stillShown } from "../app.js";
import { drawPixels, probabilityBars } from "../draw.js";
import { drawingPad, pictureInput, exampleInput, pointPicker } from "../sources.js";
import { el, errorBox, formatP } from "../ui.js";
import { verdictBox } from "./ood.js";
import { whyPanel } from "./why.js";
import { drawingLine } from "../drawings.js";

/** Draw the fitted input (an image instance) or describe a vector one. */
export function seenInput(instance) {
  const spec = inputSpec();
  if (spec.kind !== "image") return el("p", { class: "big" }, `(${instance.map((v) => (+v).toFixed(3)).join(", ")})`);
  const [h, w] = spec.shape;
  const canvas = el("canvas", { id: "fitted", width: w, height: h,
    style: `width:${Math.round((140 * w) / Math.max(h, w))}px;height:${Math.round((140 * h) / Math.max(h, w))}px`,
    role: "img", "aria-label": "The input the model saw" });
  return drawPixels(canvas, instance, spec.shape, spec.value_range);
}

export async function render(main) {
  const result = el("div", { id: "result", "aria-live": "polite" }, el("p", { class: "muted" }, "Draw, upload or pick an input."));
  let issued = 0; // sequence number of the latest request sent
  let applied = 0; // of the latest answer shown: an older answer never overwrites it
  const generation = state.generation;

  async function onInput(input, { source, label, live = false }) {
    if (!stillShown(generation)) return; // e.g. an example fetched while the model changed
    const seq = ++issued;
    // An attribution in flight is for the input before: drop it (and the server's work).
    if (live) why.unsettled();
    else why.superseded();
    if (result.querySelector(".loading") === null && !result.querySelector("#predicted-label")) {
      result.replaceChildren(el("p", { class: "loading" }, "Predicting"));
    }
    main.dataset.pending = String(seq);
    const sent = performance.now();
    try {
      const body = await api.predict(state.model, state.version, input, { includeInput: true, topK: 3, ood: Boolean(state.manifest.ood) });
      if (seq <= applied || !stillShown(generation)) return; // stale: a newer answer is on screen
      applied = seq;
      const p = body.predictions[0];
      setInput(p.input, source, { label });
      show(p, source, label, body, sent, seq);
      // Why (:explain, :neighbors) only for a settled input: never while a stroke is drawn.
      if (!live && seq === issued) why.settled(p.input);
    } catch (err) {
      if (seq < issued || !stillShown(generation)) return;
      applied = seq;
      result.replaceChildren(errorBox(err));
      why.unsettled("No answer for this input: the panel below is for the one before.");
    } finally {
      if (seq === issued) delete main.dataset.pending;
    }
  }

  function show(p, source, label, body, sent, seq) {
    const names = state.manifest.class_names;
    const json = JSON.stringify(p.input);
    result.replaceChildren(
      el("div", { class: "row" },
        el("div", {}, el("h3", {}, "What the model saw"), seenInput(p.input)),
        el("div", {},
          el("p", { class: "big" }, el("span", { id: "predicted-label", dataset: { classId: p.class_id } }, p.label), " ",
            el("span", { id: "predicted-probability", dataset: { value: p.probability } }, formatP(p.probability))),
          el("p", { class: "muted" }, `${source}` + (label !== undefined ? ` (true class: ${names[label]})` : ""),
            ` · ${body.model} v${body.version}`),
        )),
      probabilityBars(p.probabilities, names),
      p.ood ? verdictBox(p.ood, state.manifest) : null,
      el("details", {}, el("summary", {}, "The fitted input as JSON (send it to :predict yourself)"),
        el("textarea", { id: "fitted-json", readonly: true, rows: 4, cols: 40, "aria-label": "Fitted input as JSON" }, json)),
      el("div", { class: "row" },
        el("button", { type: "button", onclick: () => navigate("inside") }, "Look inside"),
        el("button", { type: "button", onclick: () => navigate("map") }, "Place on the map"),
        el("button", { type: "button", onclick: () => navigate("sweep") }, "Sweep from here")),
    );
    result.dataset.seq = String(seq);
    // Time from request sent to probabilities drawn (read by benchmarks/page.py).
    requestAnimationFrame(() => window.__lensTimings?.push(performance.now() - sent));
  }

  const sources = el("div", { class: "panel" }, el("h2", {}, "Input"));
  const pick = drawingLine(state.drawingPick, state.manifest, (model) => navigate("predict", { model, version: null }));
  if (pick) sources.append(pick);
  let detach = null;
  const examples = hasTestSet() ? [el("h3", {}, "Or a test example"), exampleInput(onInput)] : [];
  if (isColour()) {
    // Ink on paper says nothing to a colour model: a photo does.
    const [pictures, off] = pictureInput(onInput);
    detach = off;
    sources.append(el("p", { class: "muted", id: "colour-note" }, "This model takes colour pictures: upload one."),
      pictures, ...examples);
  } else if (isImage()) {
    const [pictures, off] = pictureInput(onInput);
    detach = off;
    sources.append(drawingPad(onInput), el("h3", {}, "Or a picture"), pictures, ...examples);
  } else if (inputSpec().shape.length === 1 && inputSpec().shape[0] === 2) {
    sources.append(pointPicker(onInput), ...examples);
  } else if (examples.length) {
    sources.append(...examples.slice(1));
  } else {
    sources.append(el("p", { class: "muted" }, "This model came without data: send it vectors through the API."));
  }
  const why = whyPanel(onInput);
  main.append(el("div", { class: "grid" }, sources, el("div", { class: "panel" }, el("h2", {}, "Prediction"), result)),
    why.element);
  if ((inputSpec().kind === "image" && hasTestSet()) || state.input?.model === state.manifest.name) {
    // Start from the current input (or, for images, the test set's first example): never
    // an empty view; an example opened from another view (a confusion cell) shows here.
    currentInput().then(
      (x) => issued === 0 && onInput({ instances: [x.instance] }, { source: x.source, label: x.label }),
      (err) => result.replaceChildren(errorBox(err)),
    );
  }
  return () => detach && detach();
}
