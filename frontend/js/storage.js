// Keeps settings and each model's drawing, with its newest undo steps, in localStorage, so a reload (or a crash)
// loses nothing.

const PREFIX = "gaugan-painter:";

export function bytesToBase64(bytes) {
  let text = "";
  const chunkSize = 0x8000;
  for (let i = 0; i < bytes.length; i += chunkSize) text += String.fromCharCode(...bytes.subarray(i, i + chunkSize));
  return btoa(text);
}

export function base64ToBytes(text) {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

export class Store {
  constructor(storage = globalThis.localStorage) {
    this.storage = storage;
  }

  read(key) {
    try {
      const raw = this.storage?.getItem(PREFIX + key);
      return raw === null || raw === undefined ? null : JSON.parse(raw);
    } catch {
      return null; // private mode or corrupt entry: start fresh rather than fail
    }
  }

  /** Returns false when the browser refused (quota, private mode), so the caller can say so. */
  write(key, value) {
    try {
      this.storage.setItem(PREFIX + key, JSON.stringify(value));
      return true;
    } catch {
      return false;
    }
  }

  loadSettings() {
    return this.read("settings") ?? {};
  }

  saveSettings(settings) {
    return this.write("settings", settings);
  }

  /** The saved drawing for a model, or null if none was saved at this size. */
  loadDrawing(modelId, size) {
    const saved = this.read(`drawing:${modelId}`);
    if (!saved || saved.size !== size || typeof saved.data !== "string") return null;
    const indices = base64ToBytes(saved.data);
    return indices.length === size * size ? indices : null;
  }

  /** The undo steps saved with that drawing ({ done, undone }, see History.newestSteps), or null. */
  loadHistory(modelId, size) {
    const saved = this.read(`drawing:${modelId}`);
    if (saved?.size !== size || !saved.history) return null;
    try {
      const steps = (list) => list.map(({ indices, before, after }) => ({
        indices: new Uint32Array(base64ToBytes(indices).buffer), before: base64ToBytes(before), after: base64ToBytes(after),
      }));
      return { done: steps(saved.history.done), undone: steps(saved.history.undone) };
    } catch {
      return null; // a damaged copy: the drawing still loads, without its undo steps
    }
  }

  /** Save a drawing, and its undo steps when given; a browser that has no room for the steps keeps the drawing. */
  saveDrawing(modelId, size, indices, history = null) {
    const data = bytesToBase64(indices);
    if (history) {
      const steps = (list) => list.map((step) => ({
        indices: bytesToBase64(new Uint8Array(step.indices.buffer, step.indices.byteOffset, step.indices.byteLength)),
        before: bytesToBase64(step.before),
        after: bytesToBase64(step.after),
      }));
      const saved = { done: steps(history.done), undone: steps(history.undone) };
      if (this.write(`drawing:${modelId}`, { size, data, history: saved })) return true;
    }
    return this.write(`drawing:${modelId}`, { size, data });
  }
}
