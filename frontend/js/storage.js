// Keeps settings and each model's drawing in localStorage, so a reload (or a crash) loses nothing.

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

  saveDrawing(modelId, size, indices) {
    return this.write(`drawing:${modelId}`, { size, data: bytesToBase64(indices) });
  }
}
