// progress-hub browser client: one WebSocket to the hub that reconnects with jittered,
// growing delays and resumes each channel from its last position (PROTOCOL.md section 4).
//
//   import { HubConnection } from "/static/progress-hub.js";
//   const hub = new HubConnection({ token, onMessage: (m) => ..., onSubscribed: (s) => ... });
//   hub.subscribe("patient:p1");
//   await hub.publish([{ kind: "mood_checkin", patient_id: "p1", at: new Date().toISOString(), score: 6 }]);
//
// Subscriptions go out without a `ref`, so their `subscribed` answers arrive in order with the
// messages: a channel's position always moves before the messages that follow. A message at or
// below the position was already handed over and is dropped. `onSubscribed` with
// `recovered: false` means the snapshot stands in for whatever was missed: redraw from it.
// Published events wait in an outbox (memory, or localStorage under `outboxKey`) until an
// `ack` lists them as accepted or duplicate; rejected ones go to `onRejected` and are dropped.

const INITIAL_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 15000;
const MAX_BATCH = 100;
const UNAUTHORIZED = 4001;

export function uuid7() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let ms = Date.now();
  for (let i = 5; i >= 0; i--) { bytes[i] = ms % 256; ms = Math.floor(ms / 256); }
  bytes[6] = (bytes[6] & 0x0f) | 0x70;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function restBase(wsUrl) {
  const url = new URL(wsUrl);
  return `${url.protocol === "wss:" ? "https:" : "http:"}//${url.host}`;
}

export class HubConnection {
  constructor({ url, token, outboxKey = null, onState = () => {}, onWelcome = () => {},
                onSubscribed = () => {}, onMessage = () => {}, onError = () => {},
                onRejected = () => {} }) {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    this.url = url || `${scheme}://${location.host}/ws`;
    this.token = token;
    this.handlers = { onState, onWelcome, onSubscribed, onMessage, onError, onRejected };
    this.positions = new Map();      // channel -> {epoch, offset} | null
    this.waiting = new Map();        // ref -> {resolve, reject}
    this.refs = 0;
    this.failures = 0;
    this.socket = null;
    this.stopped = false;
    this.state = "connecting";
    this.connections = 0;
    this.outboxKey = outboxKey;
    this.outbox = outboxKey ? JSON.parse(localStorage.getItem(outboxKey) || "[]") : [];
    this.sending = false;
    this.connect();
  }

  setState(state, detail = "") {
    this.state = state;
    this.handlers.onState(state, detail);
  }

  connect() {
    this.setState(this.connections ? "reconnecting" : "connecting");
    const socket = new WebSocket(`${this.url}?token=${encodeURIComponent(this.token)}`, "progress.v1.json");
    this.socket = socket;
    socket.onmessage = (event) => this.receive(JSON.parse(event.data));
    socket.onclose = (event) => this.closed(socket, event.code);
  }

  closed(socket, code) {
    if (socket !== this.socket) return;
    this.socket = null;
    this.sending = false;
    for (const { reject } of this.waiting.values()) reject(new Error(`connection closed (${code})`));
    this.waiting.clear();
    if (this.stopped) return;
    if (code === UNAUTHORIZED) {
      this.stopped = true;
      this.setState("refused", `closed (${code}): the token was refused`);
      return;
    }
    const cap = Math.min(MAX_BACKOFF_MS, INITIAL_BACKOFF_MS * 2 ** this.failures);
    this.failures = Math.min(this.failures + 1, 16);
    const delay = cap / 2 + Math.random() * cap / 2;
    this.setState("reconnecting", `reconnecting in ${Math.ceil(delay / 1000)} s (${code})`);
    setTimeout(() => this.connect(), delay);
  }

  send(frame) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(frame));
  }

  request(frame) {
    return new Promise((resolve, reject) => {
      if (!this.socket || this.socket.readyState !== WebSocket.OPEN) {
        reject(new Error("not connected"));
        return;
      }
      const ref = `r${++this.refs}`;
      this.waiting.set(ref, { resolve, reject });
      this.send({ ...frame, ref });
    });
  }

  subscribeFrame(channel) {
    const since = this.positions.get(channel);
    return since ? { type: "subscribe", channel, since } : { type: "subscribe", channel };
  }

  /** Follow a channel (once: later calls change nothing); it is resumed after each reconnect. */
  subscribe(channel) {
    if (this.positions.has(channel)) return;
    this.positions.set(channel, null);
    this.send(this.subscribeFrame(channel));
  }

  unsubscribe(channel) {
    this.positions.delete(channel);
    this.send({ type: "unsubscribe", channel });
  }

  acknowledgeAlerts(alertIds, note) {
    const frame = { type: "acknowledge_alert", alert_ids: alertIds };
    if (note) frame.note = note;
    return this.request(frame);
  }

  celebrated(milestoneIds) {
    return this.request({ type: "celebrated", milestone_ids: milestoneIds });
  }

  publish(events) {
    const stored = events.map((event) => ({ id: uuid7(), ...event }));
    this.outbox.push(...stored);
    this.saveOutbox();
    this.pump();
    return stored.map((event) => event.id);
  }

  saveOutbox() {
    if (this.outboxKey) localStorage.setItem(this.outboxKey, JSON.stringify(this.outbox));
  }

  async pump() {
    if (this.sending || !this.outbox.length || this.state !== "live") return;
    this.sending = true;
    try {
      while (this.outbox.length) {
        const batch = this.outbox.slice(0, MAX_BATCH);
        const ack = await this.request({ type: "publish", events: batch });
        const done = new Set([...ack.accepted, ...ack.duplicates]);
        for (const item of ack.rejected) {
          if (item.code === "internal") continue;  // the hub could not store it: retried
          done.add(item.id);
          this.handlers.onRejected(item, batch.find((event) => event.id === item.id));
        }
        this.outbox = this.outbox.filter((event) => !done.has(event.id));
        this.saveOutbox();
        if (ack.rejected.some((item) => item.code === "internal")) break;
      }
    } catch (error) {
      // The connection went; the next one sends what is left.
    } finally {
      this.sending = false;
    }
  }

  receive(frame) {
    if (frame.ref && this.waiting.has(frame.ref)) {
      const { resolve, reject } = this.waiting.get(frame.ref);
      this.waiting.delete(frame.ref);
      if (frame.type === "error") reject(Object.assign(new Error(frame.detail), { code: frame.code }));
      else resolve(frame);
      return;
    }
    switch (frame.type) {
      case "welcome":
        this.failures = 0;
        this.connections += 1;
        this.welcome = frame;
        this.setState("live");
        for (const channel of this.positions.keys()) this.send(this.subscribeFrame(channel));
        this.handlers.onWelcome(frame);
        this.pump();
        break;
      case "subscribed": {
        if (!this.positions.has(frame.channel)) return;
        const before = this.positions.get(frame.channel);
        if (!(frame.recovered && before)) {
          this.positions.set(frame.channel, { epoch: frame.epoch, offset: frame.offset });
        }
        this.handlers.onSubscribed(frame);
        break;
      }
      case "message": {
        const position = this.positions.get(frame.channel);
        if (!position || frame.offset <= position.offset) return;
        position.offset = frame.offset;
        this.handlers.onMessage(frame);
        break;
      }
      case "error":
        this.handlers.onError(frame);
        break;
      default:
        break;
    }
  }

  close() {
    this.stopped = true;
    if (this.socket) this.socket.close(1000);
    this.setState("closed");
  }
}
