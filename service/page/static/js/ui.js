// Small DOM helpers shared by the views: element building, loading and error states.

/** el("button", {type: "button", onclick}, "Go") -> HTMLElement. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
    else if (key === "class") node.className = value;
    // Through the CSSOM: a style attribute would be inline style, which the page's
    // Content-Security-Policy (service/guard.py) blocks.
    else if (key === "style") node.style.cssText = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (value === true) node.setAttribute(key, "");
    else node.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function svgEl(tag, attrs = {}, ...children) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value !== undefined && value !== null) node.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) {
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
  }
  return node;
}

/** A labelled control: <label>text <input ...></label>. */
export function field(text, control) {
  return el("label", {}, text + " ", control);
}

/** Show a loading note in `box` while `promise` runs; on failure the API's message. */
export async function withLoading(box, promise, what = "Loading") {
  box.replaceChildren(el("p", { class: "loading" }, what));
  try {
    const value = await promise;
    box.replaceChildren();
    return value;
  } catch (err) {
    if (err.name === "AbortError") throw err;
    box.replaceChildren(errorBox(err));
    throw err;
  }
}

export function errorBox(err) {
  return el("p", { class: "error", role: "alert" }, `Error: ${err.message}`);
}

/** Page-wide status line (aria-live): errors that belong to no panel. */
export function status(message, isError = false) {
  const box = document.getElementById("status");
  box.replaceChildren(message ? el("p", { class: isError ? "error" : "muted" }, message) : "");
}

export function formatP(p) {
  return (p * 100).toFixed(p >= 0.9995 || p < 0.0005 ? 1 : 2) + "%";
}

/** Runs `fn` at most every `ms` milliseconds, trailing call included (while drawing);
 * `.cancel()` drops a pending trailing call. */
export function throttle(fn, ms) {
  let timer = null;
  let last = 0;
  const throttled = (...args) => {
    const wait = Math.max(0, last + ms - performance.now());
    clearTimeout(timer);
    timer = setTimeout(() => {
      last = performance.now();
      fn(...args);
    }, wait);
  };
  throttled.cancel = () => clearTimeout(timer);
  return throttled;
}
