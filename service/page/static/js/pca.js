// Two principal components of a set of vectors, by power iteration with deflation on the
// centred data (no covariance matrix: cost O(iterations * n * d)). Deterministic start.

/** Stop iterating once the direction moves less than this (1 - cos of the angle). */
const TOLERANCE = 1e-7;

export function pca2(rows, iterations = 100) {
  const n = rows.length;
  const d = rows[0].length;
  const mean = new Float64Array(d);
  for (const r of rows) for (let j = 0; j < d; j++) mean[j] += r[j] / n;
  const X = rows.map((r) => Float64Array.from(r, (v, j) => v - mean[j]));
  const components = [];
  for (let c = 0; c < 2; c++) {
    let v = Float64Array.from({ length: d }, (_, j) => 1 + ((j * 7919) % 13) / 13);
    for (let it = 0; it < iterations; it++) {
      const next = new Float64Array(d);
      for (const x of X) {
        let s = 0;
        for (let j = 0; j < d; j++) s += x[j] * v[j];
        for (let j = 0; j < d; j++) next[j] += s * x[j];
      }
      for (const u of components) { // deflate: stay orthogonal to the found components
        let s = 0;
        for (let j = 0; j < d; j++) s += next[j] * u[j];
        for (let j = 0; j < d; j++) next[j] -= s * u[j];
      }
      let norm = 0;
      for (let j = 0; j < d; j++) norm += next[j] * next[j];
      norm = Math.sqrt(norm) || 1;
      let agree = 0;
      for (let j = 0; j < d; j++) {
        next[j] /= norm;
        agree += next[j] * v[j];
      }
      v = next;
      if (it > 2 && 1 - Math.abs(agree) < TOLERANCE) break; // converged
    }
    components.push(v);
  }
  const project = (r) => components.map((u) => { let s = 0; for (let j = 0; j < d; j++) s += (r[j] - mean[j]) * u[j]; return s; });
  return { mean, components, project, points: rows.map(project) };
}
