// The live link: a WebSocket that sends the drawing as PNG frames and receives pictures.
// At most one frame is in flight; while it is, only the newest drawing is kept to send next, so a
// fast painter never builds a queue. Reconnects with backoff and re-sends the config each time.

const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 8000;
const FRAME_TIMEOUT_MS = 15000;

export class LiveConnection {
  /**
   * url: () => string (read at every connect, so a changed API key takes effect).
   * handlers: onStatus(state, detail), onResult({blob, modelMs, totalMs, frame}), onError(message).
   */
  constructor({ url, onStatus = () => {}, onResult = () => {}, onError = () => {}, WebSocketImpl = globalThis.WebSocket, timers = globalThis }) {
    this.url = url;
    this.onStatus = onStatus;
    this.onResult = onResult;
    this.onError = onError;
    this.WebSocketImpl = WebSocketImpl;
    this.timers = timers;
    this.socket = null;
    this.config = null;
    this.inFlight = false;
    this.pending = null;
    this.lastImage = null;
    this.retryMs = RECONNECT_MIN_MS;
    this.retryTimer = null;
    this.frameTimer = null;
    this.stopped = true;
    this.state = "offline";
  }

  get isLive() { return this.state === "live"; }

  /** A frame is on its way or waiting to go. */
  get busy() { return this.inFlight || this.pending !== null; }

  start() {
    this.stopped = false;
    this.connect();
  }

  /** Reconnect now, e.g. after the API key changed. */
  restart() {
    this.dropSocket();
    this.retryMs = RECONNECT_MIN_MS;
    if (!this.stopped) this.connect();
  }

  setConfig(config) {
    this.config = config;
    if (this.isLive) this.socket.send(JSON.stringify({ type: "config", ...config }));
  }

  /** produceFrame: () => Promise<Uint8Array|Blob>, called only when the frame is actually sent. */
  requestFrame(produceFrame) {
    this.pending = produceFrame;
    this.pump();
  }

  setState(state, detail = "") {
    this.state = state;
    this.onStatus(state, detail);
  }

  connect() {
    this.timers.clearTimeout(this.retryTimer);
    this.setState("connecting");
    let socket;
    try {
      socket = new this.WebSocketImpl(this.url());
    } catch (error) {
      this.scheduleReconnect(String(error?.message ?? error));
      return;
    }
    socket.binaryType = "blob";
    this.socket = socket;
    socket.onopen = () => {
      if (socket !== this.socket) return;
      this.retryMs = RECONNECT_MIN_MS;
      this.setState("live");
      if (this.config) socket.send(JSON.stringify({ type: "config", ...this.config }));
      this.pump();
    };
    socket.onmessage = (event) => { if (socket === this.socket) this.receive(event.data); };
    socket.onclose = (event) => {
      if (socket !== this.socket) return;
      this.socket = null;
      this.frameDone();
      this.scheduleReconnect(event?.reason || "");
    };
    socket.onerror = () => { /* onclose follows and handles the retry */ };
  }

  scheduleReconnect(reason) {
    if (this.stopped) return;
    const waitMs = this.retryMs;
    this.retryMs = Math.min(this.retryMs * 2, RECONNECT_MAX_MS);
    this.setState("offline", reason || `retrying in ${Math.round(waitMs / 100) / 10} s`);
    this.retryTimer = this.timers.setTimeout(() => this.connect(), waitMs);
  }

  dropSocket() {
    const socket = this.socket;
    this.socket = null;
    this.frameDone();
    if (socket) {
      socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
      try { socket.close(); } catch { /* already closing */ }
    }
  }

  receive(data) {
    if (typeof data !== "string") {
      // The picture arrives first; its timing follows in the "result" message.
      this.lastImage = data;
      return;
    }
    let message;
    try { message = JSON.parse(data); } catch { return; }
    if (message.type === "result" || message.type === "progress") {
      // A progressive model (the landscape renderer) sends coarser pictures first. The first one frees the
      // socket for the next stroke: the server then drops the rest of this frame, since it would be stale.
      const blob = this.lastImage;
      this.lastImage = null;
      this.frameDone();
      const level = message.type === "progress" ? { level: message.level, levels: message.levels } : {};
      if (blob) this.onResult({ blob, modelMs: message.model_ms, totalMs: message.total_ms, frame: message.frame, ...level });
      this.pump();
    } else if (message.type === "error") {
      if (message.frame !== undefined) this.frameDone();
      this.onError(message.status ? `${message.message} (${message.status})` : String(message.message));
      this.pump();
    }
  }

  frameDone() {
    this.inFlight = false;
    this.timers.clearTimeout(this.frameTimer);
  }

  async pump() {
    if (this.inFlight || !this.pending || !this.isLive) return;
    const produce = this.pending;
    this.pending = null;
    this.inFlight = true;
    const socket = this.socket;
    let frame;
    try {
      frame = await produce();
    } catch (error) {
      this.frameDone();
      this.onError(String(error?.message ?? error));
      return;
    }
    if (socket !== this.socket || !this.isLive) { this.frameDone(); return; }
    socket.send(frame);
    // A reply that never comes must not block the painter forever.
    this.frameTimer = this.timers.setTimeout(() => { this.frameDone(); this.pump(); }, FRAME_TIMEOUT_MS);
  }
}
