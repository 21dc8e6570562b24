// The therapist's dashboard: practice sorted by risk, alert inbox, a patient's live charts.
// Token and view live in the URL fragment (#token=…&patient=ID), never sent to the server.

import { HubConnection, restBase } from "./progress-hub.js";
import { renderInbox, renderPatient, renderPractice, renderHeatmap } from "./views.js";

const params = () => new URLSearchParams(location.hash.slice(1));
const token = params().get("token") || "";
const $ = (id) => document.getElementById(id);

const model = {
  role: null,
  sub: null,
  therapist: null,
  patients: new Map(),    // id -> progress document
  alerts: new Map(),      // key -> alert (section 7 object; v1 ones have no alert_id)
  series: null,           // REST series of the patient in view, moved by `series` messages
  seriesPatient: null,
  heatmap: null,
  errors: new Map(),      // alert key -> last acknowledgement error
  support: new Map(),     // patient id -> the last `support` message its channel carried
};

const hub = new HubConnection({
  token,
  onState: (state, detail) => {
    $("status").textContent = state === "live" ? "live" : detail || state;
    $("status").className = `status ${state}`;
    document.body.dataset.connection = state;
  },
  onWelcome: (welcome) => {
    $("status").dataset.connections = String(hub.connections);
    const fromFragment = params().get("therapist");
    model.role = welcome.role;
    model.sub = welcome.sub;
    if (welcome.role === "therapist") model.therapist = welcome.sub;
    else if (fromFragment) model.therapist = fromFragment;
    if (welcome.role === "patient") setView(welcome.sub);
    if (model.therapist) {
      hub.subscribe(`therapist:${model.therapist}`);
      loadAlerts();
    }
    $("choose-therapist").hidden = Boolean(model.therapist) || welcome.role === "patient";
    if (welcome.role === "patient") hub.subscribe(`patient:${welcome.sub}`);
    show();
  },
  onSubscribed: (frame) => {
    const [kind, id] = splitChannel(frame.channel);
    $("status").dataset.recovered = String(frame.recovered);
    if (kind === "therapist") {
      for (const patientId of frame.snapshot.patients || []) hub.subscribe(`patient:${patientId}`);
      for (const alert of frame.snapshot.open_alerts || []) keepAlert(alert);
    } else if (kind === "patient") {
      const zoneBefore = model.patients.get(id)?.timezone;
      model.patients.set(id, frame.snapshot);
      if (id === currentPatient()) {
        if (!frame.recovered) loadSeries(id);
        if (zoneBefore !== frame.snapshot.timezone) loadHeatmap(id);  // now in the patient's zone
      }
    }
    render();
  },
  onMessage: (frame) => {
    const [kind, id] = splitChannel(frame.channel);
    const data = frame.data;
    if (data.kind === "state" && kind === "patient") model.patients.set(id, data);
    else if (data.kind === "support" && kind === "patient") model.support.set(id, { ...data, received: Date.now() });
    else if (data.kind === "series" && id === model.seriesPatient) moveSeries(data);
    else if (["alert", "alert_updated", "alert_escalated"].includes(data.kind)) {
      keepAlert(data, `${frame.channel}:${frame.offset}`);
      if (!model.patients.has(data.patient_id)) hub.subscribe(`patient:${data.patient_id}`);
    }
    render();
  },
  onError: (frame) => console.warn("hub error", frame.code),
});

function splitChannel(channel) {
  const at = channel.indexOf(":");
  return [channel.slice(0, at), channel.slice(at + 1)];
}

function currentPatient() {
  return params().get("patient");
}

// An alert only moves forward (open -> acknowledged -> resolved, escalations up): a REST list
// or a redelivered copy that answers after a live `alert_updated` must not undo it.
const STATE_ORDER = { open: 0, acknowledged: 1, resolved: 2 };

function keepAlert(data, liveKey) {
  const key = data.alert_id || `live:${liveKey}`;
  const before = model.alerts.get(key);
  const state = data.state || "open";
  const newer = !before || STATE_ORDER[state] >= STATE_ORDER[before.state];
  const kept = newer ? { ...before, ...data, state } : { ...before };
  kept.escalations = Math.max(before?.escalations || 0, data.escalations || 0);
  model.alerts.set(key, { ...kept, key, received: before?.received || Date.now() });
}

async function rest(path, body) {
  const options = { headers: { Authorization: `Bearer ${token}` } };
  if (body !== undefined) {
    Object.assign(options, { method: "POST", body: JSON.stringify(body) });
    options.headers["Content-Type"] = "application/json";
  }
  const response = await fetch(`${restBase(hub.url)}${path}`, options);
  if (!response.ok) {
    const problem = await response.json().catch(() => ({}));
    throw Object.assign(new Error(problem.detail || `${response.status}`), { status: response.status });
  }
  return response.json();
}

async function loadAlerts() {
  try {
    const answer = await rest("/api/v1/alerts?state=all&limit=100");
    for (const alert of answer.alerts || []) keepAlert(alert);
    render();
  } catch (error) {
    // A hub before PROTOCOL.md section 7 has no alert list: live alerts still arrive.
  }
}

async function loadSeries(patientId) {
  try {
    model.series = await rest(`/api/v1/patients/${encodeURIComponent(patientId)}/series?days=14`);
    model.seriesPatient = patientId;
  } catch (error) {
    model.series = null;
  }
  render();
}

async function loadHeatmap(patientId) {
  const zone = model.patients.get(patientId)?.timezone || "UTC";
  // A therapist always reads its own practice; admin and service name the therapist.
  const practice = model.role !== "therapist" && model.therapist
    ? `&therapist_id=${encodeURIComponent(model.therapist)}` : "";
  try {
    model.heatmap = await rest(`/api/v1/analytics/heatmap?tz=${encodeURIComponent(zone)}${practice}`);
  } catch (error) {
    model.heatmap = null;
  }
  renderHeatmap(model);
}

function moveSeries(delta) {
  const series = model.series;
  if (!series) return;
  let index = series.time_buckets.indexOf(delta.bucket);
  if (index < 0) {
    if (delta.bucket < series.time_buckets[0]) return;  // older than the chart shows
    series.time_buckets.push(delta.bucket);
    for (const values of Object.values(series.series)) values.push(null);
    index = series.time_buckets.length - 1;
    if (series.time_buckets.length > 14) {
      series.time_buckets.shift();
      for (const values of Object.values(series.series)) values.shift();
      index -= 1;
    }
  }
  for (const [name, value] of Object.entries(delta.values)) {
    if (!series.series[name]) series.series[name] = series.time_buckets.map(() => null);
    series.series[name][index] = value;
  }
}

// Over the socket when it is live (`ok` lists the ids it changed; the stored alert follows as
// `alert_updated`), else over REST, which answers the alert itself. An id the frame did not
// change was acknowledged elsewhere meanwhile: REST answers it as it is, unchanged.
export async function acknowledge(key, note) {
  const alert = model.alerts.get(key);
  const path = `/api/v1/alerts/${encodeURIComponent(alert.alert_id)}/acknowledge`;
  try {
    let changed = false;
    if (hub.state === "live") {
      const reply = await hub.acknowledgeAlerts([alert.alert_id], note);
      changed = (reply.alert_ids || []).includes(alert.alert_id);
      // Until its `alert_updated` arrives (it may already have: then it is the newer copy).
      const now = model.alerts.get(key);
      if (changed && now.state === "open") {
        keepAlert({ ...now, state: "acknowledged", acknowledged_by: model.sub, acknowledged_at: new Date().toISOString(), note });
      }
    }
    if (!changed) keepAlert(await rest(path, note ? { note } : {}));
    model.errors.delete(key);
  } catch (error) {
    model.errors.set(key, `Not acknowledged: ${error.message || "no answer"}`);
  }
  render();
}

let pending = null;
function render() {
  if (pending) return;
  pending = setTimeout(() => {
    pending = null;
    const patient = currentPatient();
    if (patient) renderPatient(model, patient, acknowledge);
    else renderPractice(model, navigate);
    renderInbox(model, acknowledge, navigate);
  }, 40);
}

function navigate(patientId) {
  const next = new URLSearchParams(location.hash.slice(1));
  if (patientId) next.set("patient", patientId);
  else next.delete("patient");
  location.hash = next.toString();
}

function setView(patientId) {
  if (patientId && currentPatient() !== patientId) navigate(patientId);
}

let heatmapTimer = null;
function show() {
  const patient = currentPatient();
  $("practice-view").hidden = Boolean(patient);
  $("patient-view").hidden = !patient;
  clearInterval(heatmapTimer);
  if (patient) {
    if (!model.patients.has(patient)) hub.subscribe(`patient:${patient}`);
    if (model.seriesPatient !== patient) { model.series = null; loadSeries(patient); }
    loadHeatmap(patient);
    heatmapTimer = setInterval(() => loadHeatmap(patient), 15000);
  }
  render();
}

// New patients of the practice: the therapist channel's snapshot lists them on resubscribe.
setInterval(async () => {
  if (!model.therapist || hub.state !== "live") return;
  try {
    const overview = await rest("/api/v1/analytics/overview");
    if (overview.total_patients !== model.patients.size) hub.send(hub.subscribeFrame(`therapist:${model.therapist}`));
  } catch (error) { /* the next round tries again */ }
}, 10000);

window.addEventListener("hashchange", show);
$("to-practice").addEventListener("click", (event) => { event.preventDefault(); navigate(null); });
$("choose-therapist").addEventListener("submit", (event) => {
  event.preventDefault();
  const next = new URLSearchParams(location.hash.slice(1));
  next.set("therapist", $("therapist-id").value.trim());
  location.hash = next.toString();
  location.reload();
});
show();
