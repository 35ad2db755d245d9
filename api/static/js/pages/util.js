// Small helpers every page module shares: element building, REST calls, formatting, risk words.

const csrfMeta = document.querySelector('meta[name="csrf-token"]');
export const CSRF = csrfMeta ? csrfMeta.content : "";

// h("div.card#id", {attrs}, children...): build an element without innerHTML (no injection).
export function h(tag, attrs, ...children) {
  const [name, ...rest] = tag.split(/(?=[.#])/);
  const el = document.createElement(name || "div");
  rest.forEach((part) => {
    if (part[0] === ".") el.classList.add(part.slice(1));
    else el.id = part.slice(1);
  });
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

export function svg(tag, attrs, ...children) {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

function setAttrs(el, attrs) {
  Object.entries(attrs || {}).forEach(([key, value]) => {
    if (value === null || value === undefined || value === false) return;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "text") el.textContent = value;
    else el.setAttribute(key, value === true ? "" : value);
  });
}

function append(el, children) {
  children.flat(Infinity).forEach((child) => {
    if (child === null || child === undefined || child === false) return;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  });
}

export function fill(target, ...children) {
  const el = typeof target === "string" ? document.getElementById(target) : target;
  if (!el) return null;
  el.replaceChildren();
  append(el, children);
  return el;
}

export class HttpError extends Error {
  constructor(status, body) {
    super((body && body.error && body.error.message) || `request failed (${status})`);
    this.status = status;
    this.body = body;
  }
}

// Call our REST API with the session cookie; unsafe methods carry the CSRF token.
export async function api(path, options = {}) {
  const method = options.method || "GET";
  const headers = { Accept: "application/json" };
  if (method !== "GET") headers["X-CSRF-Token"] = CSRF;
  let body;
  if (options.json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(options.json);
  }
  const response = await fetch(path, { method, headers, body, credentials: "same-origin" });
  if (response.status === 401) sessionEnded();
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) throw new HttpError(response.status, data);
  return data;
}

export function query(params) {
  const search = new URLSearchParams();
  Object.entries(params).forEach(([k, v]) => {
    if (v !== "" && v !== null && v !== undefined) search.set(k, v);
  });
  const text = search.toString();
  return text ? `?${text}` : "";
}

let endedShown = false;
export function sessionEnded() {
  if (endedShown) return;
  endedShown = true;
  const banner = h("div.banner", { role: "alert" },
    "Your session has ended. ", h("a", { href: "/signin", text: "Sign in again" }), " to keep the page up to date.");
  document.body.prepend(banner);
}

export const DASH = "—";
export const isNum = (v) => typeof v === "number" && Number.isFinite(v);
export const pct = (v, digits = 0) => (isNum(v) ? `${v.toFixed(digits)}%` : DASH);
export const ratioPct = (v) => (isNum(v) ? `${Math.round(v * 100)}%` : DASH);
export const num = (v, digits = 0) => (isNum(v) ? v.toFixed(digits) : DASH);

export function date(value, withTime = false) {
  if (!value) return DASH;
  const d = new Date(value.length === 10 ? `${value}T00:00:00Z` : value);
  if (Number.isNaN(d.getTime())) return DASH;
  const opts = { day: "numeric", month: "short", year: "numeric", timeZone: value.length === 10 ? "UTC" : undefined };
  if (withTime) Object.assign(opts, { hour: "2-digit", minute: "2-digit" });
  return d.toLocaleString(undefined, opts);
}

export function ago(value) {
  const d = new Date(value);
  const seconds = Math.round((Date.now() - d.getTime()) / 1000);
  if (!Number.isFinite(seconds)) return DASH;
  if (seconds < 45) return "just now";
  const units = [["day", 86400], ["hour", 3600], ["minute", 60]];
  for (const [unit, size] of units) {
    if (Math.abs(seconds) >= size) {
      const n = Math.round(seconds / size);
      return `${n} ${unit}${n === 1 ? "" : "s"} ago`;
    }
  }
  return `${seconds} seconds ago`;
}

export const RISK_WORDS = {
  red: "At risk",
  amber: "Watch",
  green: "On track",
  grey: "Not enough data",
};

// A risk light is never colour alone: a shaped dot plus its word.
export function riskBadge(light, extra) {
  const key = RISK_WORDS[light] ? light : "grey";
  return h(`span.badge.risk-${key}`, {},
    h("span.dot", { "aria-hidden": "true" }), RISK_WORDS[key], extra ? ` ${extra}` : "");
}

export function severityBadge(severity) {
  return h(`span.badge.sev-${severity || "low"}`, { text: severity || "low" });
}

export function trendWord(direction) {
  return { improving: "↗ improving", declining: "↘ declining", stable: "→ stable" }[direction] || DASH;
}

// Learner names the page has learned (from rosters), so ids read as people.
export const NAMES = {};

export function learnerLink(id, label) {
  return h("a", { href: `/dashboard/learners/${encodeURIComponent(id)}`, text: label || NAMES[id] || id });
}

export function emptyState(text) {
  return h("p.empty", { text });
}

export function errorState(error) {
  return h("p.error-state", { role: "alert", text: `Could not load this: ${error.message}` });
}

// Run `fn` at most once per `wait` ms, trailing (live updates arrive in bursts).
export function debounce(fn, wait) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), wait);
  };
}
