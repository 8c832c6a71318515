import assert from "node:assert/strict";
import { test } from "node:test";

import { Store, base64ToBytes, bytesToBase64 } from "../../frontend/js/storage.js";

class MemoryStorage {
  constructor() { this.items = new Map(); }
  getItem(key) { return this.items.has(key) ? this.items.get(key) : null; }
  setItem(key, value) { this.items.set(key, String(value)); }
}

test("bytes survive base64, including long buffers", () => {
  const bytes = Uint8Array.from({ length: 256 * 256 }, (_, i) => (i * 7) % 256);
  assert.deepEqual(base64ToBytes(bytesToBase64(bytes)), bytes);
});

test("a drawing is kept per model and only restored at the same size", () => {
  const store = new Store(new MemoryStorage());
  const drawing = Uint8Array.from({ length: 16 }, (_, i) => i % 3);
  assert.ok(store.saveDrawing("spade", 4, drawing));
  assert.deepEqual(store.loadDrawing("spade", 4), drawing);
  assert.equal(store.loadDrawing("spade", 8), null);
  assert.equal(store.loadDrawing("other", 4), null);
});

test("settings round-trip; a refusing or corrupt storage does not throw", () => {
  const memory = new MemoryStorage();
  const store = new Store(memory);
  store.saveSettings({ tool: "fill", apiKey: "k" });
  assert.deepEqual(store.loadSettings(), { tool: "fill", apiKey: "k" });
  memory.setItem("gaugan-painter:settings", "{not json");
  assert.deepEqual(store.loadSettings(), {});
  const full = new Store({ getItem: () => null, setItem: () => { throw new Error("QuotaExceededError"); } });
  assert.equal(full.saveDrawing("m", 1, new Uint8Array(1)), false);
});

test("a drawing's undo steps are saved with it, and a browser out of room keeps the drawing without them", () => {
  const store = new Store(new MemoryStorage());
  const drawing = Uint8Array.from({ length: 16 }, (_, i) => i % 3);
  const step = { indices: Uint32Array.of(1, 70000), before: Uint8Array.of(0, 2), after: Uint8Array.of(1, 1) };
  assert.ok(store.saveDrawing("spade", 4, drawing, { done: [step], undone: [] }));
  assert.deepEqual(store.loadHistory("spade", 4), { done: [step], undone: [] });
  assert.equal(store.loadHistory("spade", 8), null, "steps of another size are not offered");

  const items = new Map();
  const small = new Store({
    getItem: (key) => items.get(key) ?? null,
    setItem: (key, value) => { if (value.length > 100) throw new Error("QuotaExceededError"); items.set(key, value); },
  });
  assert.ok(small.saveDrawing("spade", 4, drawing, { done: [step, step, step], undone: [] }));
  assert.deepEqual(small.loadDrawing("spade", 4), drawing);
  assert.equal(small.loadHistory("spade", 4), null);
});
