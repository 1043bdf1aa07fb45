// The page's shell: the model/version picker, the hash router (#/digits/sweep?version=2)
// and the current input shared by the views. Each view is one module under views/.
import { api } from "./api.js";
import { bestForDrawings } from "./drawings.js";
import { el, errorBox, status } from "./ui.js";

const VIEWS = ["predict", "inside", "sweep", "metrics", "map", "compare"];
const loaders = {
  predict: () => import("./views/predict.js"),
  inside: () => import("./views/inside.js"),
  sweep: () => import("./views/sweep.js"),
  metrics: () => import("./views/metrics.js"),
  map: () => import("./views/map.js"),
  compare: () => import("./views/compare.js"),
};

/** Shared by every view: the model, its manifest, and the input the model last saw. */
export const state = {
  models: [],
  model: null,
  version: null, // null: the model's default version
  manifest: null,
  manifestKey: null, // "model@version" the manifest was loaded for
  drawingPick: null, // {model, accuracy}: the digits model that reads drawings best (drawings.js)
  input: null, // {instance, source, label?} in the model's value range, as it saw it
  view: "predict",
  generation: 0, // bumped on every route: async work of a left view stops at its next step
};

const modelSelect = document.getElementById("model-select");
const versionSelect = document.getElementById("version-select");
const main = document.getElementById("view");
let cleanup = null;
let renderToken = 0;

export function parseHash(hash) {
  const [path, search = ""] = hash.replace(/^#\/?/, "").split("?");
  const [model = null, view = null] = path.split("/").filter(Boolean).map(decodeURIComponent);
  const version = new URLSearchParams(search).get("version");
  return { model, view: VIEWS.includes(view) ? view : "predict", version: version ? Number(version) : null };
}

export function hashFor(model, view, version) {
  return `#/${encodeURIComponent(model)}/${view}` + (version ? `?version=${version}` : "");
}

/** Go to another view (and optionally model/version) through the URL, so it deep-links. */
export function navigate(view, { model = state.model, version = state.version } = {}) {
  const target = hashFor(model, view, version);
  if (location.hash === target) route();
  else location.hash = target;
}

/** The model's input contract helpers every view needs. */
export function inputSpec() {
  return state.manifest.input;
}

export function isImage() {
  return state.manifest.input.kind === "image";
}

/** Colour input (an imported RGB model): drawing ink on paper makes no sense there. */
export function isColour() {
  const shape = state.manifest.input.shape;
  return isImage() && shape.length === 3 && shape[2] === 3;
}

/** Whether the version came with a test split (an imported model may come without data). */
export function hasTestSet() {
  return (state.manifest.dataset.split?.test || 0) > 0;
}

export function testSet() {
  return `${state.manifest.dataset.name}-test`;
}

/** True while the view that started some async work is still the one shown. */
export function stillShown(generation) {
  return generation === state.generation;
}

export function setInput(instance, source, extra = {}) {
  state.input = { instance, source, model: state.manifest.name, ...extra };
}

/** The current input, or the test set's first example when there is none yet. */
export async function currentInput() {
  if (state.input && state.input.model !== state.manifest.name) state.input = null;
  if (!state.input) {
    const generation = state.generation;
    const example = await api.example(testSet(), 0);
    if (!stillShown(generation)) throw new DOMException("view left", "AbortError");
    setInput(example.instance, `${example.dataset} #${example.index}`, { label: example.label });
  }
  return state.input;
}

async function loadModels() {
  const body = await api.models();
  state.models = body.models;
  modelSelect.replaceChildren(...state.models.map((m) => el("option", { value: m.name }, m.name)));
  if (!state.models.length) throw new Error("the service has no models loaded");
}

function fillVersions() {
  const entry = state.models.find((m) => m.name === state.model);
  const versions = entry ? entry.versions : [];
  versionSelect.replaceChildren(
    el("option", { value: "" }, `default (${entry ? entry.default_version : "?"})`),
    ...versions.map((v) => el("option", { value: String(v) }, `v${v}`)),
  );
  versionSelect.value = state.version ? String(state.version) : "";
}

async function route() {
  const token = ++renderToken;
  state.generation = token;
  const wanted = parseHash(location.hash);
  const opening = state.drawingPick?.model ?? state.models[0].name;
  const model = state.models.some((m) => m.name === wanted.model) ? wanted.model : opening;
  if (model !== wanted.model) {
    history.replaceState(null, "", hashFor(model, wanted.view, wanted.version));
  }
  // Compared with the manifest actually loaded, not with state.model: a route superseded
  // while its manifest was loading has already set state.model.
  const key = `${model}@${wanted.version ?? "default"}`;
  const changed = state.manifestKey !== key;
  state.model = model;
  state.version = wanted.version;
  state.view = wanted.view;
  modelSelect.value = model;
  fillVersions();
  for (const a of document.querySelectorAll("#tabs a")) {
    a.href = hashFor(model, a.dataset.view, state.version);
    if (a.dataset.view === state.view) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  if (cleanup) cleanup();
  cleanup = null;
  main.replaceChildren(el("p", { class: "loading" }, "Loading"));
  try {
    if (changed) {
      const manifest = await api.manifest(model, state.version);
      if (token !== renderToken) return;
      if (state.manifest && state.manifest.name !== manifest.name) state.input = null;
      state.manifest = manifest;
      state.manifestKey = key;
    }
    const module = await loaders[state.view]();
    if (token !== renderToken) return;
    main.replaceChildren();
    document.title = `${state.view[0].toUpperCase()}${state.view.slice(1)} · ${model} · layerlens`;
    cleanup = (await module.render(main)) || null;
  } catch (err) {
    if (token === renderToken) main.replaceChildren(errorBox(err));
  }
}

modelSelect.addEventListener("change", () => navigate(state.view, { model: modelSelect.value, version: null }));
versionSelect.addEventListener("change", () =>
  navigate(state.view, { version: versionSelect.value ? Number(versionSelect.value) : null }),
);
document.getElementById("refresh-models").addEventListener("click", async () => {
  try {
    await loadModels();
    state.manifest = null;
    state.manifestKey = null;
    status(`${state.models.length} models loaded`);
    await route();
  } catch (err) {
    status(`Error: ${err.message}`, true);
  }
});
window.addEventListener("hashchange", route);

async function start() {
  try {
    await loadModels();
    state.drawingPick = await bestForDrawings(state.models).catch(() => null);
    await route();
  } catch (err) {
    main.replaceChildren(errorBox(err));
  }
}
start();
