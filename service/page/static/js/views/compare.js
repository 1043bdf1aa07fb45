// Compare: two models with the same input contract, or two versions of one, side by side
// on the current input: their predictions, and the same sweep run on both.
import { api } from "../api.js";
import { state, currentInput, testSet, stillShown } from "../app.js";
import { probabilityBars } from "../draw.js";
import { el, errorBox, field, formatP } from "../ui.js";
import { seenInput } from "./predict.js";
import { sweepChart } from "./sweep.js";

/** Every loaded model and version; a different input contract is reported when run. */
function choices() {
  return state.models.flatMap((m) => m.versions.map((v) => ({ model: m.name, version: v, key: `${m.name}@${v}` })));
}

export async function render(main) {
  const input = await currentInput();
  const generation = state.generation;
  const shape = JSON.stringify(state.manifest.input.shape);
  const ref = testSet();
  const options = choices();
  const mk = (id, pick) => {
    const s = el("select", { id }, options.map((c) => el("option", { value: c.key }, `${c.model} v${c.version}`)));
    s.value = pick;
    return s;
  };
  const entry = state.models.find((m) => m.name === state.model);
  const first = `${state.model}@${state.version || entry.default_version}`;
  const other = options.find((c) => c.key !== first && c.model === state.model) || options.find((c) => c.key !== first) || options[0];
  const left = mk("compare-left", first);
  const right = mk("compare-right", other.key);
  const go = el("button", { type: "submit", class: "primary", id: "compare-run" }, "Compare");
  const out = el("div", { class: "grid", id: "compare-result" });
  const form = el("form", { class: "panel" }, el("h2", {}, "Compare two models or versions"),
    el("div", { class: "row" }, seenInput(input.instance), el("span", { class: "muted" }, input.source)),
    el("div", { class: "row" }, field("Left", left), field("Right", right), go),
    el("p", { class: "muted" }, `Predictions on the current input, and the pixel sweep ${testSet()} #1 → #2 on both.`));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    out.replaceChildren();
    await Promise.all([left.value, right.value].map(async (key) => {
      const [model, version] = [key.split("@")[0], Number(key.split("@")[1])];
      const panel = el("section", { class: "panel" }, el("h2", {}, `${model} v${version}`), el("p", { class: "loading" }, "Asking"));
      out.append(panel);
      try {
        const meta = await api.manifest(model, version);
        if (!stillShown(generation)) return;
        if (JSON.stringify(meta.input.shape) !== shape) {
          throw new Error(`${model} takes input ${JSON.stringify(meta.input.shape)}, not ${shape}`);
        }
        const [pred, sweep] = await Promise.all([
          api.predict(model, version, { instances: [input.instance] }),
          api.interpolate(model, version, { a: { dataset: ref, index: 1 }, b: { dataset: ref, index: 2 }, space: "pixel", alphas: { start: 0, stop: 1, num: 21 } }),
        ]);
        const p = pred.predictions[0];
        panel.replaceChildren(el("h2", {}, `${model} v${version}`),
          el("p", { class: "big", dataset: { classId: p.class_id } }, `${p.label} ${formatP(p.probability)}`),
          probabilityBars(p.probabilities, meta.class_names), sweepChart(sweep, null, meta.class_names));
      } catch (err) {
        panel.replaceChildren(el("h2", {}, `${model} v${version}`), errorBox(err));
      }
    }));
  });
  main.append(form, out);
  form.requestSubmit();
}
