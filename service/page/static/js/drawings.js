// Which digits model reads drawings best: chosen from each digits model's stored
// `robustness` evaluation on the held-out canvas set (GET .../metrics?kind=robustness),
// so the page opens on it and Predict says which it is and how well it reads drawings.
import { api } from "./api.js";
import { el, formatP } from "./ui.js";

/** The task whose models read drawn digits, and the held-out set that measures it. */
export const DRAWING_TASK = "digits";
export const DRAWING_SET = "canvas";

/** {model, accuracy} of the best digits model on the canvas set, or null if none has it. */
export async function bestForDrawings(models) {
  const candidates = models.filter((m) => m.task === DRAWING_TASK);
  const scores = await Promise.all(candidates.map(async (m) => {
    try {
      const body = await api.metrics(m.name, null, "robustness");
      const row = body.evaluations.find((e) => e.dataset === DRAWING_SET);
      return row ? { model: m.name, accuracy: row.data.accuracy } : null;
    } catch {
      return null; // no metrics for this one (or none stored yet): it is not a candidate
    }
  }));
  return scores.filter(Boolean).reduce((best, s) => (!best || s.accuracy > best.accuracy ? s : best), null);
}

/** The line on Predict naming the model that reads drawings best (null off the digits task). */
export function drawingLine(pick, manifest, onSwitch) {
  if (!pick || manifest.task !== DRAWING_TASK) return null;
  const line = el("p", { id: "drawing-pick", class: "muted", dataset: { model: pick.model, accuracy: pick.accuracy } },
    `${pick.model}: reads ${formatP(pick.accuracy)} of canvas-drawn digits`,
    pick.model === manifest.name ? " (the digits model that reads drawings best)" : " (the best at drawings) ");
  if (pick.model !== manifest.name) {
    line.append(el("button", { type: "button", id: "drawing-pick-use", onclick: () => onSwitch(pick.model) }, `Use ${pick.model}`));
  }
  return line;
}
