// The picture panel: asks for a picture of the drawing (on the device, over the socket, or over HTTP), shows
// the newest answer with its timing, and offers it for download.

import { indicesToGrey } from "../palette.js";
import { encodeGreyPng } from "../png.js";
import { base64ToBytes } from "../storage.js";
import { el } from "./context.js";
import { errorText, showError } from "./messages.js";
import { saveBlob } from "./fileio.js";

const WHERE_NAMES = { device: "This device", server: "Server" };

export function createPicturePanel(page) {
  const { state, surface } = page;
  const outputImage = el("output-image");
  const where = () => page.where;

  function renderSettings() {
    const fields = { model: state.model.id, ...page.styles.styleFields() };
    if (page.settings.filter) fields.filter = page.settings.filter;
    return fields;
  }

  /** The socket's settings as /translate's form: a style photo goes as the `style` file. */
  function httpFields() {
    const { style_image: styleImage, ...fields } = renderSettings();
    if (styleImage) fields.style = new Blob([base64ToBytes(styleImage)], { type: "image/jpeg" });
    return fields;
  }

  /** The live socket paints with the current model, style and filter from now on. */
  function settingsChanged() {
    where().connection.setConfig(renderSettings());
  }

  const encodeDrawing = () =>
    encodeGreyPng(surface.size, surface.size, indicesToGrey(surface.indices, state.isSketch));

  /** The device's job for render request `seq`: the drawing and settings as they are when its frame starts. */
  const deviceJob = (seq) => () => ({
    seq,
    modelId: state.model.id,
    drawing: surface.indices.slice(),
    style: page.styles.hasStyles() ? page.styles.currentStyle() : null,
    filterId: page.settings.filter,
  });

  /**
   * Ask for a new picture of the current drawing. Over the socket this happens while painting; without
   * it, only finished edits (`final`) go over HTTP so a stroke does not fire a request per pointer move.
   * While the socket is still connecting, the render waits for it (or for it to fail).
   */
  function requestRender({ final = false } = {}) {
    if (!state.model) return;
    const { connection, device } = where();
    const seq = (state.renderSeq += 1);
    if (where().placementNow() === "device") {
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
      const { blob, modelMs } = await page.api.translate({ ...httpFields(), image: new Blob([await encodeDrawing()], { type: "image/png" }) });
      const totalMs = performance.now() - started;
      where().placement.serverAnswered(totalMs);
      showResult(blob, { where: "server", modelMs, totalMs, seq });
    } catch (error) {
      if (!where().fallBackToDevice(error)) showError(errorText(error));
    }
    el("result-frame").dataset.busy = "false";
    state.httpBusy = false;
    if (state.httpPending) {
      state.httpPending = false;
      renderOverHttp();
    }
  }

  /** The other side's running estimate, so both sides' milliseconds are in view. */
  function otherSide(side) {
    const other = side === "device" ? "server" : "device";
    const ms = where().placement[other].ms;
    return ms === null ? "" : `${other} ~${Math.round(ms)} ms`;
  }

  /** A picture arrived for render request `seq`; timing: { where: "device" | "server", modelMs, totalMs }.
   * A progressive model's coarser pictures come with { level, levels }. An answer to a request older than
   * the picture on show is dropped. */
  function showResult(blob, { where: side, modelMs, totalMs, seq, level, levels }) {
    const { connection, device } = where();
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
    const sharpening = level !== undefined ? `sharpening: pass ${level} of ${levels}, finer detail follows` : "";
    el("frame-ms").textContent = [sharpening, model && `model ${model}`,
      total && `${side === "device" ? "total" : "round trip"} ${total}`, otherSide(side)]
      .filter(Boolean).join(" · ");
    outputImage.dataset.level = level !== undefined ? `${level}/${levels}` : "final";
    el("result-where").textContent = WHERE_NAMES[side];
    el("result-where").dataset.where = side;
    state.lastWhere = side;
    where().pictureArrived(side, total || model);
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

  el("render").addEventListener("click", () => state.model && renderOverHttp());
  el("download-output").addEventListener("click", () => {
    if (!state.result) showError("There is no picture to download yet: paint something first.");
    else saveBlob(state.result, `${state.model.id}-picture.png`);
  });
  el("canvas-preview").addEventListener("click", () => el("result-frame").scrollIntoView({ behavior: "smooth", block: "center" }));

  return { requestRender, renderOverHttp, showResult, clearResult, settingsChanged };
}
