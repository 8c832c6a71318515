// The painter page: wires the canvas, tools, palette, styles, live connection and files together.

import { createApi } from "./api.js";
import { LiveConnection } from "./connection.js";
import { DeviceUnavailable } from "./device/engine.js";
import { catalogueFromManifest } from "./device/manifest.js";
import { progressText } from "./device/modelfiles.js";
import { DevicePainter } from "./device/painter.js";
import { fileRgba } from "./device/picture.js";
import { PLACEMENTS, Placement, serverTrouble } from "./device/placement.js";
import { photoSketch } from "./device/sketch.js";
import { floodFill } from "./floodfill.js";
import { History } from "./history.js";
import { cappedImage, imageToRgba, squarePhoto, thumbnailUrl } from "./images.js";
import { LabelCanvas } from "./labelcanvas.js";
import {
  SKETCH_INK, SKETCH_LABEL_SET, SKETCH_PAPER,
  indicesToGrey, indicesToRgba, labelColourShare, labelMapToIndices, renderPalette, rgbaToIndices, rgbaToSketch,
} from "./palette.js";
import { encodeGreyPng } from "./png.js";
import { attachKeyboard } from "./keyboardcanvas.js";
import { attachPointer } from "./pointer.js";
import { paintSegment } from "./raster.js";
import { starterDrawing } from "./starter.js";
import { Store } from "./storage.js";

const PAINTABLE_KINDS = new Set(["spade", "hybrid", "pix2pix"]);
const TOOL_KEYS = { b: "brush", f: "fill", e: "eraser", i: "eyedropper" };
const SKETCH_TOOLS = new Set(["brush", "eraser"]);
const DEFAULT_BRUSH = { labels: 16, sketch: 2 };
const ERROR_VISIBLE_MS = 12000;

const el = (id) => document.getElementById(id);
const canvasElement = el("label-canvas");
const outputImage = el("output-image");

const store = new Store();
const settings = {
  tool: "brush", tip: "round", filter: "", apiKey: "", placement: "auto", brushSizes: { ...DEFAULT_BRUSH }, styles: {}, labels: {},
  ...store.loadSettings(),
};
const saveSettings = () => store.saveSettings(settings);

const api = createApi({ getApiKey: () => settings.apiKey });
const surface = new LabelCanvas(canvasElement);
const history = new History();

const state = {
  catalogue: null,
  model: null,
  labelSet: null,
  isSketch: false,
  label: 0,
  stroke: null,
  markPalette: () => {},
  result: null,
  resultUrl: null,
  renders: 0,
  // Every render request takes the next number; a picture shows only if its request is no older than the one
  // on show, so a slow side's late answer (the device's, after a model switch sent frames to the server) is dropped.
  renderSeq: 0,
  shownSeq: 0,
  socketFrameSeq: 0, // the request the socket's one frame in flight was drawn for
  httpBusy: false,
  httpPending: false,
  renderWhenConnected: false,
  warnedStorage: false,
  lastWhere: null, // where the picture on show was painted: "device" | "server"
  deviceBroken: new Map(), // model id -> why the device gave up on it (the server paints it instead)
};

// ---------- messages ----------

let errorTimer = null;
function showError(message) {
  el("error-text").textContent = message;
  el("error").hidden = false;
  clearTimeout(errorTimer);
  errorTimer = setTimeout(hideError, ERROR_VISIBLE_MS);
}
function hideError() {
  el("error").hidden = true;
}

/** Run an async action, showing its failure in words instead of losing it in the console. */
async function attempt(action) {
  try {
    return await action();
  } catch (error) {
    showError(error?.message ?? String(error));
    return undefined;
  }
}

function showEmpty(message, details) {
  el("workspace").hidden = true;
  el("empty-state").hidden = false;
  el("empty-message").textContent = message;
  el("empty-details").replaceChildren(...details.map((text) => {
    const item = document.createElement("li");
    item.textContent = text;
    return item;
  }));
  setStatus("offline", "No model");
}

// ---------- connection state ----------

let lastTiming = "";
function setStatus(connectionState, text) {
  const status = el("status");
  status.dataset.state = connectionState;
  el("status-text").textContent = text;
  status.title = text; // the whole text, where the bar is too narrow to show it
  // Only without a live painter (no socket, no device) must a person click Render to see a picture.
  el("render").classList.toggle("attention", connectionState !== "live" && connectionState !== "device");
}

function describeConnection(connectionState, detail) {
  if (connectionState === "live") return lastTiming ? `Live · ${lastTiming}` : "Live";
  if (connectionState === "connecting") return "Connecting…";
  return `Offline${detail ? ` (${detail})` : ""} · use Render`;
}

const connection = new LiveConnection({
  url: () => {
    const url = new URL("/ws", location.href);
    url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
    if (settings.apiKey) url.searchParams.set("api_key", settings.apiKey);
    return url.href;
  },
  onStatus: (connectionState, detail) => {
    // While the device paints, its status stays in view; a socket that comes back takes over again.
    if (connectionState === "live" || state.lastWhere !== "device") setStatus(connectionState, describeConnection(connectionState, detail));
    // A fresh socket has not seen the drawing yet; a failed attempt falls back to HTTP once.
    if (connectionState === "live") state.renderWhenConnected = false;
    if (connectionState === "live" && state.model) requestRender({ final: true });
    if (connectionState === "offline" && state.renderWhenConnected) {
      state.renderWhenConnected = false;
      renderOverHttp();
    }
  },
  onResult: ({ blob, modelMs, totalMs }) => {
    placement.serverAnswered(totalMs);
    showResult(blob, { where: "server", modelMs, totalMs, seq: state.socketFrameSeq });
  },
  onError: (message) => {
    el("result-frame").dataset.busy = "false";
    showError(message);
  },
});

// ---------- where pictures are painted ----------

const placement = new Placement();
const device = new DevicePainter({
  onProgress: showDownload,
  onNotice: showNotice,
  onResult: ({ blob, deviceMs, totalMs, job }) => {
    placement.device.observe(totalMs);
    showResult(blob, { where: "device", modelMs: deviceMs, totalMs, seq: job.seq });
  },
  onError: deviceFailed,
});

/** Download progress of a model file: its name, a bar and "12.3 of 20.6 MB"; hidden when done. */
function showDownload({ label, received, total }) {
  const done = received >= total;
  el("download").hidden = done;
  el("download-text").textContent = `Downloading ${label} — ${progressText(received, total)}`;
  el("download-progress").max = total || 1;
  el("download-progress").value = received;
}

/** What the person should know about the device (threads, damaged downloads, fallbacks), newest first. */
function showNotice(text) {
  const list = el("device-notices");
  for (const item of list.children) if (item.textContent === text) item.remove();
  const item = document.createElement("li");
  item.textContent = text;
  list.prepend(item);
  while (list.children.length > 3) list.lastChild.remove();
  list.hidden = false;
}

/** A frame the device could not paint: a model it gave up on goes to the server, anything else is shown. */
function deviceFailed(error) {
  el("result-frame").dataset.busy = "false";
  if (error instanceof DeviceUnavailable && state.model) {
    state.deviceBroken.set(state.model.id, error.message);
    showNotice(error.message);
    requestRender({ final: true });
  } else {
    showError(error?.message ?? String(error));
  }
}

function placementNow() {
  const problem = device.unsupported(state.model.id) ?? state.deviceBroken.get(state.model.id) ?? null;
  const choice = placement.choose(settings.placement, problem);
  if (choice.why) showNotice(choice.why);
  return choice.where;
}

/** A server failure that the device can make up for (busy, unreachable): paint there instead. */
function fallBackToDevice(error) {
  const trouble = serverTrouble(error);
  if (!trouble || settings.placement === "server" || !state.model || device.unsupported(state.model.id)
      || state.deviceBroken.has(state.model.id)) return false;
  placement.serverFailed(trouble);
  requestRender({ final: true });
  return true;
}

/** Start downloading what the device needs for the current model, unless the person chose the server. */
function prepareDevice() {
  const model = state.model;
  if (settings.placement === "server" || device.unsupported(model.id) || state.deviceBroken.has(model.id)) return;
  device.engine.prepare(model.id, settings.filter).catch((error) => {
    if (state.model === model) deviceFailed(error);
  });
}

function setPlacement(mode) {
  settings.placement = mode;
  saveSettings();
  el("placement-select").value = mode;
  if (!state.model) return;
  prepareDevice();
  requestRender({ final: true });
}

/** The device's job for render request `seq`: the drawing and settings as they are when its frame starts. */
const deviceJob = (seq) => () => ({
  seq,
  modelId: state.model.id,
  drawing: surface.indices.slice(),
  style: hasStyles() ? currentStyle() : null,
  filterId: settings.filter,
});

// ---------- rendering ----------

/** SPADE (a style code) and the hybrid (colour statistics) take styles; the server says how many numbers. */
function hasStyles() {
  return state.model?.style_dim > 0;
}

function currentStyle() {
  const presets = state.model.style_presets ?? [];
  const saved = settings.styles[state.model.id];
  if (saved?.kind === "preset" && presets.some((p) => p.id === saved.id)) return saved;
  const codeFits = saved?.kind === "code" && saved.code?.length === state.model.style_dim;
  if (saved?.kind === "seed" || codeFits) return saved;
  return presets.length ? { kind: "preset", id: presets[0].id } : { kind: "seed", seed: 0 };
}

function styleFields() {
  if (!hasStyles()) return {};
  const style = currentStyle();
  if (style.kind === "preset") return { style_id: style.id };
  if (style.kind === "code") return { style_code: style.code };
  return { seed: style.seed };
}

function renderSettings() {
  const fields = { model: state.model.id, ...styleFields() };
  if (settings.filter) fields.filter = settings.filter;
  return fields;
}

const encodeDrawing = () =>
  encodeGreyPng(surface.size, surface.size, indicesToGrey(surface.indices, state.isSketch));

/**
 * Ask for a new picture of the current drawing. Over the socket this happens while painting; without
 * it, only finished edits (`final`) go over HTTP so a stroke does not fire a request per pointer move.
 * While the socket is still connecting, the render waits for it (or for it to fail).
 */
function requestRender({ final = false } = {}) {
  if (!state.model) return;
  const seq = (state.renderSeq += 1);
  if (placementNow() === "device") {
    el("result-frame").dataset.busy = "true";
    device.request(deviceJob(seq));
  } else if (connection.isLive) {
    el("result-frame").dataset.busy = "true";
    connection.requestFrame(() => {
      state.socketFrameSeq = seq;
      return encodeDrawing();
    });
  } else if (final && connection.state === "connecting") {
    state.renderWhenConnected = true;
  } else if (final) {
    renderOverHttp();
  }
}

async function renderOverHttp() {
  if (state.httpBusy) {
    state.httpPending = true;
    return;
  }
  state.httpBusy = true;
  el("result-frame").dataset.busy = "true";
  const seq = state.renderSeq;
  const started = performance.now();
  try {
    const { blob, modelMs } = await api.translate({ ...renderSettings(), image: new Blob([await encodeDrawing()], { type: "image/png" }) });
    const totalMs = performance.now() - started;
    placement.serverAnswered(totalMs);
    showResult(blob, { where: "server", modelMs, totalMs, seq });
  } catch (error) {
    if (!fallBackToDevice(error)) showError(error?.message ?? String(error));
  }
  el("result-frame").dataset.busy = "false";
  state.httpBusy = false;
  if (state.httpPending) {
    state.httpPending = false;
    renderOverHttp();
  }
}

const WHERE_NAMES = { device: "This device", server: "Server" };

/** The other side's running estimate, so both sides' milliseconds are in view. */
function otherSide(where) {
  const other = where === "device" ? "server" : "device";
  const ms = placement[other].ms;
  return ms === null ? "" : `${other} ~${Math.round(ms)} ms`;
}

/** A picture arrived for render request `seq`; timing: { where: "device" | "server", modelMs, totalMs }.
 * An answer to a request older than the picture on show is dropped. */
function showResult(blob, { where, modelMs, totalMs, seq }) {
  // A device frame reports while it still counts as running: only a waiting frame means more is coming.
  el("result-frame").dataset.busy = String(connection.busy || state.httpBusy || device.queue.waiting !== null);
  if (seq < state.shownSeq) return;
  state.shownSeq = seq;
  if (state.resultUrl) URL.revokeObjectURL(state.resultUrl);
  state.result = blob;
  state.resultUrl = URL.createObjectURL(blob);
  state.renders += 1;
  outputImage.src = state.resultUrl;
  outputImage.hidden = false;
  el("canvas-preview-image").src = state.resultUrl;
  el("canvas-preview").hidden = false;
  outputImage.dataset.renders = String(state.renders);
  el("result-placeholder").hidden = true;
  const model = Number.isFinite(modelMs) ? `${Math.round(modelMs)} ms` : "";
  const total = Number.isFinite(totalMs) ? `${Math.round(totalMs)} ms` : "";
  lastTiming = total || model;
  el("frame-ms").textContent = [model && `model ${model}`, total && `${where === "device" ? "total" : "round trip"} ${total}`, otherSide(where)]
    .filter(Boolean).join(" · ");
  el("result-where").textContent = WHERE_NAMES[where];
  el("result-where").dataset.where = where;
  state.lastWhere = where;
  if (where === "device") {
    const { backend, threads } = device.runtimeInfo;
    setStatus("device", `On this device · ${backend === "webgpu" ? "WebGPU" : `wasm, ${threads} thread${threads === 1 ? "" : "s"}`}`);
  } else if (connection.isLive) {
    setStatus("live", describeConnection("live"));
  }
}

function clearResult(message) {
  if (state.resultUrl) URL.revokeObjectURL(state.resultUrl);
  state.result = null;
  state.resultUrl = null;
  outputImage.hidden = true;
  outputImage.removeAttribute("src");
  el("canvas-preview").hidden = true;
  el("canvas-preview-image").removeAttribute("src");
  el("result-placeholder").hidden = false;
  el("result-placeholder").textContent = message;
  el("frame-ms").textContent = "–";
  el("result-where").textContent = "";
}

// ---------- drawing and history ----------

function persistDrawing() {
  if (!store.saveDrawing(state.model.id, surface.size, surface.indices) && !state.warnedStorage) {
    state.warnedStorage = true;
    showError("This browser would not store the drawing (storage full or disabled); download it to keep it.");
  }
}

function updateHistoryButtons() {
  el("undo").disabled = !history.canUndo;
  el("redo").disabled = !history.canRedo;
}

/** Finish an edit that started from `before`: one undo step, saved, rendered. */
function commit(before) {
  surface.render();
  if (history.record(before, surface.indices)) {
    persistDrawing();
    updateHistoryButtons();
    requestRender({ final: true });
  }
}

function replaceDrawing(indices) {
  const before = surface.indices.slice();
  surface.indices.set(indices);
  commit(before);
}

function stepHistory(direction) {
  if (!state.model || state.stroke) return;
  const changed = direction === "undo" ? history.undo(surface.indices) : history.redo(surface.indices);
  if (!changed) return;
  surface.render();
  persistDrawing();
  updateHistoryButtons();
  requestRender({ final: true });
}

function clearDrawing() {
  if (!state.model) return;
  const before = surface.indices.slice();
  surface.indices.fill(eraseValue());
  commit(before);
}

const eraseValue = () => (state.isSketch ? SKETCH_PAPER : state.labelSet.background_id);
const inkValue = () => (state.isSketch ? SKETCH_INK : state.label);
const brushSize = () => settings.brushSizes[state.isSketch ? "sketch" : "labels"];
const activeTool = () => (state.isSketch && !SKETCH_TOOLS.has(settings.tool) ? "brush" : settings.tool);

function brush(value) {
  return { size: brushSize(), tip: settings.tip, value };
}

const canvasInput = {
  onStart(point) {
    if (!state.model) return;
    const tool = activeTool();
    const { size } = surface;
    if (point.x < 0 || point.y < 0 || point.x >= size || point.y >= size) return;
    if (tool === "eyedropper") {
      const id = surface.at(point.x, point.y);
      if (state.labelSet.classes.some((c) => c.id === id)) selectLabel(id);
      return;
    }
    const before = surface.indices.slice();
    if (tool === "fill") {
      if (floodFill(surface.indices, size, size, point.x, point.y, inkValue())) commit(before);
      return;
    }
    state.stroke = { before, last: point, value: tool === "eraser" ? eraseValue() : inkValue() };
    paintSegment(surface.indices, size, size, point, point, brush(state.stroke.value));
    surface.render();
    requestRender();
  },
  onMove(point) {
    const stroke = state.stroke;
    if (!stroke) return;
    paintSegment(surface.indices, surface.size, surface.size, stroke.last, point, brush(stroke.value));
    stroke.last = point;
    surface.render();
    requestRender();
  },
  onEnd() {
    const stroke = state.stroke;
    if (!stroke) return;
    state.stroke = null;
    commit(stroke.before);
  },
  onHover(point, event) {
    const cursor = el("brush-cursor");
    const tool = activeTool();
    if (!point || event.pointerType === "touch" || (tool !== "brush" && tool !== "eraser")) {
      cursor.hidden = true;
      return;
    }
    const scale = canvasElement.getBoundingClientRect().width / surface.size;
    const diameter = Math.max(2, brushSize() * scale);
    cursor.hidden = false;
    cursor.className = `brush-cursor ${settings.tip}`;
    cursor.style.width = cursor.style.height = `${diameter}px`;
    cursor.style.left = `${point.x * scale}px`;
    cursor.style.top = `${point.y * scale}px`;
  },
};
attachPointer(canvasElement, canvasInput);
// The same tools from the keyboard: arrows move a cursor, Space held paints, Enter paints, fills or picks once.
attachKeyboard(canvasElement, { ...canvasInput, step: () => brushSize() / 2, onCursor: showKeyboardCursor });

/** The keyboard cursor: a marker on the pixel, the brush outline around it, and its place and label in words. */
function showKeyboardCursor(point) {
  const marker = el("key-cursor");
  marker.hidden = !point || !state.model;
  el("canvas-keys").hidden = marker.hidden;
  canvasInput.onHover(marker.hidden ? null : point, { pointerType: "keyboard" });
  if (marker.hidden) return;
  const scale = canvasElement.getBoundingClientRect().width / surface.size;
  marker.style.left = `${point.x * scale}px`;
  marker.style.top = `${point.y * scale}px`;
  const id = surface.at(point.x, point.y);
  const label = state.labelSet.classes.find((c) => c.id === id)?.name ?? "no label";
  el("canvas-position").textContent = `${Math.floor(point.x)}, ${Math.floor(point.y)}: ${label}`;
}

// ---------- tools ----------

function setTool(tool) {
  if (state.isSketch && !SKETCH_TOOLS.has(tool)) return;
  settings.tool = tool;
  saveSettings();
  showTool();
}

function showTool() {
  const tool = activeTool();
  for (const button of document.querySelectorAll(".tool[data-tool]")) {
    button.setAttribute("aria-pressed", String(button.dataset.tool === tool));
  }
  el("canvas-frame").dataset.tool = tool;
}

function setBrushSize(size) {
  const slider = el("brush-size");
  const clamped = Math.min(Number(slider.max), Math.max(Number(slider.min), Math.round(size)));
  settings.brushSizes[state.isSketch ? "sketch" : "labels"] = clamped;
  slider.value = String(clamped);
  el("brush-size-value").textContent = String(clamped);
  saveSettings();
}

function setTip(tip) {
  settings.tip = tip;
  saveSettings();
  for (const button of document.querySelectorAll(".tip")) {
    button.setAttribute("aria-pressed", String(button.dataset.tip === tip));
  }
}

function selectLabel(id) {
  state.label = id;
  settings.labels[state.model.id] = id;
  saveSettings();
  state.markPalette(id);
  // Choosing or picking a label means painting with it, unless the fill bucket is what the person is using.
  if (settings.tool !== "fill") setTool("brush");
}

// ---------- styles ----------

function randomSeed() {
  return crypto.getRandomValues(new Uint32Array(1))[0] % 2147483647;
}

/** A seed's swatch: two hues derived from the seed, so each random style has a recognisable chip. */
function seedGradient(seed) {
  const hue = seed % 360;
  return `linear-gradient(135deg, hsl(${hue} 60% 55%), hsl(${(hue + 140) % 360} 55% 35%))`;
}

/** A preset's thumbnail, or a swatch derived from its id when the card has no thumbnail. */
function presetBackground(preset) {
  if (preset.thumbnail_url) return `center / cover no-repeat url("${preset.thumbnail_url}")`;
  const hash = [...preset.id].reduce((sum, char) => (sum * 31 + char.charCodeAt(0)) >>> 0, 7);
  return seedGradient(hash);
}

function setStyle(style) {
  settings.styles[state.model.id] = style;
  saveSettings();
  showStyle();
  connection.setConfig(renderSettings());
  requestRender({ final: true });
}

function renderStylePanel() {
  const styled = hasStyles();
  el("style-note").hidden = styled;
  for (const part of [".current-style", ".style-presets", ".style-actions"]) {
    document.querySelector(part).hidden = !styled;
  }
  const container = el("style-presets");
  container.replaceChildren();
  if (!styled) return;
  for (const preset of state.model.style_presets ?? []) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "style-preset";
    button.dataset.testid = `style-preset-${preset.id}`;
    button.dataset.presetId = preset.id;
    button.title = preset.name;
    const image = document.createElement("span");
    image.className = "style-preset-thumb";
    image.style.background = presetBackground(preset);
    const name = document.createElement("span");
    name.textContent = preset.name;
    button.append(image, name);
    button.addEventListener("click", () => setStyle({ kind: "preset", id: preset.id }));
    container.append(button);
  }
  showStyle();
}

function showStyle() {
  if (!hasStyles()) return;
  const style = currentStyle();
  const thumb = el("current-style-thumb");
  let name;
  if (style.kind === "preset") {
    const preset = state.model.style_presets.find((p) => p.id === style.id);
    name = preset.name;
    thumb.style.background = presetBackground(preset);
  } else if (style.kind === "code") {
    name = style.name || "Your image";
    thumb.style.background = `center / cover no-repeat url("${style.thumbnail}")`;
  } else {
    name = `Random #${style.seed}`;
    thumb.style.background = seedGradient(style.seed);
  }
  el("current-style-name").textContent = name;
  el("current-style-name").parentElement.title = name;
  for (const button of el("style-presets").children) {
    button.setAttribute("aria-pressed", String(style.kind === "preset" && button.dataset.presetId === style.id));
  }
}

async function useStyleImage(file) {
  const model = state.model;
  const image = await cappedImage(file);
  const readCode = placementNow() === "device" && model.kind === "spade"
    ? fileRgba(image).then(({ rgba, width, height }) => device.engine.styleCode(model.id, rgba, width, height))
    : api.styleCode(model.id, image);
  const [code, thumbnail] = await Promise.all([readCode, thumbnailUrl(image)]);
  if (state.model !== model) return;
  setStyle({ kind: "code", code, thumbnail, name: file.name });
}

// ---------- models ----------

/** A model the server could load (the server reports "ready"; a failed one has only an id and an error). */
const isUsable = (model) => model.state !== "failed" && Boolean(model.kind);

function paintableModels() {
  return state.catalogue.models.filter((m) => isUsable(m) && PAINTABLE_KINDS.has(m.kind) && m.input_kind !== "photo");
}

function segmenterFor(labelSet) {
  return state.catalogue.models.find((m) => isUsable(m) && m.kind === "segmenter" && m.label_set?.name === labelSet.name);
}

/** The painting goes along to a model of the same label set and size, so two models can be compared. */
function keepsPainting(model) {
  const previous = state.model;
  return Boolean(previous) && !state.isSketch && model.input_kind === "labels"
    && previous.label_set?.name === model.label_set?.name && previous.size === model.size;
}

function selectModel(id) {
  const model = paintableModels().find((m) => m.id === id);
  if (!model) return;
  const carried = keepsPainting(model) ? surface.indices.slice() : null;
  state.stroke = null;
  state.model = model;
  state.isSketch = model.input_kind === "sketch";
  state.labelSet = state.isSketch ? SKETCH_LABEL_SET : model.label_set;
  settings.model = model.id;
  saveSettings();
  el("model-select").value = model.id;

  const drawing = carried ?? store.loadDrawing(model.id, model.size) ?? starterDrawing(state.labelSet, model.size);
  surface.reset(model.size, state.labelSet, eraseValue(), drawing);
  if (carried) persistDrawing();
  history.clear();
  updateHistoryButtons();

  const classIds = state.labelSet.classes.map((c) => c.id);
  const savedLabel = settings.labels[model.id];
  const firstPaint = classIds.find((c) => c !== state.labelSet.background_id) ?? classIds[0];
  state.label = classIds.includes(savedLabel) ? savedLabel : firstPaint;

  el("palette-section").hidden = state.isSketch;
  if (!state.isSketch) {
    state.markPalette = renderPalette(el("palette"), state.labelSet, selectLabel);
    state.markPalette(state.label);
  }
  el("tool-fill").hidden = state.isSketch;
  el("tool-eyedropper").hidden = state.isSketch;
  el("tool-brush").querySelector("use").setAttribute("href", state.isSketch ? "#icon-pencil" : "#icon-brush");
  el("tool-brush").querySelector(".tool-name").textContent = state.isSketch ? "Pencil" : "Brush";
  el("tool-brush").title = state.isSketch ? "Pencil (B)" : "Brush (B)";
  el("canvas-title").textContent = state.isSketch ? "Sketch" : "Labels";
  el("upload-labels-button").title = state.isSketch ? "Open a sketch (black lines on white)" : "Open a label map";
  // A photo becomes a sketch for any sketch model, but labels only where a segmenter knows the label set.
  const photoToLabels = state.isSketch || Boolean(segmenterFor(state.labelSet));
  el("upload-photo").disabled = !photoToLabels;
  el("upload-photo-button").title = photoToLabels ? "Upload a photo: its labels or sketch become your drawing"
    : `No segmenter knows the "${state.labelSet.name}" labels, so a photo cannot become a drawing for this model`;
  el("canvas-hint").textContent = state.isSketch
    ? "Draw black lines on the white page; the picture follows as you draw."
    : "Pick a label, then paint; the picture follows as you draw.";
  el("model-title").textContent = model.title;
  el("model-description").textContent = model.description;
  el("model-note").textContent = `${model.size}×${model.size}`;

  setBrushSize(brushSize() ?? DEFAULT_BRUSH[state.isSketch ? "sketch" : "labels"]);
  showTool();
  renderStylePanel();
  clearResult("Rendering…");
  connection.setConfig(renderSettings());
  prepareDevice();
  requestRender({ final: true });
}

function fillModelSelects() {
  const select = el("model-select");
  select.replaceChildren();
  for (const model of paintableModels()) select.append(new Option(model.title, model.id));
  for (const model of state.catalogue.models.filter((m) => !isUsable(m))) {
    const option = new Option(`${model.title ?? model.id} (failed to load)`, model.id);
    option.disabled = true;
    option.title = model.error ?? "";
    select.append(option);
  }
  const filter = el("filter-select");
  filter.replaceChildren(new Option("None", ""));
  for (const id of state.catalogue.filters ?? []) {
    const card = state.catalogue.models.find((m) => m.id === id);
    filter.append(new Option(card?.title ?? id, id));
  }
  if (!(state.catalogue.filters ?? []).includes(settings.filter)) settings.filter = "";
  filter.value = settings.filter;
}

async function loadCatalogue() {
  const [fromServer] = await Promise.allSettled([api.models(), device.manifest ?? device.load()]);
  if (fromServer.status === "fulfilled") {
    state.catalogue = fromServer.value;
  } else if (device.manifest) {
    // No server (offline, or a static copy of the painter): the device paints the manifest's models.
    placement.serverFailed("unreachable");
    state.catalogue = catalogueFromManifest(device.manifest);
  } else {
    showEmpty("The server did not give the list of models.", [fromServer.reason.message]);
    return;
  }
  const paintable = paintableModels();
  if (!paintable.length) {
    const failed = state.catalogue.models
      .filter((m) => !isUsable(m))
      .map((m) => `${m.title || m.id}: ${m.error || "failed to load"}`);
    showEmpty(
      "The server has no label or sketch model loaded. Put trained weights in the weights folder and restart the server.",
      failed,
    );
    return;
  }
  el("empty-state").hidden = true;
  el("workspace").hidden = false;
  fillModelSelects();
  if (connection.stopped) connection.start();
  const preferred = [settings.model, state.catalogue.default_model, paintable[0].id];
  selectModel(preferred.find((id) => paintable.some((m) => m.id === id)));
  document.body.dataset.ready = "true";
}

// ---------- files ----------

function saveBlob(blob, filename) {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10000);
}

/** A photo file -> its line drawing as an ImageData in the server's black and white. */
async function sketchOnDevice(photo) {
  const { rgba, width, height } = await fileRgba(photo);
  const drawing = photoSketch(rgba, width, height);
  return new ImageData(indicesToRgba(drawing.ids, SKETCH_LABEL_SET), drawing.width, drawing.height);
}

/** A line drawing (an image, any size) -> the sketch model's drawing, scaled as the page scales any picture it opens. */
async function sketchDrawing(image, model) {
  return rgbaToSketch(await imageToRgba(image, model.size, { smooth: true }));
}

/** A photo -> the current model's drawing in the page: the sketch extractor, or the segmenter. */
async function photoOnDevice(photo, model, segmenter) {
  if (state.isSketch) return sketchDrawing(await sketchOnDevice(photo), model);
  const { rgba, width, height } = await fileRgba(photo);
  return device.engine.segment(segmenter.id, rgba, width, height);
}

/** A photo -> the current model's drawing from the server's /sketch or /segment. */
async function photoOnServer(photo, model, segmenter) {
  if (state.isSketch) return sketchDrawing(await api.sketch(photo), model);
  // The segmenter answers with a palette PNG in the label set's colours; map them back to ids.
  return rgbaToIndices(await imageToRgba(await api.segment(photo, segmenter.id), model.size), state.labelSet);
}

async function startFromPhoto(file) {
  const model = state.model;
  const photo = await squarePhoto(file);
  const segmenter = state.isSketch ? null : segmenterFor(state.labelSet);
  if (!state.isSketch && !segmenter) throw new Error(`The server has no segmenter for the "${state.labelSet.name}" labels, so a photo cannot become a label map for this model.`);
  const deviceCan = state.isSketch || (!device.unsupported(segmenter.id) && segmenter.size === model.size);
  let indices;
  if (deviceCan && placementNow() === "device") {
    indices = await photoOnDevice(photo, model, segmenter);
  } else {
    try {
      indices = await photoOnServer(photo, model, segmenter);
    } catch (error) {
      // A busy or unreachable server hands the photo to the device, as it hands over painting.
      const trouble = serverTrouble(error);
      if (!deviceCan || !trouble || settings.placement === "server") throw error;
      placement.serverFailed(trouble);
      indices = await photoOnDevice(photo, model, segmenter);
    }
  }
  if (state.model === model) replaceDrawing(indices);
}

async function openDrawing(file) {
  const rgba = await imageToRgba(file, state.model.size);
  if (state.isSketch) {
    replaceDrawing(rgbaToSketch(rgba));
    return;
  }
  replaceDrawing(labelMapToIndices(rgba, state.labelSet));
  const share = labelColourShare(rgba, state.labelSet);
  if (share < 0.5) {
    showError(`Only ${Math.round(share * 100)} % of that image's pixels are label colours, so each pixel took the nearest label `
      + "(Undo brings your drawing back). To turn a photo into labels, use Photo.");
  }
}

/** File inputs: run the action on the chosen file, then reset so choosing the same file again works. */
function onFile(inputId, action) {
  const input = el(inputId);
  input.addEventListener("change", async () => {
    const file = input.files?.[0];
    input.value = "";
    if (!file || !state.model) return;
    const label = input.closest(".file-button");
    label?.classList.add("busy");
    await attempt(() => action(file));
    label?.classList.remove("busy");
  });
}

// ---------- wiring ----------

function isTyping(target) {
  return target instanceof Element && target.closest("input:not([type=range]):not([type=file]), select, textarea, dialog");
}

function bindControls() {
  for (const button of document.querySelectorAll(".tool[data-tool]")) {
    button.addEventListener("click", () => setTool(button.dataset.tool));
  }
  for (const button of document.querySelectorAll(".tip")) {
    button.addEventListener("click", () => setTip(button.dataset.tip));
  }
  el("brush-size").addEventListener("input", (event) => setBrushSize(Number(event.target.value)));
  el("undo").addEventListener("click", () => stepHistory("undo"));
  el("redo").addEventListener("click", () => stepHistory("redo"));
  el("clear").addEventListener("click", clearDrawing);
  el("model-select").addEventListener("change", (event) => selectModel(event.target.value));
  el("placement-select").addEventListener("change", (event) => setPlacement(event.target.value));
  el("filter-select").addEventListener("change", (event) => {
    settings.filter = event.target.value;
    saveSettings();
    connection.setConfig(renderSettings());
    if (state.model) prepareDevice();
    requestRender({ final: true });
  });
  el("random-style").addEventListener("click", () => setStyle({ kind: "seed", seed: randomSeed() }));
  el("render").addEventListener("click", () => state.model && renderOverHttp());
  el("download-output").addEventListener("click", () => {
    if (!state.result) showError("There is no picture to download yet: paint something first.");
    else saveBlob(state.result, `${state.model.id}-picture.png`);
  });
  el("download-labels").addEventListener("click", () =>
    attempt(async () => saveBlob(await surface.toColourPng(), `${state.model.id}-${state.isSketch ? "sketch" : "labels"}.png`)),
  );
  onFile("upload-photo", startFromPhoto);
  onFile("upload-labels", openDrawing);
  onFile("style-upload", useStyleImage);
  el("canvas-preview").addEventListener("click", () => el("result-frame").scrollIntoView({ behavior: "smooth", block: "center" }));
  el("error-close").addEventListener("click", hideError);
  el("retry-models").addEventListener("click", loadCatalogue);

  const dialog = el("settings-dialog");
  el("open-settings").addEventListener("click", () => {
    el("api-key").value = settings.apiKey;
    dialog.showModal();
  });
  dialog.addEventListener("close", () => {
    if (dialog.returnValue !== "save") return;
    settings.apiKey = el("api-key").value.trim();
    saveSettings();
    connection.restart();
    if (!state.model) loadCatalogue();
  });

  window.addEventListener("keydown", (event) => {
    if (isTyping(event.target)) return;
    const key = event.key.toLowerCase();
    const command = event.ctrlKey || event.metaKey;
    if (command && key === "z") {
      event.preventDefault();
      stepHistory(event.shiftKey ? "redo" : "undo");
    } else if (command && key === "y") {
      event.preventDefault();
      stepHistory("redo");
    } else if (!command && !event.altKey && state.model) {
      const size = brushSize();
      const step = Math.max(1, Math.round(size * 0.15));
      if (TOOL_KEYS[key]) setTool(TOOL_KEYS[key]);
      else if (event.key === "[") setBrushSize(size - step);
      else if (event.key === "]") setBrushSize(size + step);
    }
  });
}

function fillPlacementSelect() {
  const select = el("placement-select");
  for (const [mode, name] of Object.entries(PLACEMENTS)) select.append(new Option(name, mode));
  if (!(settings.placement in PLACEMENTS)) settings.placement = "auto";
  select.value = settings.placement;
}

/** The service worker keeps the page, the runtime and the manifest for offline visits (sw.js). */
function registerServiceWorker() {
  navigator.serviceWorker?.register("sw.js", { type: "module", scope: "./" }).catch((error) => {
    showNotice(`Offline use is off: the service worker did not start (${error?.message ?? error}).`);
  });
}

bindControls();
fillPlacementSelect();
setTip(settings.tip);
registerServiceWorker();
loadCatalogue();
