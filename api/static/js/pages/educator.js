// The educator dashboard: who needs you now, then Overview / Sections / Subjects / Students / Alerts.
import { alertQueue } from "./alerts.js";
import { barChart, trendLine } from "./charts.js";
import { connectLive } from "./live.js";
import { roster } from "./roster.js";
import { setupTabs } from "./tabs.js";
import { eventText } from "./words.js";
import {
  ago, api, date, debounce, emptyState, errorState, fill, h, learnerLink, NAMES, pct, ratioPct, RISK_WORDS, severityBadge,
} from "./util.js";

const SEVERITY_ORDER = { high: 0, medium: 1, low: 2 };
const NARROW = window.matchMedia("(max-width: 600px)").matches;

export async function educatorPage() {
  const [sections, rules] = await Promise.all([
    api("/api/v1/sections").then((r) => r.sections).catch(() => []),
    api("/api/v1/alerts/rules").then((r) => r.rules).catch(() => []),
  ]);
  await learnNames(sections);
  const queue = alertQueue({ rules, onChange: () => refreshAttention() });
  const students = roster({ sections, rules });
  const reports = {};
  const refreshAttention = debounce(() => attention(rules, reports), 400);
  const refreshOverview = debounce(async () => { await overview(sections, reports); refreshAttention(); }, 3000);
  const tabs = setupTabs(document.getElementById("tabs"), (name) => {
    if (name === "students") students.load();
  });
  const refreshLiveNow = debounce(() => liveNow(sections), 5000);
  await Promise.all([overview(sections, reports), subjects(sections), liveNow(sections)]);
  setInterval(() => liveNow(sections), 60000);  // sessions also end by themselves, when a pause grows too long
  sectionsTable(sections, reports);
  await Promise.all([queue.load(), attention(rules, reports)]);
  tabs.show(tabs.initial);
  connectLive({
    path: `/ws/performance/${encodeURIComponent(document.body.dataset.user)}`,  // the sections' channels
    onMessage: (message) => {
      const data = message.data || {};
      if (message.type === "alert" || message.type === "alert_resolved") { queue.live(message); refreshAttention(); }
      if (message.type === "activity") { (data.events || []).forEach((e) => liveFeed(e)); refreshLiveNow(); }
      if (message.type === "grade_update" || message.type === "attendance_update") liveFeed(data);
      if (["activity", "grade_update", "attendance_update", "metrics_update", "alert"].includes(message.type)) {
        students.changed();
        refreshOverview();
      }
    },
    onResync: () => { queue.load(); refreshOverview(); },
  });
  document.body.dataset.ready = "1";
}

// Names of the learners in the educator's sections, for alerts and the live feed.
async function learnNames(sections) {
  await Promise.all(sections.map(async (s) => {
    try {
      const page = await api(`/api/v1/sections/${encodeURIComponent(s.external_id)}/learners`);
      page.learners.forEach((l) => { if (l.name) NAMES[l.external_id] = l.name; });
    } catch (error) {
      // names are a nicety: ids still identify everyone
    }
  }));
}

// One row per learner who needs attention: their most serious alert first, then what else is open.
function personRow([learner, alerts]) {
  const titles = [...new Set(alerts.map((a) => a.title))];
  return h(`li.person.sev-${alerts[0].severity}`, { "data-learner": learner },
    severityBadge(alerts[0].severity),
    h("div.person-main", {}, h("strong", {}, learnerLink(learner)), h("span.person-why", { text: titles.join(" · ") })),
    h("span.card-note", { text: `${alerts.length} open · ${ago(alerts[0].created_at)}` }),
    h("a.btn.btn-small", { href: `/dashboard/learners/${encodeURIComponent(learner)}` }, "Review"));
}

async function attention(rules, reports) {
  const kinds = Object.fromEntries(rules.map((r) => [r.name, r.kind]));
  try {
    const page = await api("/api/v1/progress/performance-alerts/?status=open&limit=100");
    const urgent = page.alerts.filter((a) => kinds[a.rule] !== "achievement")
      .sort((a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] || b.id - a.id);
    const lowest = {};
    Object.values(reports).forEach((r) => r.low_performers.filter((p) => p.average < r.pass_mark).forEach((p) => {
      if (!(p.learner in lowest) || p.average < lowest[p.learner]) lowest[p.learner] = p.average;
    }));
    const below = Object.entries(lowest).sort((a, b) => a[1] - b[1]).map(([learner, average]) => ({ learner, average }));
    const red = Object.values(reports).reduce((n, r) => n + (r.risk.red || 0), 0);
    document.getElementById("attention-note").textContent =
      `${urgent.length} open alert${urgent.length === 1 ? "" : "s"} · ${red} learner${red === 1 ? "" : "s"} at risk`;
    document.getElementById("alerts-count").textContent = urgent.length ? String(urgent.length) : "";
    const people = new Map();
    urgent.forEach((a) => people.set(a.learner, [...(people.get(a.learner) || []), a]));
    const rows = [...people.entries()].sort((x, y) => SEVERITY_ORDER[x[1][0].severity] - SEVERITY_ORDER[y[1][0].severity] || y[1].length - x[1].length);
    fill("attention",
      rows.length ? h("ul.people", {}, rows.slice(0, 6).map(personRow))
        : emptyState("No open alerts. Nobody needs you urgently right now."),
      urgent.length ? h("p.see-all", {}, h("a", { href: "#alerts", id: "see-all-alerts", text: `See all ${urgent.length} open alerts` })) : null,
      below.length ? h("p.below", {}, h("strong", { text: "Below the pass mark: " }),
        below.map((p, i) => [i ? ", " : "", learnerLink(p.learner), ` (${pct(p.average)})`])) : null);
    const link = document.getElementById("see-all-alerts");
    if (link) link.addEventListener("click", () => document.getElementById("tab-alerts").click());
  } catch (error) {
    fill("attention", errorState(error));
  }
}

function riskPills(risk) {
  return h("div.pills", {}, ["red", "amber", "green"].map((light) =>
    h(`span.badge.risk-${light}`, {}, h("span.dot", { "aria-hidden": "true" }), `${risk[light] || 0} ${RISK_WORDS[light].toLowerCase()}`)));
}

function figure(label, value) {
  return h("div.figure", {}, h("span.figure-value", { text: value }), h("span.figure-label", { text: label }));
}

export function cohortCard(title, subtitle, r, links) {
  const bands = Object.entries(r.grade_distribution || {}).map(([label, value]) => ({ label, value, className: `band-${label.replace("+", "p")}` }));
  const weekly = (r.weekly_average || []).map((w) => ({ label: date(w.week_start).replace(/,? \d{4}$/, ""), value: w.average }));
  return h("article.card.cohort", {},
    h("div.card-head", {}, h("div", {}, h("h3.card-title", { text: title }), subtitle ? h("p.card-note", { text: subtitle }) : null), links || null),
    h("div.figures", {}, figure("learners", String(r.learners)), figure("average", pct(r.average)),
      figure(`pass rate (≥${r.pass_mark}%)`, ratioPct(r.pass_rate)), figure("attendance", pct(r.attendance_percent))),
    riskPills(r.risk || {}),
    h("div.cohort-charts", {},
      h("figure", {}, h("figcaption", { text: "Grade bands" }),
        barChart({ width: NARROW ? 340 : 432, bars: bands, label: `Grade distribution of ${title}: ${bands.map((b) => `${b.label} ${b.value}`).join(", ")}` })),
      h("figure", {}, h("figcaption", { text: "Weekly average" }),
        trendLine({ width: NARROW ? 340 : 432, series: weekly, label: `Weekly average score of ${title}` }))));
}

async function overview(sections, reports) {
  if (!sections.length) { fill("overview", emptyState("You have no sections yet. They appear once your platform assigns them to you.")); return; }
  const cards = await Promise.all(sections.map(async (s) => {
    try {
      reports[s.external_id] = await api(`/api/v1/sections/${encodeURIComponent(s.external_id)}/summary`);
      return cohortCard(s.name || s.external_id, [s.external_id, s.course].filter(Boolean).join(" · "), reports[s.external_id]);
    } catch (error) {
      return h("article.card", {}, h("h3.card-title", { text: s.name }), errorState(error));
    }
  }));
  fill("overview", cards);
}

function sectionsTable(sections, reports) {
  if (!sections.length) { fill("sections-table", emptyState("No sections.")); return; }
  const cell = (s, key, f) => (reports[s.external_id] ? f(reports[s.external_id][key]) : "—");
  const id = (s) => encodeURIComponent(s.external_id);
  fill("sections-table", h("table.table", {},
    h("thead", {}, h("tr", {}, ["Section", "Course", "Learners", "Average", "Pass rate", "Attendance", "At risk", "Downloads"]
      .map((t) => h("th", { scope: "col", text: t })))),
    h("tbody", {}, sections.map((s) => h("tr", {},
      h("th", { scope: "row" }, s.name || s.external_id, h("span.sub", { text: s.external_id })),
      h("td", { text: s.course || "—" }), h("td.num", { text: cell(s, "learners", String) }),
      h("td.num", { text: cell(s, "average", pct) }), h("td.num", { text: cell(s, "pass_rate", ratioPct) }),
      h("td.num", { text: cell(s, "attendance_percent", pct) }),
      h("td.num", { text: cell(s, "risk", (r) => String(r.red || 0)) }),
      h("td.links", {}, h("a", { href: `/api/v1/sections/${id(s)}/export.csv`, download: true, text: "CSV" }), " ",
        h("a", { href: `/api/v1/sections/${id(s)}/report.pdf`, download: true, text: "PDF" })))))));
}

async function subjects(sections) {
  const names = [...new Set(sections.map((s) => s.subject).filter(Boolean))];
  if (!names.length) return;
  document.getElementById("tab-subjects").hidden = false;
  const cards = await Promise.all(names.map(async (name) => {
    try {
      const r = await api(`/api/v1/subjects/${encodeURIComponent(name)}/analytics`);
      return cohortCard(name, "your sections of this subject", r);
    } catch (error) {
      return h("article.card", {}, h("h3.card-title", { text: name }), errorState(error));
    }
  }));
  fill("subjects", cards);
}

// Learners with an open learning session in any of the educator's sections (GET /sections/<id>/sessions).
async function liveNow(sections) {
  const pages = await Promise.all(sections.map((s) =>
    api(`/api/v1/sections/${encodeURIComponent(s.external_id)}/sessions?days=1`).then((r) => r.live_now).catch(() => [])));
  const live = [...new Map(pages.flat().map((row) => [row.learner, row])).values()];
  if (!live.length) { fill("live-now", h("li.empty", { text: "Nobody is in a session right now." })); return; }
  fill("live-now", live.map((row) => h("li.feed-item", { "data-learner": row.learner },
    h("span.feed-text", {}, learnerLink(row.learner, row.name), ` · ${row.events} event${row.events === 1 ? "" : "s"} in ${Math.round(row.minutes)} min`),
    h("time", { datetime: row.session_started, text: `since ${date(row.session_started, true)}` }))));
}

function liveFeed(event) {
  const feed = document.getElementById("live-feed");
  feed.querySelectorAll(".empty").forEach((el) => el.remove());
  feed.prepend(h("li.feed-item.fresh", { "data-event-id": event.id || "" },
    h("span.feed-text", {}, learnerLink(event.learner), " · ", eventText(event)),
    h("time", { datetime: event.occurred_at || "", text: date(event.occurred_at || event.date, true) })));
  while (feed.children.length > 25) feed.lastElementChild.remove();
}
