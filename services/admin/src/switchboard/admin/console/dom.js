// DOM helpers. Every piece of data goes into the page as text (text nodes, textContent, attributes),
// never as markup, so a message or a model's answer cannot inject anything.

/**
 * An element with `props` and `children`. Props: `class`, `style` (an object), `on<event>`
 * (a listener), anything else an attribute (`true`: present and empty; null/undefined/false: absent).
 * Children: nodes, or strings and numbers (as text nodes); null/undefined/false are skipped; arrays are flattened.
 */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "style") Object.assign(node.style, value);
    else if (name.startsWith("on") && typeof value === "function") node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  return fill(node, ...children);
}

/** Replace what `node` holds with `children` (as `el` takes them: null/undefined/false skipped, strings as text). */
export function fill(node, ...children) {
  node.replaceChildren();
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

/** A link to a console route such as `#/activation/<id>`. */
export function routeLink(route, text, props = {}) {
  return el("a", { href: `#/${route}`, ...props }, text);
}

export function activationHref(id) {
  return `#/activation/${encodeURIComponent(id)}`;
}

/** Local wall-clock time of an epoch-seconds instant: `14:03:07`. */
export function clock(epochSeconds) {
  if (!Number.isFinite(epochSeconds)) return "";
  return new Date(epochSeconds * 1000).toLocaleTimeString([], { hour12: false });
}

/** Local date and time of an epoch-seconds instant. */
export function dateTime(epochSeconds) {
  if (!Number.isFinite(epochSeconds)) return "";
  return new Date(epochSeconds * 1000).toLocaleString([], { hour12: false });
}

/** A duration for people: `820 ms`, `3.41 s`, `2 min 5 s`. */
export function duration(seconds) {
  if (!Number.isFinite(seconds)) return "";
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 120) return `${seconds.toFixed(2)} s`;
  return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
}

/** A badge for an activation's outcome (`replied`, `failed`, ...); no outcome yet: `running`. */
export function outcomeBadge(outcome, props = {}) {
  const shown = outcome || "running";
  return el("span", { class: `badge outcome outcome-${shown}`, "data-outcome": shown, ...props }, shown);
}

/**
 * A collapsible view of a JSON value: objects and arrays are `<details>` (open to `openDepth`),
 * strings keep their line breaks.
 */
export function jsonTree(value, openDepth = 1, depth = 0) {
  if (value === null || typeof value !== "object") {
    const type = value === null ? "null" : typeof value;
    return el("span", { class: `json-${type}` }, type === "string" ? value : JSON.stringify(value));
  }
  const entries = Array.isArray(value) ? value.map((item, index) => [index, item]) : Object.entries(value);
  if (entries.length === 0) return el("span", { class: "json-empty" }, Array.isArray(value) ? "[]" : "{}");
  const label = Array.isArray(value) ? `[ ${entries.length} items ]` : `{ ${entries.length} keys }`;
  return el("details", { class: "json", open: depth < openDepth },
    el("summary", {}, label),
    el("ul", {}, entries.map(([key, item]) =>
      el("li", {}, el("span", { class: "json-key" }, `${key}: `), jsonTree(item, openDepth, depth + 1)))));
}

/** A closed section that shows `value` as indented JSON text. */
export function rawJson(value, title = "raw JSON", props = {}) {
  return el("details", { class: "raw", ...props },
    el("summary", {}, title), el("pre", {}, JSON.stringify(value, null, 2)));
}

/** A `<dl>` of [term, value, testid?] rows; a value may be a node. Rows with an empty value are left out. */
export function facts(rows) {
  return el("dl", { class: "facts" }, rows
    .filter(([, value]) => value !== null && value !== undefined && value !== "")
    .map(([term, value, testid]) => [el("dt", {}, term), el("dd", { "data-testid": testid }, value)]));
}

/** An error line (`role=alert`) with the message of `error`. */
export function errorLine(error, props = {}) {
  return el("p", { class: "error", role: "alert", ...props }, String(error?.message ?? error));
}
