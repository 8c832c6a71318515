// The page's side of device mode: reads the manifest, loads the runtime once, and paints drawings on the
// device one at a time with latest-wins (a frame drawn while one runs replaces the one waiting).

import { DeviceEngine } from "./engine.js";
import { LatestWins } from "./latestwins.js";
import { parseManifest } from "./manifest.js";
import { ModelFiles } from "./modelfiles.js";
import { pngBlob } from "./picture.js";
import { loadRuntime } from "./runtime.js";

const MANIFEST_URL = "device/manifest.json";

/** A card's sentence as a clause of ours: no closing full stop, a capital only where a name needs it. */
function asClause(sentence) {
  const text = sentence.trim().replace(/[.\s]+$/, "");
  return /^[A-Z][a-z]/.test(text) ? text[0].toLowerCase() + text.slice(1) : text;
}

export class DevicePainter {
  /**
   * onProgress({label, received, total}), onNotice(text): downloads and what the person should know;
   * onResult({blob, deviceMs, totalMs, job}), onError(error): the outcome of each painted frame (job: what
   * the request's job() returned).
   */
  constructor({ onProgress, onNotice, onResult, onError }) {
    this.onNotice = onNotice;
    this.onResult = onResult;
    this.files = new ModelFiles({ onProgress, onNotice });
    this.manifest = null;
    this.engine = null;
    this.problem = "the device manifest has not loaded yet";
    this.runtimeInfo = null;
    this.runtimePromise = null;
    this.queue = new LatestWins((job) => this.paint(job), onError);
  }

  /** Read device/manifest.json; without it the device cannot paint (problem says why). */
  async load(fetchImpl = (...a) => fetch(...a)) {
    try {
      const response = await fetchImpl(MANIFEST_URL);
      if (!response.ok) throw new Error(`device/manifest.json answered ${response.status}`);
      this.manifest = parseManifest(await response.json());
      this.engine = new DeviceEngine({ manifest: this.manifest, files: this.files, runtime: () => this.runtime() });
      this.problem = null;
    } catch (error) {
      this.problem = `this page has no device models (${error?.message ?? error})`;
    }
    return this.manifest;
  }

  runtime() {
    this.runtimePromise ??= loadRuntime().then((info) => {
      this.runtimeInfo = info;
      for (const notice of info.notices) this.onNotice(notice);
      return info;
    });
    this.runtimePromise.catch(() => { this.runtimePromise = null; });
    return this.runtimePromise;
  }

  /** A sentence saying why the device cannot paint with a model, or null when it can. */
  unsupported(modelId) {
    if (this.problem) return `This device cannot paint: ${this.problem}; painting on the server.`;
    const reason = this.engine.unsupported(modelId);
    if (!reason) return null;
    const title = this.manifest.models.get(modelId)?.card.title ?? modelId;
    return `The server paints ${title}; this device cannot run it: ${asClause(reason)}.`;
  }

  get busy() { return this.queue.busy; }

  /** Paint soon; job() returns {modelId, drawing, style, filterId} of the drawing as it is when the frame starts. */
  request(job) {
    this.queue.submit(job);
  }

  async paint(job) {
    const started = performance.now();
    const frame = job();
    const { rgba, size, ms } = await this.engine.translate(frame);
    this.onResult({ blob: await pngBlob(rgba, size), deviceMs: ms, totalMs: performance.now() - started, job: frame });
  }
}
