// Where pictures are painted and how that is going: the Run on picker, the status in the top bar, the live
// socket to the server, the device painter with its downloads, and the notices about either.

import { LiveConnection } from "../connection.js";
import { DeviceUnavailable } from "../device/engine.js";
import { progressText } from "../device/modelfiles.js";
import { DevicePainter } from "../device/painter.js";
import { PLACEMENTS, Placement, serverTrouble } from "../device/placement.js";
import { el } from "./context.js";
import { errorText, showError } from "./messages.js";

const MAX_NOTICES = 3;

export function createPlacementPanel(page) {
  const { settings, state } = page;
  let lastTiming = "";

  function setStatus(connectionState, text) {
    const status = el("status");
    status.dataset.state = connectionState;
    el("status-text").textContent = text;
    status.title = text; // the whole text, where the bar is too narrow to show it
    // Only without a live painter (no socket, no device) must a person click Render to see a picture.
    const live = connectionState === "live" || connectionState === "device";
    el("render").classList.toggle("attention", !live);
    el("render").title = live ? "The picture follows your drawing live; Render paints it once more, over HTTP"
      : "Nothing paints live now: Render paints the picture of your drawing, over HTTP";
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
      if (connectionState === "live" && state.model) page.picture.requestRender({ final: true });
      if (connectionState === "offline" && state.renderWhenConnected) {
        state.renderWhenConnected = false;
        page.picture.renderOverHttp();
      }
    },
    onResult: ({ blob, modelMs, totalMs, level, levels }) => {
      if (level === undefined) placement.serverAnswered(totalMs);  // a coarse picture is not the frame's time
      page.picture.showResult(blob, { where: "server", modelMs, totalMs, seq: state.socketFrameSeq, level, levels });
    },
    onError: (message) => {
      el("result-frame").dataset.busy = "false";
      showError(message);
    },
  });

  const placement = new Placement();
  const device = new DevicePainter({
    onProgress: showDownload,
    onNotice: showNotice,
    onResult: ({ blob, deviceMs, totalMs, job }) => {
      placement.device.observe(totalMs);
      page.picture.showResult(blob, { where: "device", modelMs: deviceMs, totalMs, seq: job.seq });
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
    while (list.children.length > MAX_NOTICES) list.lastChild.remove();
    list.hidden = false;
  }

  /** A frame the device could not paint: a model it gave up on goes to the server, anything else is shown. */
  function deviceFailed(error) {
    el("result-frame").dataset.busy = "false";
    if (error instanceof DeviceUnavailable && state.model) {
      state.deviceBroken.set(state.model.id, error.message);
      page.picture.requestRender({ final: true }); // its placement note says why the server paints it now
    } else {
      showError(errorText(error));
    }
  }

  /** The one notice that says why pictures are painted where they are now; none when that needs no words.
   * It is replaced, not stacked, so it never outlives the model or choice it was about. */
  function showPlacementNote(text) {
    const list = el("device-notices");
    const note = list.querySelector("[data-kind=placement]");
    if ((note?.textContent ?? "") === text) return;
    note?.remove();
    if (text) {
      showNotice(text);
      list.firstChild.dataset.kind = "placement";
    }
    list.hidden = list.children.length === 0;
  }

  /** "device" or "server": where the current model's next picture is painted. */
  function placementNow() {
    const broken = state.deviceBroken.get(state.model.id);
    const problem = device.unsupported(state.model.id) ?? broken ?? null;
    const choice = placement.choose(settings.placement, problem);
    // A model the device gave up on is painted by the server whatever was chosen (bar the server itself): say why.
    const why = choice.why || (broken && settings.placement !== "server" ? broken : "");
    showPlacementNote(why);
    return choice.where;
  }

  /** Whether the device may paint the current model at all (the person did not choose the server). */
  function deviceMayPaint() {
    return settings.placement !== "server" && Boolean(state.model) && !device.unsupported(state.model.id)
      && !state.deviceBroken.has(state.model.id);
  }

  /** A server failure that the device can make up for (busy, unreachable): paint there instead. */
  function fallBackToDevice(error) {
    const trouble = serverTrouble(error);
    if (!trouble || !deviceMayPaint()) return false;
    placement.serverFailed(trouble);
    page.picture.requestRender({ final: true });
    return true;
  }

  /** Start downloading what the device needs for the current model, unless the person chose the server. */
  function prepareDevice() {
    const model = state.model;
    if (!deviceMayPaint()) return;
    device.engine.prepare(model.id, settings.filter).catch((error) => {
      if (state.model === model) deviceFailed(error);
    });
  }

  function setPlacement(mode) {
    settings.placement = mode;
    page.saveSettings();
    el("placement-select").value = mode;
    if (!state.model) return;
    prepareDevice();
    page.picture.requestRender({ final: true });
  }

  function fillPlacementSelect() {
    const select = el("placement-select");
    for (const [mode, name] of Object.entries(PLACEMENTS)) select.append(new Option(name, mode));
    if (!(settings.placement in PLACEMENTS)) settings.placement = "auto";
    select.value = settings.placement;
    select.addEventListener("change", (event) => setPlacement(event.target.value));
  }

  /** The service worker keeps the page, the runtime and the manifest for offline visits (sw.js). */
  function registerServiceWorker() {
    navigator.serviceWorker?.register("sw.js", { type: "module", scope: "./" }).catch((error) => {
      showNotice(`Offline use is off: the service worker did not start (${errorText(error)}).`);
    });
  }

  /** The top bar's status after a picture painted at `where` arrived in `timing` ("123 ms"). */
  function pictureArrived(where, timing) {
    lastTiming = timing;
    if (where === "device") {
      const { backend, threads } = device.runtimeInfo;
      setStatus("device", `On this device · ${backend === "webgpu" ? "WebGPU" : `wasm, ${threads} thread${threads === 1 ? "" : "s"}`}`);
    } else if (connection.isLive) {
      setStatus("live", describeConnection("live"));
    }
  }

  fillPlacementSelect();
  registerServiceWorker();

  return {
    connection, placement, device, setStatus, placementNow, fallBackToDevice, prepareDevice, pictureArrived,
  };
}
