// Rendering of the dashboard's three parts from its model (see dashboard.js).

import { barChart, heatmap, lineChart } from "./charts.js";
import {
  GAD7_BANDS, PHQ9_BANDS, alertTitle, factorInWords, latestMeasure, relativeDay, severityWords,
  topFactors,
} from "./words.js";

const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") element.className = value;
    else if (key.startsWith("data-")) element.setAttribute(key, value);
    else element[key] = value;
  }
  element.append(...children.filter((child) => child !== null && child !== undefined));
  return element;
}

function openAlerts(model, patientId) {
  return [...model.alerts.values()].filter((a) => a.patient_id === patientId && a.state === "open");
}

function measureCell(progress, instrument) {
  const latest = latestMeasure(progress, instrument);
  if (!latest) return el("td", { class: "muted" }, "—");
  return el("td", {}, el("span", { class: `badge band-${latest.severity}` }, `${latest.total} ${severityWords(latest.severity)}`));
}

export function renderPractice(model, navigate) {
  const rows = [...model.patients.entries()].map(([id, progress]) => {
    const alerts = openAlerts(model, id);
    const critical = alerts.filter((a) => a.severity === "critical").length;
    const risk = progress.dropout_risk || { score: 0, level: "low" };
    return { id, progress, alerts, critical, priority: critical * 100 + (alerts.length - critical) * 10 + risk.score };
  });
  rows.sort((a, b) => b.priority - a.priority || a.id.localeCompare(b.id));
  $("practice-name").textContent = model.therapist ? `of ${model.therapist}` : "";
  $("practice-empty").hidden = rows.length > 0;
  const drawn = rows.map(({ id, progress, alerts, critical, priority }) => {
    const risk = progress.dropout_risk || { score: 0, level: "low", factors: [] };
    const streak = progress.streak || { current: 0, longest: 0, last_active_day: null };
    const why = topFactors(risk).map(factorInWords);
    const row = el("tr", { "data-patient": id, "data-priority": priority.toFixed(3), tabIndex: 0 },
      el("td", {}, el("a", { href: "#", class: "patient-link" }, id)),
      el("td", {}, el("span", { class: `badge risk-${risk.level}` }, `${risk.level} ${Math.round(risk.score * 100)}%`)),
      el("td", { class: "why" }, why.length ? why.join("; ") : "—"),
      el("td", {}, `${streak.current} d`, el("small", {}, ` best ${streak.longest}`)),
      el("td", {}, relativeDay(streak.last_active_day)),
      measureCell(progress, "PHQ-9"),
      measureCell(progress, "GAD-7"),
      el("td", {}, alerts.length
        ? el("span", { class: `badge ${critical ? "critical" : "warning"}` }, String(alerts.length))
        : el("span", { class: "muted" }, "0")),
    );
    const open = (event) => { event.preventDefault(); navigate(id); };
    row.addEventListener("click", open);
    row.addEventListener("keydown", (event) => { if (event.key === "Enter") open(event); });
    return row;
  });
  // Unchanged rows are left in place (see redrawIfChanged): a click on a row must not be lost.
  const body = $("practice-body");
  redrawIfChanged(body, drawn.map((row) => row.outerHTML).join(""), () => body.replaceChildren(...drawn));
}

/** Open first, critical before warning, most escalated, then newest. */
function inboxOrder(alerts) {
  return [...alerts].sort((a, b) =>
    (a.state === "open" ? 0 : 1) - (b.state === "open" ? 0 : 1)
    || (a.severity === "critical" ? 0 : 1) - (b.severity === "critical" ? 0 : 1)
    || (b.escalations || 0) - (a.escalations || 0)
    || (b.raised_at || "").localeCompare(a.raised_at || "") || b.received - a.received);
}

function when(instant) {
  return new Date(instant).toLocaleString([], { dateStyle: "short", timeStyle: "short" });
}

function alertItem(model, alert, acknowledge, navigate) {
  const escalated = alert.escalations > 0;
  const item = el("li", { class: `alert sev-${alert.severity} ${alert.state}${escalated ? " is-escalated" : ""}`,
                          "data-code": alert.code, "data-state": alert.state,
                          "data-alert": alert.alert_id || "", "data-escalations": String(alert.escalations || 0) },
    el("div", { class: "alert-head" },
      el("strong", {}, alertTitle(alert.code)),
      navigate ? el("a", { href: "#", class: "patient-link" }, alert.patient_id) : null,
      escalated ? el("span", { class: "badge escalated", title: "still open after the escalation delay" },
                     `escalated ×${alert.escalations}`) : null,
      el("span", { class: `badge state state-${alert.state}` }, alert.state)),
    el("div", { class: "detail" }, alert.detail || ""),
    alert.raised_at ? el("small", {}, `raised ${when(alert.raised_at)}`) : null,
    alert.acknowledged_at
      ? el("small", { class: "acknowledged-by" }, ` · ${alert.state} by ${alert.acknowledged_by} ${when(alert.acknowledged_at)}`)
      : null,
    alert.note ? el("div", { class: "note" }, `Note: ${alert.note}`) : null);
  item.querySelector(".patient-link")?.addEventListener("click", (event) => { event.preventDefault(); navigate(alert.patient_id); });
  if (alert.state === "open" && alert.alert_id) item.append(ackForm(alert, acknowledge));
  else if (alert.state === "open") item.append(el("small", { class: "muted" }, "live alert: this hub does not record acknowledgements"));
  const error = model.errors.get(alert.key);
  if (error) item.append(el("div", { class: "error", role: "alert" }, error));
  return item;
}

// A list of alerts is redrawn only when what it shows changed: a busy practice sends many
// messages a second, and a button replaced between press and release loses the click.
function shown(model, alerts) {
  return JSON.stringify(alerts.map((a) => [a.key, a.state, a.escalations, a.detail, a.note,
                                           a.acknowledged_by, a.acknowledged_at, model.errors.get(a.key)]));
}

const lastShown = new WeakMap();  // element -> signature of what it shows

function redrawIfChanged(list, signature, redraw) {
  if (lastShown.get(list) === signature) return;
  lastShown.set(list, signature);
  keepTyping(redraw);
}

export function renderInbox(model, acknowledge, navigate) {
  const alerts = inboxOrder(model.alerts.values()).slice(0, 100);
  const open = [...model.alerts.values()].filter((a) => a.state === "open");
  const escalated = open.filter((a) => a.escalations > 0).length;
  $("inbox-count").textContent = (open.length ? `${open.length} open` : "none open") + (escalated ? `, ${escalated} escalated` : "");
  $("inbox-empty").hidden = alerts.length > 0;
  redrawIfChanged($("inbox"), shown(model, alerts), () => $("inbox").replaceChildren(
    ...alerts.map((alert) => alertItem(model, alert, acknowledge, navigate))));
}

function ackForm(alert, acknowledge) {
  const note = el("input", { type: "text", placeholder: "What you did", class: "ack-note", maxLength: 2000,
                             "aria-label": "Note for the acknowledgement" });
  note.value = drafts.get(alert.key) || "";
  note.dataset.key = alert.key;
  note.addEventListener("input", () => drafts.set(alert.key, note.value));
  const button = el("button", { type: "submit", class: "ack" }, "Acknowledge");
  const form = el("form", { class: "ack-form" }, note, button);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    button.disabled = true;
    drafts.delete(alert.key);
    acknowledge(alert.key, note.value.trim() || null);
  });
  return form;
}

// The inbox is redrawn as messages arrive (many a second in a busy practice): a note being
// typed survives each redraw, with the cursor where it was.
const drafts = new Map();

function keepTyping(redraw) {
  const active = document.activeElement;
  const typing = active?.classList.contains("ack-note") ? active : null;
  const where = typing && { key: typing.dataset.key, inInbox: Boolean(typing.closest("#inbox")),
                            start: typing.selectionStart, end: typing.selectionEnd };
  redraw();
  if (!where) return;
  const scope = where.inInbox ? "#inbox" : "#patient-alert-list";
  const again = [...document.querySelectorAll(`${scope} input.ack-note`)].find((i) => i.dataset.key === where.key);
  if (again) { again.focus(); again.setSelectionRange(where.start, where.end); }
}

function figure(label, value, detail = "") {
  return el("div", { class: "figure" }, el("b", {}, String(value)), label, detail ? el("small", {}, detail) : null);
}

function renderPatientAlerts(model, patientId, acknowledge) {
  const alerts = inboxOrder([...model.alerts.values()].filter((a) => a.patient_id === patientId)).slice(0, 10);
  const support = model.support.get(patientId);
  $("patient-alerts").hidden = !alerts.length && !support;
  redrawIfChanged($("patient-alert-list"), shown(model, alerts), () => $("patient-alert-list").replaceChildren(
    ...alerts.map((alert) => alertItem(model, alert, acknowledge, null))));
  $("patient-support").hidden = !support;
  if (support) {
    $("patient-support-message").textContent = support.message;
    $("patient-support-resources").replaceChildren(...(support.resources || []).map((r) =>
      el("li", {}, el("strong", {}, r.name), ` — ${r.contact}`)));
  }
}

export function renderPatient(model, patientId, acknowledge) {
  const progress = model.patients.get(patientId);
  $("patient-title").textContent = patientId;
  renderPatientAlerts(model, patientId, acknowledge);
  if (!progress) return;
  const e = progress.engagement || {};
  const risk = progress.dropout_risk || { level: "low", score: 0, factors: [] };
  const streak = progress.streak || {};
  $("patient-figures").replaceChildren(
    figure("Completed sessions", progress.total_sessions ?? 0),
    figure("Minutes", Math.round(e.total_minutes || 0)),
    figure("Current streak", `${streak.current || 0} d`, `best ${streak.longest || 0}`),
    figure("Dropout risk", risk.level, `${Math.round(risk.score * 100)}%`),
    figure("Mood trend", progress.mood_trend?.trend || "—"),
    figure("Goals done", `${progress.goals?.completed || 0}/${progress.goals?.total || 0}`),
  );
  const factors = (risk.factors || []).filter((f) => f.contribution > 0);
  $("patient-factors").replaceChildren(...(factors.length
    ? factors.sort((a, b) => b.contribution - a.contribution).map((f) => el("li", {}, factorInWords(f)))
    : [el("li", { class: "muted" }, "Nothing points to dropping out.")]));
  $("patient-milestones").replaceChildren(...((progress.milestones || []).length
    ? progress.milestones.map((m) => el("li", {}, el("strong", {}, m.title), ` ${m.achieved_at.slice(0, 10)}`))
    : [el("li", { class: "muted" }, "No milestone yet.")]));
  $("patient-insights").replaceChildren(...((progress.insights || []).length
    ? progress.insights.map((i) => el("li", {}, i.message))
    : [el("li", { class: "muted" }, "No recommendation right now.")]));
  renderCharts(model, patientId);
}

function renderCharts(model, patientId) {
  const series = model.seriesPatient === patientId ? model.series : null;
  if (!series) return;
  const days = series.time_buckets;
  const s = series.series;
  barChart($("chart-activity"), days, s.activity_count || [], { label: "Activity per day" });
  barChart($("chart-minutes"), days, s.minutes || [], { label: "Minutes per day", unit: " min" });
  lineChart($("chart-mood"), days, [
    { name: "before", values: s.mood_pre || [] }, { name: "after", values: s.mood_post || [] },
  ], { label: "Mood before and after sessions", min: 0, max: 10 });
  const phq = s.phq9_total;
  const gad = s.gad7_total;
  if (phq || gad) {
    $("measures-none").hidden = true;
    lineChart($("chart-phq9"), days, [{ name: "PHQ-9", values: phq || [] }],
      { label: "PHQ-9 total", min: 0, max: 27, bands: PHQ9_BANDS });
    lineChart($("chart-gad7"), days, [{ name: "GAD-7", values: gad || [] }],
      { label: "GAD-7 total", min: 0, max: 21, bands: GAD7_BANDS });
  } else {
    $("measures-none").hidden = false;
  }
}

export function renderHeatmap(model) {
  const data = model.heatmap;
  if (!data) {
    $("chart-heatmap").replaceChildren(el("p", { class: "muted" }, "No activity to map yet."));
    return;
  }
  heatmap($("chart-heatmap"), data.days, data.matrix, { label: `Activity by weekday and hour (${data.tz})` });
  $("heatmap-peak").textContent = data.peak_day ? `busiest: ${data.peak_day} ${data.peak_hour}:00 (${data.tz})` : "";
}
