// Model downloads: fetched with progress, checked against the manifest's sha256 and kept in Cache Storage,
// so the painter runs them offline later. A cached copy that fails its hash is deleted and fetched again.

import { MODEL_CACHE } from "./cachenames.js";

const MEGABYTE = 1e6;

export function hex(bytes) {
  return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** "12.3 of 20.6 MB" (at least one decimal, so small fixture models still show progress). */
export function progressText(received, total) {
  const mb = (n) => (n / MEGABYTE).toFixed(n >= 10 * MEGABYTE ? 1 : 2);
  return `${mb(received)} of ${mb(total)} MB`;
}

export class ModelFiles {
  /**
   * onProgress({ label, received, total }) while a file downloads and once with received === total;
   * onNotice(text) for what the person should know (a damaged cached copy fetched again).
   */
  constructor({ onProgress = () => {}, onNotice = () => {}, cacheStorage = globalThis.caches, fetchImpl = (...a) => fetch(...a),
                digest = (bytes) => crypto.subtle.digest("SHA-256", bytes), baseUrl = globalThis.document?.baseURI } = {}) {
    this.onProgress = onProgress;
    this.onNotice = onNotice;
    this.cacheStorage = cacheStorage;
    this.fetchImpl = fetchImpl;
    this.digest = digest;
    this.baseUrl = baseUrl;
  }

  url(file) {
    return new URL(file.url, this.baseUrl).href;
  }

  async cache() {
    return this.cacheStorage ? this.cacheStorage.open(MODEL_CACHE) : null;
  }

  /** The file's bytes, from the cache when its copy is whole, else downloaded (and cached). label names it. */
  async bytes(file, label) {
    const cached = await this.cachedBytes(file);
    if (cached && (await this.matches(cached, file))) return cached;
    if (cached) {
      this.onNotice(`The saved ${label} was damaged; downloading it again.`);
      await this.forget(file);
    }
    return this.download(file, label);
  }

  async cachedBytes(file) {
    const cache = await this.cache();
    const response = await cache?.match(this.url(file));
    return response ? new Uint8Array(await response.arrayBuffer()) : null;
  }

  async matches(bytes, file) {
    return bytes.length === file.bytes && hex(await this.digest(bytes)) === file.sha256;
  }

  async forget(file) {
    const cache = await this.cache();
    await cache?.delete(this.url(file));
  }

  async download(file, label) {
    let response;
    try {
      response = await this.fetchImpl(this.url(file), { cache: "no-cache" });
    } catch {
      throw new Error(`Could not download the ${label}: the network is unreachable.`);
    }
    if (!response.ok) throw new Error(`Could not download the ${label} (${response.status}).`);
    const bytes = await this.readWithProgress(response, file.bytes, label);
    if (!(await this.matches(bytes, file))) {
      throw new Error(`The downloaded ${label} does not match its checksum (${bytes.length} of ${file.bytes} bytes).`);
    }
    const cache = await this.cache();
    await cache?.put(this.url(file), new Response(bytes, { headers: { "Content-Type": "application/octet-stream" } }));
    return bytes;
  }

  async readWithProgress(response, total, label) {
    const reader = response.body?.getReader();
    if (!reader) return new Uint8Array(await response.arrayBuffer());
    const chunks = [];
    let received = 0;
    this.onProgress({ label, received, total });
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      received += value.length;
      this.onProgress({ label, received: Math.min(received, total), total });
    }
    const bytes = new Uint8Array(received);
    let offset = 0;
    for (const chunk of chunks) { bytes.set(chunk, offset); offset += chunk.length; }
    this.onProgress({ label, received: total, total });
    return bytes;
  }
}
