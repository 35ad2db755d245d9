// The admin dashboard: health, alert statistics, threshold overrides, newest alerts, learner lookup.
import { alertList } from "./alerts.js";
import { barChart } from "./charts.js";
import { connectLive } from "./live.js";
import { api, debounce, emptyState, errorState, fill, h, num } from "./util.js";

export async function adminPage() {
  const rules = await api("/api/v1/alerts/rules").then((r) => r.rules).catch(() => []);
  document.getElementById("health-refresh").addEventListener("click", health);
  document.getElementById("lookup-form").addEventListener("submit", (event) => {
    event.preventDefault();
    location.assign(`/dashboard/learners/${encodeURIComponent(document.getElementById("lookup-id").value.trim())}`);
  });
  thresholdForm(rules);
  const types = rules.filter((r) => r.kind === "alert").map((r) => r.name).join(",");
  await Promise.all([health(), stats(rules), thresholds(), alertList("admin-alerts", types)]);
  const refresh = debounce(() => { stats(rules); alertList("admin-alerts", types); }, 1500);
  connectLive({
    path: "/ws/alerts/",
    onMessage: (message) => { if (message.type === "alert" || message.type === "alert_resolved") refresh(); },
    onResync: refresh,
  });
  document.body.dataset.ready = "1";
}

function describe(value) {
  if (Array.isArray(value)) return value.map(describe).join(", ") || "none";
  if (value && typeof value === "object") return Object.entries(value).map(([k, v]) => `${k.replace(/_/g, " ")} ${describe(v)}`).join(", ");
  return String(value);
}

function checkRow(name, check) {
  const ok = check && check.ok;
  const details = Object.entries(check || {}).filter(([k]) => k !== "ok")
    .map(([k, v]) => `${k.replace(/_/g, " ")}: ${describe(v)}`);
  return h("li.check", { "data-check": name },
    h(`span.badge.${ok === false ? "risk-red" : "risk-green"}`, {}, h("span.dot", { "aria-hidden": "true" }), ok === false ? "down" : "ok"),
    h("strong", { text: name.replace(/_/g, " ") }), h("span.card-note", { text: details.join(" · ") }));
}

async function health() {
  try {
    const response = await fetch("/health", { headers: { Accept: "application/json" } });
    const body = await response.json();
    fill("health",
      h("p.health-status", { "data-status": body.status }, "Overall: ", h("strong", { text: body.status })),
      h("ul.checks", {}, Object.entries(body.checks || {}).map(([name, check]) => checkRow(name, check))));
  } catch (error) {
    fill("health", errorState(error));
  }
}

async function stats(rules) {
  const titles = Object.fromEntries(rules.map((r) => [r.name, r.title]));
  try {
    const s = await api("/api/v1/alerts/statistics");
    const bars = ["high", "medium", "low"].map((k) => ({ label: k, value: s.by_severity[k] || 0, className: `sev-${k}` }));
    const byRule = Object.entries(s.frequency).sort((a, b) => b[1] - a[1]);
    fill("alert-stats",
      h("div.figures", {}, ...[["total", s.total], ["open", s.by_status.open || 0], ["last 7 days", s.total_last_week], ["a day", num(s.average_per_day, 1)]]
        .map(([label, value]) => h("div.figure", {}, h("span.figure-value", { text: String(value) }), h("span.figure-label", { text: label })))),
      h("figure", {}, h("figcaption", { text: "By severity" }), barChart({ bars, label: `Alerts by severity: ${bars.map((b) => `${b.label} ${b.value}`).join(", ")}`, height: 140 })),
      byRule.length ? h("ul.rule-counts", {}, byRule.map(([rule, n]) => h("li", {}, h("span", { text: titles[rule] || rule }), h("strong", { text: String(n) })))) : emptyState("No alerts raised yet."));
  } catch (error) {
    fill("alert-stats", errorState(error));
  }
}

async function thresholds() {
  try {
    const { overrides } = await api("/api/v1/admin/thresholds");
    if (!overrides.length) { fill("thresholds", emptyState("No overrides: every rule uses its default.")); return; }
    fill("thresholds", h("table.table", {},
      h("thead", {}, h("tr", {}, ["Rule", "Parameter", "Applies to", "Value", ""].map((t) => h("th", { scope: "col", text: t })))),
      h("tbody", {}, overrides.map((o) => h("tr", { "data-override": o.id },
        h("td", { text: o.rule }), h("td", { text: o.parameter }),
        h("td", { text: o.scope_type === "global" ? "everyone" : `${o.scope_type} ${o.scope}` }), h("td.num", { text: String(o.value) }),
        h("td", {}, h("button.btn.btn-small.btn-quiet", { type: "button", onclick: () => removeOverride(o) }, "Remove")))))));
  } catch (error) {
    fill("thresholds", errorState(error));
  }
}

async function removeOverride(override) {
  try {
    await api(`/api/v1/admin/thresholds/${override.id}`, { method: "DELETE" });
  } finally {
    thresholds();
  }
}

function thresholdForm(rules) {
  const el = (id) => document.getElementById(id);
  const byName = Object.fromEntries(rules.map((r) => [r.name, r]));
  rules.forEach((r) => el("th-rule").append(h("option", { value: r.name, text: r.title })));
  const params = () => {
    const defaults = (byName[el("th-rule").value] || {}).defaults || {};
    fill("th-parameter", Object.entries(defaults).map(([p, v]) => h("option", { value: p, text: `${p.replace(/_/g, " ")} (default ${v})` })));
  };
  el("th-rule").addEventListener("change", params);
  el("th-scope-type").addEventListener("change", () => { el("th-scope").disabled = el("th-scope-type").value === "global"; });
  params();
  el("threshold-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { rule: el("th-rule").value, parameter: el("th-parameter").value, scope_type: el("th-scope-type").value, value: Number(el("th-value").value) };
    if (body.scope_type !== "global") body.scope = el("th-scope").value.trim();
    try {
      await api("/api/v1/admin/thresholds", { method: "PUT", json: body });
      el("th-error").hidden = true;
      el("th-value").value = "";
      thresholds();
    } catch (error) {
      const details = (error.body && error.body.error && error.body.error.details) || [];
      el("th-error").textContent = [error.message, ...details.map((d) => `${d.path}: ${d.reason}`)].join(" · ");
      el("th-error").hidden = false;
    }
  });
}
