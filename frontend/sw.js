// The service worker: after one visit the painter opens and paints with the network off.
// - The page shell (page, styles, modules, the WebAssembly runtime it loads, the device manifest and the
//   style thumbnails it lists) is precached; the page and the manifest are fetched network-first, falling back to the cached copy.
// - Runtime files (vendor/onnxruntime-web/, named by the pinned version in RUNTIME_CACHE) are cache-first.
// - Models (device/files/*.onnx) are cache-first from the cache the page's download module fills after
//   checking each file's sha256 (js/device/modelfiles.js); this worker never stores a model itself.
// - API routes (translate, segment, ws, models, ...) always go to the network and are never cached.

import { CACHE_NAMES, MODEL_CACHE, RUNTIME_CACHE, SHELL_CACHE } from "./js/device/cachenames.js";

const MODULES = [
  "api.js", "app.js", "connection.js", "displaycolours.js", "floodfill.js", "history.js", "images.js", "keyboardcanvas.js",
  "labelcanvas.js", "palette.js", "png.js", "pointer.js", "raster.js", "seeded.js", "squaring.js", "starter.js", "storage.js",
  "device/blur.js", "device/cachenames.js", "device/engine.js", "device/latestwins.js", "device/manifest.js",
  "device/modelfiles.js", "device/painter.js", "device/picture.js", "device/placement.js", "device/resample.js",
  "device/runtime.js", "device/sketch.js", "device/tensors.js",
  "page/aspectdialog.js", "page/context.js", "page/drawingpanel.js", "page/filemenu.js", "page/fileio.js", "page/messages.js",
  "page/modelpanel.js", "page/picturepanel.js", "page/placementpanel.js", "page/settingsdialog.js",
  "page/stylepanel.js", "page/toolbar.js",
].map((name) => `js/${name}`);
const SHELL = ["./", "index.html", "css/painter.css", ...MODULES, "device/manifest.json"];
// The WebAssembly build the page loads when the browser has no WebGPU (ort.wasm.min.mjs is also the script of
// its proxy worker, ort-wasm-simd-threaded.mjs that of its threads); the WebGPU build is cached on first use.
const RUNTIME = ["ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm"]
  .map((name) => `vendor/onnxruntime-web/${name}`);
const API_ROUTES = ["translate", "segment", "sketch", "style-code", "ws", "models", "healthz", "readyz", "metrics",
  "docs", "openapi.json"];

const scopePath = () => new URL(self.registration.scope).pathname;

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const shell = await caches.open(SHELL_CACHE);
    await shell.addAll(SHELL);
    // Style thumbnails are a few kB each: keep them all, so an offline visit shows every preset's picture
    // (online, with a server, the page shows the server's copies and never fetches these).
    const manifest = await (await shell.match("device/manifest.json"))?.json().catch(() => null);
    const thumbnails = (manifest?.models ?? []).flatMap((model) => Object.values(model.files?.thumbnails ?? {}));
    await Promise.allSettled(thumbnails.map((url) => shell.add(url)));
    // Without the runtime (npm packages not installed) the page still works through the server.
    const runtime = await caches.open(RUNTIME_CACHE);
    await Promise.allSettled(RUNTIME.map((url) => runtime.add(url)));
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) if (!CACHE_NAMES.includes(name)) await caches.delete(name);
  })());
});

async function networkFirst(request) {
  const cache = await caches.open(SHELL_CACHE);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(request, response.clone());
    return response;
  } catch (error) {
    const cached = await cache.match(request, { ignoreSearch: true });
    if (cached) return cached;
    throw error;
  }
}

async function cacheFirst(request, cacheName, store) {
  const cache = await caches.open(cacheName);
  const cached = await cache.match(request);
  if (cached) return cached;
  const response = await fetch(request);
  if (store && response.ok) await cache.put(request, response.clone());
  return response;
}

self.addEventListener("fetch", (event) => {
  const { request } = event;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin || !url.pathname.startsWith(scopePath())) return;
  const path = url.pathname.slice(scopePath().length);
  const first = path.split("/")[0];
  if (API_ROUTES.includes(first)) return;
  if (path.startsWith("vendor/onnxruntime-web/")) {
    event.respondWith(cacheFirst(request, RUNTIME_CACHE, true));
  } else if (path.startsWith("device/files/") && path.endsWith(".onnx")) {
    event.respondWith(cacheFirst(request, MODEL_CACHE, false));
  } else {
    event.respondWith(networkFirst(request));
  }
});
