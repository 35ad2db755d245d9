// The learner view: own dashboard (learner) and the drill-down page (educators, admins).
import { meter, scoreChart } from "./charts.js";
import { connectLive } from "./live.js";
import { alertItem, setupDialog } from "./alerts.js";
import { learnerDetails } from "./learner_detail.js";
import { learnerWording, factorText, eventText, plain, RISK_SENTENCE } from "./words.js";
import {
  api, date, debounce, emptyState, errorState, fill, h, isNum, num, pct, query, ratioPct, riskBadge,
} from "./util.js";

export async function learnerPage(body) {
  const id = body.dataset.learner;
  const you = body.dataset.self === "1";
  const base = `/api/v1/learners/${encodeURIComponent(id)}`;
  const rules = await api("/api/v1/alerts/rules").then((r) => r.rules).catch(() => []);
  const kinds = Object.fromEntries(rules.map((r) => [r.name, r.kind]));
  let deadline = "";
  const report = async () => loadScores(base, await loadReport(base, deadline, you));
  const refresh = debounce(report, 1500);
  document.getElementById("deadline-form").addEventListener("submit", (event) => {
    event.preventDefault();
    deadline = document.getElementById("deadline").value;
    report();
  });
  await Promise.all([report(), loadAlerts(id, kinds, you), loadActivity(base), loadAchievements(id)]);
  if (!you) learnerDetails(id, base);
  const onMessage = (message) => {
    const data = message.data || {};
    if (data.learner && data.learner !== id) return;
    if (message.type === "activity") { prependEvents(data.events || []); refresh(); }
    if (message.type === "grade_update" || message.type === "attendance_update") { prependEvents([data]); refresh(); }
    if (message.type === "metrics_update") refresh();
    if (message.type === "alert" || message.type === "alert_resolved") loadAlerts(id, kinds, you);
    if (message.type === "achievement") prependAchievement(data);
  };
  // The page loads everything over REST, so it follows the learner's channel without initial data.
  connectLive({ path: "/ws", channels: [`learner:${id}`], onMessage, onResync: refresh });
  document.body.dataset.ready = "1";
}

async function loadReport(base, deadline, you) {
  try {
    const report = await api(`${base}/analytics${query({ deadline })}`);
    renderRisk(report.risk, you);
    renderKpis(report.metrics);
    renderCourses(report.completion, deadline);
    renderMastery(report.mastery);
    renderForecastNote(report.forecast, report.trend);
    return report.forecast;
  } catch (error) {
    fill("risk-body", errorState(error));
    return null;
  }
}

function renderRisk(risk, you) {
  const light = risk.light || "grey";
  const worrying = light === "amber" || light === "red";
  const factors = worrying ? (risk.top_factors || []).filter((f) => f.contribution > 0).slice(0, 3) : [];
  fill("risk-body",
    h("div.risk-head", {}, riskBadge(light), h("span.risk-prob", { text: riskProbability(risk, light) })),
    h("p.risk-sentence", { text: RISK_SENTENCE[you ? "learner" : "educator"][light] }),
    factors.length
      ? h("ul.factors", { "aria-label": "What drives this" }, factors.map((f) => h("li", { text: factorText(f, you).text })))
      : null);
  document.getElementById("risk-card").dataset.light = light;
}

function riskProbability(risk, light) {
  if (!isNum(risk.probability) || light === "grey") return "";
  return risk.probability < 0.01 ? "low risk" : `${ratioPct(risk.probability)} chance of falling behind`;
}

function kpi(label, value, hint) {
  return h("div.kpi", {}, h("span.kpi-label", { text: label }), h("span.kpi-value", { text: value }), hint ? h("span.kpi-hint", { text: hint }) : null);
}

function renderKpis(m) {
  const streak = isNum(m.current_streak) ? `${m.current_streak} day${m.current_streak === 1 ? "" : "s"}` : "—";
  fill("kpis",
    kpi("Average score", pct(m.average_score), isNum(m.recent_average) ? `recent ${pct(m.recent_average)}` : null),
    kpi("Streak", streak, isNum(m.longest_streak) ? `best ${m.longest_streak}` : null),
    kpi("Engagement", isNum(m.engagement) ? `${num(m.engagement)}/100` : "—", isNum(m.activities_per_day) ? `${num(m.activities_per_day, 1)} activities/day` : null),
    kpi("Attendance", pct(m.attendance_percent), null));
}

function renderForecastNote(forecast, trend) {
  const note = document.getElementById("forecast-note");
  if (!forecast || !isNum(forecast.predicted_score)) { note.textContent = "Not enough scores for a forecast yet."; return; }
  const [low, high] = forecast.interval || [];
  note.textContent = `In ${forecast.horizon_days} days: about ${pct(forecast.predicted_score)}`
    + (isNum(low) ? ` (likely ${pct(low)}–${pct(Math.min(100, high))}, ${Math.round(forecast.level * 100)}% range)` : "")
    + (trend && trend.direction ? ` · trend ${trend.direction}` : "");
}

async function loadScores(base, f) {
  try {
    const page = await api(`${base}/events?kind=assessment&limit=40`);
    const points = page.events.reverse().filter((e) => isNum(e.score))
      .map((e) => ({ t: Date.parse(e.occurred_at), y: (100 * e.score) / (e.max_score || 100) }));
    if (!points.length) { fill("score-chart", emptyState("No assessments yet.")); return; }
    const last = points[points.length - 1].t;
    const forecast = f && isNum(f.predicted_score)
      ? { t: Math.max(last, Date.now()) + f.horizon_days * 86400000, y: f.predicted_score, low: f.interval[0], high: f.interval[1] } : null;
    const narrow = document.getElementById("score-chart").clientWidth < 560;
    fill("score-chart", scoreChart({ points, forecast, passMark: 60, width: narrow ? 380 : 760, height: narrow ? 240 : 230,
      label: `Last ${points.length} assessment scores${forecast ? `, with a forecast of ${pct(forecast.y)} in ${f.horizon_days} days` : ""}` }),
    h("p.legend", {}, h("span.key.key-line", { "aria-hidden": "true" }), "scores ", h("span.key.key-band", { "aria-hidden": "true" }), "forecast range ",
      h("span.key.key-pass", { "aria-hidden": "true" }), "pass mark"));
  } catch (error) {
    fill("score-chart", errorState(error));
  }
}

function renderCourses(completion, deadline) {
  if (!completion || !completion.length) { fill("courses", emptyState("No course progress yet.")); return; }
  fill("courses", h("ul.courses", {}, completion.map((c) => {
    const share = c.modules_total ? (100 * c.modules_completed) / c.modules_total : null;
    const chance = isNum(c.probability_by_deadline) && deadline
      ? h("span.chance", { text: `${ratioPct(c.probability_by_deadline)} chance to finish by ${date(deadline)}` }) : null;
    return h("li.course", {},
      h("div.course-head", {}, h("strong", { text: c.course }), h("span", { text: `${c.modules_completed}/${c.modules_total || "?"} modules · ${pct(share)}` })),
      meter(c.modules_completed, c.modules_total || 1, `${c.modules_completed} of ${c.modules_total} modules done`),
      h("p.course-forecast", {}, c.modules_total && c.modules_completed >= c.modules_total
        ? "All modules completed." : c.predicted_completion
        ? `Expected to finish ${date(c.predicted_completion)} (between ${date(c.interval[0])} and ${date(c.interval[1])})`
        : "No finish date yet: no recent progress.", chance ? " · " : "", chance));
  })));
}

function renderMastery(mastery) {
  if (!mastery || !mastery.length) { fill("mastery", emptyState("No skills practised yet.")); return; }
  fill("mastery", h("ul.mastery", {}, mastery.map((m) => h("li", {},
    h("span.skill", { text: m.skill }),
    meter(m.p_mastery, 1, `${m.skill}: ${Math.round(m.p_mastery * 100)}% mastery`),
    h("span.skill-value", { text: m.mastered ? "Mastered" : `${Math.round(m.p_mastery * 100)}%` })))));
}

async function loadAlerts(id, kinds, you) {
  try {
    const page = await api(`/api/v1/progress/performance-alerts/${query({ learner: id, status: "open,acknowledged", limit: 20 })}`);
    if (!page.alerts.length) { fill("learner-alerts", emptyState(you ? "Nothing to flag right now." : "No open alerts.")); return; }
    if (!you) {
      setupDialog();
      fill("learner-alerts", h("ul.alert-list", {}, page.alerts.map((a) => alertItem(a, { ownPage: true }))));
      return;
    }
    fill("learner-alerts", h("ul.alert-list.compact", {}, page.alerts.map((a) => {
      const kind = kinds[a.rule] || "alert";
      const words = you ? learnerWording(a, kind) : { title: a.title, text: plain(a.message) };
      return h(`li.alert-item.kind-${kind}`, { "data-alert-id": a.id },
        h("div.alert-head", {}, kind === "achievement" ? h("span.badge.achievement", { text: "achievement" }) : h("span.badge.tip", { text: "tip" }),
          h("strong", { text: words.title })),
        h("p", { text: words.text }), h("p.card-note", { text: `${date(a.created_at)} · ${a.status}` }));
    })));
  } catch (error) {
    fill("learner-alerts", errorState(error));
  }
}

async function loadAchievements(id) {
  try {
    const page = await api(`/api/v1/achievements${query({ learner: id, limit: 12 })}`);
    const list = fill("achievements");
    if (!page.achievements.length) list.append(h("li.empty", { text: "None yet: keep going!" }));
    page.achievements.forEach((a) => list.append(achievementItem(a)));
  } catch (error) {
    fill("achievements", h("li", {}, errorState(error)));
  }
}

function achievementItem(a) {
  return h("li.feed-item", { "data-achievement-id": a.id },
    h("span.feed-text", {}, h("span.badge.achievement", { text: "achievement" }), " ", a.title),
    h("time", { datetime: a.achieved_at, text: date(a.achieved_at) }));
}

function prependAchievement(a) {
  const list = document.getElementById("achievements");
  if (!a.id || list.querySelector(`[data-achievement-id="${a.id}"]`)) return;  // resent on resume: once
  list.querySelectorAll(".empty, .loading").forEach((el) => el.remove());
  const item = achievementItem(a);
  item.classList.add("fresh");
  list.prepend(item);
  while (list.children.length > 12) list.lastElementChild.remove();
}

async function loadActivity(base) {
  try {
    const page = await api(`${base}/events?limit=12`);
    const feed = fill("activity-feed");
    if (!page.events.length) feed.append(h("li.empty", { text: "No activity yet." }));
    page.events.forEach((e) => feed.append(eventItem(e)));
  } catch (error) {
    fill("activity-feed", h("li", {}, errorState(error)));
  }
}

function eventItem(event) {
  return h("li.feed-item", { "data-event-id": event.id || "" },
    h("span.feed-text", { text: eventText(event) }),
    h("time", { datetime: event.occurred_at || "", text: date(event.occurred_at || event.date, true) }));
}

function prependEvents(events) {
  const feed = document.getElementById("activity-feed");
  feed.querySelectorAll(".empty, .loading").forEach((el) => el.remove());
  events.forEach((e) => {
    if (e.id && feed.querySelector(`[data-event-id="${CSS.escape(e.id)}"]`)) return; // read as the page opened
    const item = eventItem(e);
    item.classList.add("fresh");
    feed.prepend(item);
  });
  while (feed.children.length > 30) feed.lastElementChild.remove();
}
