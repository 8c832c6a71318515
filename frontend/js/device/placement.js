// Where a picture is painted: on this device, on the server, or automatically (the faster of the two
// while the server answers; the device when the server is slow, busy or unreachable). Pure, so node tests it.

export const PLACEMENTS = Object.freeze({ auto: "Automatic", device: "This device", server: "Server" });
const SMOOTHING = 0.3; // weight of the newest measurement in a running estimate
const BUSY_COOLDOWN_MS = 30000; // after a 429/503 or a failed connection, the server gets a rest
const SLOW_SERVER_MS = 1500; // a server round trip above this is slow enough to try the device

/** A running estimate of one side's milliseconds (exponentially smoothed). */
export class Estimate {
  constructor() { this.ms = null; }
  observe(ms) {
    if (!Number.isFinite(ms)) return;
    this.ms = this.ms === null ? ms : this.ms + SMOOTHING * (ms - this.ms);
  }
}

export class Placement {
  constructor({ now = () => Date.now() } = {}) {
    this.now = now;
    this.device = new Estimate();
    this.server = new Estimate();
    this.serverDownUntil = 0;
    this.serverDownReason = "";
  }

  /** The server refused (429/503) or could not be reached: paint elsewhere for a while. */
  serverFailed(reason) {
    this.serverDownUntil = this.now() + BUSY_COOLDOWN_MS;
    this.serverDownReason = reason;
  }

  serverAnswered(ms) {
    this.serverDownUntil = 0;
    this.server.observe(ms);
  }

  get serverDown() { return this.now() < this.serverDownUntil; }

  /**
   * { where: "device" | "server", why } for a model. mode: "auto" | "device" | "server";
   * deviceProblem: a sentence saying why the device cannot run the model (server-only, failed to load), or null;
   * it is the `why` when the person asked for the device.
   */
  choose(mode, deviceProblem) {
    if (deviceProblem) return { where: "server", why: mode === "device" ? deviceProblem : "" };
    if (mode === "device") return { where: "device", why: "" };
    if (mode === "server") return { where: "server", why: "" };
    if (this.serverDown) return { where: "device", why: `The server is ${this.serverDownReason}; painting on this device.` };
    const server = this.server.ms;
    const device = this.device.ms;
    if (server !== null && device !== null) return { where: device < server ? "device" : "server", why: "" };
    if (server !== null && server > SLOW_SERVER_MS) return { where: "device", why: "The server is slow; painting on this device." };
    return { where: "server", why: "" };
  }
}

/** Classify a failed server request: "busy" (429/503), "unreachable" (no answer), or null (a real error to show). */
export function serverTrouble(error) {
  const status = error?.status;
  if (status === 429 || status === 503) return "busy";
  if (error?.unreachable) return "unreachable";
  return null;
}
