// What an educator or admin sees below the learner view: alert history, grades, attendance.
import { api, date, emptyState, errorState, fill, h, num, query, severityBadge } from "./util.js";

function table(headers, rows) {
  return h("table.table", {},
    h("thead", {}, h("tr", {}, headers.map((t) => h("th", { scope: "col", text: t })))),
    h("tbody", {}, rows.map((cells) => h("tr", {}, cells.map((c) => h("td", {}, c))))));
}

export async function learnerDetails(id, base) {
  await Promise.all([alertHistory(id), grades(base), attendance(base)]);
}

async function alertHistory(id) {
  try {
    const page = await api(`/api/v1/progress/performance-alerts/${query({ learner: id, limit: 50 })}`);
    if (!page.alerts.length) { fill("alert-history", emptyState("No alerts so far.")); return; }
    fill("alert-history", table(["Raised", "Alert", "Severity", "Status", "Acknowledged", "Resolved"],
      page.alerts.map((a) => [date(a.created_at, true), a.title, severityBadge(a.severity), a.status,
        date(a.acknowledged_at, true), date(a.resolved_at, true)])));
  } catch (error) {
    fill("alert-history", errorState(error));
  }
}

async function grades(base) {
  try {
    const page = await api(`${base}/events?kind=grade&limit=50`);
    if (!page.events.length) { fill("grades", emptyState("No grades recorded.")); return; }
    fill("grades", table(["Date", "Exam", "Marks", "Subject"],
      page.events.map((e) => [date(e.occurred_at), e.exam || "—", num(e.marks, 1), e.subject || "—"])));
  } catch (error) {
    fill("grades", errorState(error));
  }
}

async function attendance(base) {
  try {
    const page = await api(`${base}/events?kind=attendance&limit=60`);
    if (!page.events.length) { fill("attendance", emptyState("No attendance recorded.")); return; }
    const present = page.events.filter((e) => e.status === "present").length;
    fill("attendance",
      h("p.card-note", { text: `Present ${present} of the last ${page.events.length} recorded days.` }),
      table(["Date", "Status", "Section"], page.events.slice(0, 14).map((e) => [date(e.date || e.occurred_at), h(`span.att-${e.status}`, { text: e.status }), e.section || "—"])));
  } catch (error) {
    fill("attendance", errorState(error));
  }
}
