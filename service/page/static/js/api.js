// The page's only door to the service: the public HTTP API, like any other client.
// Every failure becomes an ApiError carrying the API's own {"error"} message.

export class ApiError extends Error {
  constructor(message, status, code) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function request(path, { method = "GET", json, form, signal } = {}) {
  const options = { method, signal, headers: {} };
  if (json !== undefined) {
    options.body = JSON.stringify(json);
    options.headers["content-type"] = "application/json";
  } else if (form !== undefined) {
    options.body = form;
  }
  let response;
  try {
    response = await fetch(path, options);
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(`the service did not answer (${err.message})`, 0, "network");
  }
  const text = await response.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!response.ok) {
    const message = body && body.error ? body.error : `HTTP ${response.status}`;
    throw new ApiError(message, response.status, body && body.code);
  }
  return body;
}

/** `/v1/models/digits` or `/v1/models/digits/versions/2`. */
export function modelPath(model, version) {
  const base = `/v1/models/${encodeURIComponent(model)}`;
  return version ? `${base}/versions/${version}` : base;
}

function query(params) {
  const entries = Object.entries(params).filter(([, v]) => v !== undefined && v !== null);
  return entries.length ? "?" + new URLSearchParams(entries).toString() : "";
}

/** What a prediction is asked about: {instances} (JSON) or {files: [Blob]} (upload). */
function inputBody(input) {
  if (input.files) {
    const form = new FormData();
    input.files.forEach((blob, i) => form.append("files", blob, blob.name || `input-${i}.png`));
    return { form };
  }
  return { json: { instances: input.instances } };
}

export const api = {
  models: () => request("/v1/models"),
  manifest: (m, v) => request(modelPath(m, v)),
  predict: (m, v, input, { includeInput = false, topK, ood = false, signal } = {}) =>
    request(
      `${modelPath(m, v)}:predict${query({ include_input: includeInput ? "true" : null, top_k: topK, ood: ood ? "true" : null })}`,
      { method: "POST", signal, ...inputBody(input) },
    ),
  embed: (m, v, input, layer, { signal } = {}) =>
    request(`${modelPath(m, v)}:embed${query({ layer })}`, { method: "POST", signal, ...inputBody(input) }),
  head: (m, v, embeddings, { signal } = {}) =>
    request(`${modelPath(m, v)}:head`, { method: "POST", signal, json: { embeddings } }),
  interpolate: (m, v, body, { signal } = {}) =>
    request(`${modelPath(m, v)}:interpolate`, { method: "POST", signal, json: body }),
  metrics: (m, v, kind) => request(`${modelPath(m, v)}/metrics${query({ kind })}`),
  cellExamples: (m, v, t, p, start, num) =>
    request(`${modelPath(m, v)}/metrics/examples${query({ true: t, predicted: p, start, num, instances: "true" })}`),
  weights: (m, v, layer) => request(`${modelPath(m, v)}/weights${query({ layer })}`),
  example: (ref, index) => request(`/v1/datasets/${encodeURIComponent(ref)}/${index}`),
  examples: (ref, start, num) =>
    request(`/v1/datasets/${encodeURIComponent(ref)}${query({ start, num })}`),
};

// Why an answer (docs/explain.md): attributions and the nearest examples of a split.
// `params` are the routes' query parameters ({method, target, k, ...}).
api.explain = (m, v, input, params = {}, { signal } = {}) =>
  request(`${modelPath(m, v)}:explain${query(params)}`, { method: "POST", signal, ...inputBody(input) });
api.neighbors = (m, v, input, params = {}, { signal } = {}) =>
  request(`${modelPath(m, v)}:neighbors${query(params)}`, { method: "POST", signal, ...inputBody(input) });
// The maps: the service fits PCA and the trainer t-SNE/UMAP per model version, so the page
// only draws. `map` is {method, layer}; absent, the service's default (PCA of the embedding).
Object.assign(api, {
  projection: (m, v, map = {}) => request(`${modelPath(m, v)}/projection${query(map)}`),
  projectionPoints: (m, v, num, seed, { signal, map = {}, ood = false } = {}) =>
    request(`${modelPath(m, v)}/projection/points${query({ num, seed, ...map, ood: ood ? "true" : null })}`, { signal }),
  project: (m, v, input, { signal, map = {} } = {}) =>
    request(`${modelPath(m, v)}:project${query(map)}`, { method: "POST", signal, ...inputBody(input) }),
});
