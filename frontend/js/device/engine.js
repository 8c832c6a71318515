// The device engine: what the server's /translate, /style-code and /segment do, run in the page with
// onnxruntime-web on the manifest's models. One session per model file, kept for the page's lifetime.

import { standardNormals } from "../seeded.js";
import { resizeLanczos } from "./resample.js";
import { gaussianStyle, labelBytes, labelsData, photoData, pictureRgba, sketchData } from "./tensors.js";

const GIBIBYTE = 2 ** 30;
// WebAssembly memory holds at most 4 GiB; a model needs room for a copy of itself and its activations.
const MAX_MODEL_BYTES = GIBIBYTE;

/** The device cannot paint with this model; the message says why, and the server paints instead. */
export class DeviceUnavailable extends Error {}

/** The most model bytes this device is asked to load (a quarter of its memory, at most 1 GiB). Pure. */
export function modelBudget(deviceMemoryGb) {
  return Number.isFinite(deviceMemoryGb) && deviceMemoryGb > 0 ? Math.min(MAX_MODEL_BYTES, deviceMemoryGb * GIBIBYTE / 4) : MAX_MODEL_BYTES;
}

/** Whether a session failed for want of memory (a RangeError or onnxruntime's allocation failure). Pure. */
export function isOutOfMemory(error) {
  return error instanceof RangeError || /out of memory|allocat|memory access out of bounds/i.test(String(error?.message ?? error));
}

/** The style code [style_dim] a style choice means for a SPADE card (as backend/pipeline.py resolve_style). */
export function styleCode(card, style) {
  const encoder = card.style_encoder;
  const presets = card.style_presets ?? [];
  if (style?.kind === "preset") {
    const preset = presets.find((p) => p.id === style.id);
    if (!preset) throw new Error(`unknown style ${style.id} for model ${card.id}`);
    return Float32Array.from(preset.code);
  }
  if (style?.kind === "code") return Float32Array.from(style.code);
  if (style?.kind === "seed") return gaussianStyle(encoder.code_mean, encoder.code_scale, standardNormals(style.seed, encoder.z_dim));
  if (presets.length) return Float32Array.from(presets[0].code);
  return Float32Array.from(encoder.code_mean);
}

export class DeviceEngine {
  /** manifest: parseManifest's result; files: a ModelFiles; runtime: () => Promise of loadRuntime's result. */
  constructor({ manifest, files, runtime, budgetBytes = modelBudget(globalThis.navigator?.deviceMemory) }) {
    this.manifest = manifest;
    this.files = files;
    this.runtime = runtime;
    this.budgetBytes = budgetBytes;
    this.sessions = new Map();
    this.creating = Promise.resolve(); // the session being created; the next waits for it (see oneAtATime)
  }

  entry(modelId) {
    const entry = this.manifest.models.get(modelId);
    if (!entry) throw new DeviceUnavailable(`The model ${modelId} is not offered for this device.`);
    return entry;
  }

  /** Why the device cannot run a model (the card's server-only reason), or null. */
  unsupported(modelId) {
    const entry = this.manifest.models.get(modelId);
    if (!entry) return "it is not in this page's device manifest";
    return entry.serverOnly;
  }

  /** A session of the model's generator ("onnx") or style encoder, downloaded and created once. */
  session(modelId, part = "onnx") {
    const key = `${modelId}:${part}`;
    if (!this.sessions.has(key)) {
      const created = this.createSession(this.entry(modelId), part);
      this.sessions.set(key, created);
      created.catch(() => this.sessions.delete(key));
    }
    return this.sessions.get(key);
  }

  async createSession(entry, part) {
    if (entry.serverOnly) throw new DeviceUnavailable(`${entry.card.title} runs on the server only: ${entry.serverOnly}.`);
    const file = part === "onnx" ? entry.onnx : entry.styleEncoder;
    const label = `${entry.card.title} ${part === "onnx" ? "model" : "style encoder"}`;
    if (file.bytes > this.budgetBytes) {
      throw new DeviceUnavailable(`The ${label} (${(file.bytes / 1e6).toFixed(0)} MB) is too big for this device's memory; painting on the server.`);
    }
    const { ort, backend } = await this.runtime();
    const options = { executionProviders: backend === "webgpu" ? ["webgpu", "wasm"] : ["wasm"], graphOptimizationLevel: "all" };
    const open = async () => {
      const bytes = await this.files.bytes(file, label);
      return this.oneAtATime(() => ort.InferenceSession.create(bytes, options));
    };
    try {
      return await open();
    } catch (error) {
      if (isOutOfMemory(error)) throw new DeviceUnavailable(`The ${label} is too big for this device's memory; painting on the server.`);
      // A saved copy that will not load is fetched again once before the device gives up on it.
      this.files.onNotice(`The saved ${label} would not load; downloading it again.`);
      await this.files.forget(file);
      try {
        return await open();
      } catch (again) {
        throw new DeviceUnavailable(`The ${label} does not load on this device (${again?.message ?? again}); painting on the server.`);
      }
    }
  }

  /** Runs `create` once the session creation before it has ended: onnxruntime-web's WebGPU provider refuses to
   * create a session while another is being created ("another WebGPU EP inference session is being created"),
   * which a SPADE (generator and style encoder) with a filter asks for at once. Downloads still overlap. */
  oneAtATime(create) {
    const created = this.creating.then(create, create);
    this.creating = created.catch(() => {});
    return created;
  }

  /** Download and load what painting with a model (and a filter) needs, before the first picture. */
  async prepare(modelId, filterId = "") {
    const card = this.entry(modelId).card;
    const parts = [this.session(modelId)];
    if (card.style_encoder) parts.push(this.session(modelId, "style"));
    if (filterId) parts.push(this.session(filterId));
    await Promise.all(parts);
  }

  /** The picture of a drawing (class ids or sketch ids at the model's size): { rgba, size, ms }. */
  async translate({ modelId, drawing, style = null, filterId = "" }) {
    const { ort } = await this.runtime();
    const card = this.entry(modelId).card;
    const size = card.size;
    const session = await this.session(modelId);
    const feeds = {};
    if (card.input_kind === "sketch") feeds.sketch = new ort.Tensor("float32", sketchData(drawing), [1, 1, size, size]);
    else feeds.labels = new ort.Tensor("int64", labelsData(drawing), [1, 1, size, size]);
    if (card.kind === "spade") {
      const code = styleCode(card, style);
      feeds.style = new ort.Tensor("float32", code, [1, code.length]);
    }
    const started = performance.now();
    const { image } = await session.run(feeds);
    let rgba = pictureRgba(image.data, size, size);
    if (filterId) {
      const filtered = await this.filter(filterId, rgba, size);
      // The server answers at the drawing's size whatever the filter's size is.
      rgba = filtered.size === size ? filtered.rgba : resizeLanczos(filtered.rgba, filtered.size, filtered.size, size, size);
    }
    return { rgba, size, ms: performance.now() - started };
  }

  /** The CycleGAN filter on an RGBA picture, resized to the filter's size first as the server does. */
  async filter(filterId, rgba, size) {
    const { ort } = await this.runtime();
    const card = this.entry(filterId).card;
    const session = await this.session(filterId);
    const input = card.size === size ? rgba : resizeLanczos(rgba, size, size, card.size, card.size);
    const feeds = { [session.inputNames[0]]: new ort.Tensor("float32", photoData(input), [1, 3, card.size, card.size]) };
    const { image } = await session.run(feeds);
    return { rgba: pictureRgba(image.data, card.size, card.size), size: card.size };
  }

  /** A style image (RGBA, any size: squeezed to the model's square like the server) -> the encoder's mu. */
  async styleCode(modelId, rgba, width, height) {
    const { ort } = await this.runtime();
    const size = this.entry(modelId).card.size;
    const session = await this.session(modelId, "style");
    const input = width === size && height === size ? rgba : resizeLanczos(rgba, width, height, size, size);
    const { mu } = await session.run({ image: new ort.Tensor("float32", photoData(input), [1, 3, size, size]) });
    return Array.from(mu.data);
  }

  /** A photo (RGBA, any size: squeezed to the segmenter's square like the server) -> its class ids. */
  async segment(modelId, rgba, width, height) {
    const { ort } = await this.runtime();
    const size = this.entry(modelId).card.size;
    const session = await this.session(modelId);
    const input = width === size && height === size ? rgba : resizeLanczos(rgba, width, height, size, size);
    const { labels } = await session.run({ image: new ort.Tensor("float32", photoData(input), [1, 3, size, size]) });
    return labelBytes(labels.data);
  }
}
