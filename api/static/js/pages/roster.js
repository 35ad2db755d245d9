// The Students tab: one section's roster, sortable, filterable (section, risk, rule, text), paged.
// Sorting and filters go to GET /sections/<id>/learners; the page also applies them to the rows it got,
// so the table behaves the same whether or not the server supports a parameter yet.
import { api, debounce, DASH, errorState, fill, h, isNum, learnerLink, num, pct, query, riskBadge, trendWord } from "./util.js";

const PAGE_SIZE = 25;
const RISK_RANK = { red: 0, amber: 1, green: 2, grey: 3 };
const TREND_RANK = { declining: 0, stable: 1, improving: 2 };

function sortValue(row, key) {
  const value = row[key];
  if (key === "risk_light") return value in RISK_RANK ? RISK_RANK[value] : null;
  if (key === "trend_direction") return value in TREND_RANK ? TREND_RANK[value] : null;
  if (key === "name") return (row.name || row.external_id || "").toLowerCase();
  return value === undefined ? null : value;
}

function compare(key, order) {
  const sign = order === "desc" ? -1 : 1;
  return (a, b) => {
    const x = sortValue(a, key);
    const y = sortValue(b, key);
    if (x === null || y === null) return x === y ? 0 : x === null ? 1 : -1;  // unknowns last
    return (x < y ? -1 : x > y ? 1 : 0) * sign;
  };
}

function keep(row, f) {
  const text = f.q.toLowerCase();
  return (!f.risk || !("risk_light" in row) || row.risk_light === f.risk)
    && (!f.rule || !("open_alert_rules" in row) || (row.open_alert_rules || []).includes(f.rule))
    && (!text || `${row.name || ""} ${row.external_id}`.toLowerCase().includes(text));
}

function rowOf(r) {
  const alerts = isNum(r.open_alerts) ? String(r.open_alerts) : DASH;
  const probability = isNum(r.risk_probability) && r.risk_light !== "grey" ? `${Math.round(r.risk_probability * 100)}%` : "";
  return h("tr", { "data-learner": r.external_id },
    h("th", { scope: "row" }, learnerLink(r.external_id, r.name || r.external_id), r.name ? h("span.sub", { text: r.external_id }) : null),
    h("td", { "data-col": "risk_light" }, r.risk_light ? riskBadge(r.risk_light, probability) : DASH),
    h("td.num", { "data-col": "average", text: pct(r.average) }),
    h("td.num", { "data-col": "recent_average", text: pct(r.recent_average) }),
    h("td", { "data-col": "trend_direction", text: trendWord(r.trend_direction) }),
    h("td.num", { "data-col": "engagement", text: num(r.engagement) }),
    h("td.num", { "data-col": "attendance_percent", text: pct(r.attendance_percent) }),
    h("td.num", { "data-col": "open_alerts", title: (r.open_alert_rules || []).join(", ") || null, text: alerts }),
    h("td", { "data-col": "status", text: r.status || DASH }));
}

// Columns no row has (an older server) are hidden rather than shown as a wall of dashes.
function showKnownColumns(table, rows) {
  const known = new Set(rows.flatMap((r) => Object.keys(r)));
  table.querySelectorAll("th[data-sort], td[data-col]").forEach((cell) => {
    const key = cell.dataset.sort || cell.dataset.col;
    cell.hidden = key !== "name" && rows.length > 0 && !known.has(key);
  });
}

export function roster({ sections, rules }) {
  const el = (id) => document.getElementById(id);
  const state = { sort: "name", order: "asc", cursors: [""], index: 0, loaded: false };
  sections.forEach((s) => el("roster-section").append(h("option", { value: s.external_id, text: s.name || s.external_id })));
  rules.filter((r) => r.kind === "alert").forEach((r) => el("roster-rule").append(h("option", { value: r.name, text: r.title })));
  const filters = () => ({ section: el("roster-section").value, risk: el("roster-risk").value, rule: el("roster-rule").value, q: el("roster-q").value.trim() });

  const load = async () => {
    const f = filters();
    state.loaded = true;
    if (!f.section) { fill("roster-body", h("tr", {}, h("td", { colspan: 9, text: "You have no sections yet." }))); return; }
    const id = encodeURIComponent(f.section);
    el("roster-csv").href = `/api/v1/sections/${id}/export.csv`;
    el("roster-pdf").href = `/api/v1/sections/${id}/report.pdf`;
    const params = { sort: state.sort, order: state.order, risk: f.risk, rule: f.rule, q: f.q, limit: PAGE_SIZE, cursor: state.cursors[state.index] };
    try {
      const page = await api(`/api/v1/sections/${id}/learners${query(params)}`);
      const rows = page.learners.filter((r) => keep(r, f)).sort(compare(state.sort, state.order));
      fill("roster-body", rows.length ? rows.map(rowOf) : h("tr", {}, h("td.empty", { colspan: 9, text: "No students match these filters." })));
      showKnownColumns(el("roster-table"), page.learners);
      const next = page.next_cursor || null;
      state.cursors[state.index + 1] = next;
      el("roster-next").disabled = !next;
      el("roster-prev").disabled = state.index === 0;
      el("roster-status").textContent = `Showing ${rows.length} student${rows.length === 1 ? "" : "s"}${state.index ? ` (page ${state.index + 1})` : ""}.`;
      el("roster-table").dataset.loaded = String(Date.now());
    } catch (error) {
      fill("roster-body", h("tr", {}, h("td", { colspan: 9 }, errorState(error))));
    }
  };
  const restart = () => { state.cursors = [""]; state.index = 0; load(); };
  el("roster-filters").addEventListener("change", restart);
  el("roster-filters").addEventListener("submit", (event) => { event.preventDefault(); restart(); });
  el("roster-q").addEventListener("input", debounce(restart, 250));
  el("roster-next").addEventListener("click", () => { state.index += 1; load(); });
  el("roster-prev").addEventListener("click", () => { state.index = Math.max(0, state.index - 1); load(); });
  el("roster-table").querySelectorAll("th[data-sort] button").forEach((button) => {
    button.addEventListener("click", () => {
      const th = button.parentElement;
      const key = th.dataset.sort;
      state.order = state.sort === key && state.order === "asc" ? "desc" : "asc";
      state.sort = key;
      el("roster-table").querySelectorAll("th[data-sort]").forEach((other) => other.setAttribute("aria-sort", "none"));
      th.setAttribute("aria-sort", state.order === "asc" ? "ascending" : "descending");
      restart();
    });
  });
  const changed = debounce(() => { if (state.loaded && !el("panel-students").hidden) load(); }, 4000);
  return { load: () => (state.loaded ? null : load()), changed };
}
