// The alert queue: filter, page, acknowledge with a note, and live arrivals and resolutions.
import { plain } from "./words.js";
import { ago, api, emptyState, errorState, fill, h, learnerLink, query, severityBadge } from "./util.js";

let onAcknowledged = () => {};

export function alertItem(a, options = {}) {
  const canAck = a.status === "open" && document.getElementById("ack-dialog");
  return h(`li.alert-item.sev-${a.severity}.status-${a.status}`, { "data-alert-id": a.id, "data-status": a.status },
    h("div.alert-head", {}, severityBadge(a.severity), h("strong", { text: a.title }),
      options.ownPage ? null : h("span.alert-who", {}, "· ", a.learner ? learnerLink(a.learner) : "—")),
    options.compact ? null : h("p", { text: plain(a.message) }),
    !options.compact && a.recommendations && a.recommendations.length
      ? h("p.card-note", { text: `Suggested: ${a.recommendations.join("; ")}` }) : null,
    h("div.alert-foot", {},
      h("time", { datetime: a.created_at, title: a.created_at, text: ago(a.created_at) }),
      h("span.status-word", { text: a.status }),
      canAck ? h("button.btn.btn-small", { type: "button", "data-ack": a.id, onclick: () => openAck(a) }, "Acknowledge") : null));
}

function openAck(alert) {
  const dialog = document.getElementById("ack-dialog");
  dialog.dataset.alertId = alert.id;
  document.getElementById("ack-summary").textContent = `${alert.title} · ${alert.learner || ""}`;
  document.getElementById("ack-note").value = "";
  document.getElementById("ack-error").hidden = true;
  dialog.showModal();
  document.getElementById("ack-note").focus();
}

export function setupDialog() {
  const dialog = document.getElementById("ack-dialog");
  if (!dialog || dialog.dataset.ready) return;
  dialog.dataset.ready = "1";
  document.getElementById("ack-cancel").addEventListener("click", () => dialog.close());
  document.getElementById("ack-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const id = dialog.dataset.alertId;
    const note = document.getElementById("ack-note").value.trim();
    const button = document.getElementById("ack-submit");
    button.disabled = true;
    try {
      const updated = await api(`/api/v1/alerts/${id}/acknowledge`, { method: "POST", json: note ? { note } : {} });
      document.querySelectorAll(`[data-alert-id="${id}"]`).forEach((el) => el.replaceWith(alertItem(updated, { ownPage: !el.querySelector(".alert-who") })));
      dialog.close();
      onAcknowledged(updated);
    } catch (error) {
      const box = document.getElementById("ack-error");
      box.textContent = error.message;
      box.hidden = false;
    } finally {
      button.disabled = false;
    }
  });
}

function filters() {
  const value = (id) => document.getElementById(id).value;
  return { status: value("alert-status"), severity: value("alert-severity"), types: value("alert-rule") };
}

function matches(alert, f) {
  return (!f.status || f.status.split(",").includes(alert.status))
    && (!f.severity || alert.severity === f.severity) && (!f.types || f.types.split(",").includes(alert.rule));
}

export function alertQueue({ rules, onChange }) {
  setupDialog();
  onAcknowledged = () => onChange && onChange();
  const ruleSelect = document.getElementById("alert-rule");
  const ofKind = (kind) => rules.filter((r) => r.kind === kind);
  ruleSelect.replaceChildren(
    h("option", { value: ofKind("alert").map((r) => r.name).join(","), selected: true, text: "Every alert (no achievements)" }),
    h("option", { value: "", text: "Alerts and achievements" }),
    h("optgroup", { label: "Alerts" }, ofKind("alert").map((r) => h("option", { value: r.name, text: r.title }))),
    h("optgroup", { label: "Achievements" }, ofKind("achievement").map((r) => h("option", { value: r.name, text: r.title }))));
  let before = null;
  const list = document.getElementById("alert-list");
  const more = document.getElementById("alert-more");
  const load = async (append = false) => {
    try {
      const page = await api(`/api/v1/progress/performance-alerts/${query({ ...filters(), limit: 15, before: append ? before : "" })}`);
      if (!append) list.replaceChildren();
      page.alerts.forEach((a) => list.append(alertItem(a)));
      if (!list.children.length) list.append(h("li.empty", { text: "No alerts match these filters." }));
      before = page.next_before;
      more.hidden = !before;
      const s = page.statistics;
      document.getElementById("alert-status-line").textContent =
        `${s.total} matching · ${s.total_last_week} in the last 7 days (${s.average_per_day} a day)`;
    } catch (error) {
      fill(list, h("li", {}, errorState(error)));
    }
  };
  document.getElementById("alert-filters").addEventListener("change", () => load());
  more.addEventListener("click", () => load(true));
  const live = (message) => {
    const data = message.data;
    if (message.type === "alert_resolved") {
      document.querySelectorAll(`[data-alert-id="${data.id}"]`).forEach((el) => {
        el.dataset.status = "resolved";
        el.classList.add("status-resolved");
        el.querySelector(".status-word").textContent = "resolved";
        const button = el.querySelector("[data-ack]");
        if (button) button.remove();
      });
      return;
    }
    const alert = { status: "open", ...data };
    if (!matches(alert, filters()) || list.querySelector(`[data-alert-id="${alert.id}"]`)) return;
    list.querySelectorAll(".empty").forEach((el) => el.remove());
    const item = alertItem(alert);
    item.classList.add("fresh");
    list.prepend(item);
  };
  return { load: () => load(), live };
}

// A read-only list (admin): newest open alerts, live.
export async function alertList(targetId, types) {
  try {
    const page = await api(`/api/v1/progress/performance-alerts/${query({ status: "open", types, limit: 8 })}`);
    fill(targetId, page.alerts.length ? page.alerts.map((a) => alertItem(a, { compact: true })) : h("li", {}, emptyState("No open alerts.")));
  } catch (error) {
    fill(targetId, h("li", {}, errorState(error)));
  }
}
