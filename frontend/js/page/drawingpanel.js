// The drawing: the canvas under pointer and keyboard, each finished edit one undo step, saved in this browser
// and sent to be painted.

import { floodFill } from "../floodfill.js";
import { attachKeyboard } from "../keyboardcanvas.js";
import { attachPointer } from "../pointer.js";
import { paintSegment } from "../raster.js";
import { el } from "./context.js";
import { showError } from "./messages.js";

// The undo steps kept across a reload, per model: at 6 bytes a changed pixel, a few whole-canvas fills at 256 px.
const SAVED_HISTORY_BYTES = 384 * 1024;

export function createDrawingPanel(page) {
  const { settings, state, surface, history } = page;
  const canvasElement = el("label-canvas");
  const tools = () => page.tools;

  function persistDrawing() {
    const steps = history.newestSteps(SAVED_HISTORY_BYTES);
    if (!page.store.saveDrawing(state.model.id, surface.size, surface.indices, steps) && !state.warnedStorage) {
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
      page.picture.requestRender({ final: true });
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
    page.picture.requestRender({ final: true });
  }

  function clearDrawing() {
    if (!state.model) return;
    const before = surface.indices.slice();
    surface.indices.fill(tools().eraseValue());
    commit(before);
  }

  /** A new drawing for the current model: `carried` from the previous model, the saved one with its undo
   * steps, or `fresh()`. */
  function startDrawing(model, carried, fresh) {
    const saved = carried ? null : page.store.loadDrawing(model.id, model.size);
    surface.reset(model.size, state.labelSet, tools().eraseValue(), carried ?? saved ?? fresh());
    history.clear();
    if (saved) history.restore(page.store.loadHistory(model.id, model.size) ?? undefined, saved.length);
    if (carried) persistDrawing(); // the model's own saved steps belonged to the drawing this replaces
    updateHistoryButtons();
  }

  function brush(value) {
    return { size: tools().brushSize(), tip: settings.tip, value };
  }

  const canvasInput = {
    onStart(point) {
      if (!state.model) return;
      const tool = tools().activeTool();
      const { size } = surface;
      if (point.x < 0 || point.y < 0 || point.x >= size || point.y >= size) return;
      if (tool === "eyedropper") {
        const id = surface.at(point.x, point.y);
        if (state.labelSet.classes.some((c) => c.id === id)) tools().selectLabel(id);
        return;
      }
      const before = surface.indices.slice();
      if (tool === "fill") {
        if (floodFill(surface.indices, size, size, point.x, point.y, tools().inkValue())) commit(before);
        return;
      }
      state.stroke = { before, last: point, value: tool === "eraser" ? tools().eraseValue() : tools().inkValue() };
      paintSegment(surface.indices, size, size, point, point, brush(state.stroke.value));
      surface.render();
      page.picture.requestRender();
    },
    onMove(point) {
      const stroke = state.stroke;
      if (!stroke) return;
      paintSegment(surface.indices, surface.size, surface.size, stroke.last, point, brush(stroke.value));
      stroke.last = point;
      surface.render();
      page.picture.requestRender();
    },
    onEnd() {
      const stroke = state.stroke;
      if (!stroke) return;
      state.stroke = null;
      commit(stroke.before);
    },
    onHover(point, event) {
      const cursor = el("brush-cursor");
      const tool = tools().activeTool();
      if (!point || event.pointerType === "touch" || (tool !== "brush" && tool !== "eraser")) {
        cursor.hidden = true;
        return;
      }
      const scale = canvasElement.getBoundingClientRect().width / surface.size;
      const diameter = Math.max(2, tools().brushSize() * scale);
      cursor.hidden = false;
      cursor.className = `brush-cursor ${settings.tip}`;
      cursor.style.width = cursor.style.height = `${diameter}px`;
      cursor.style.left = `${point.x * scale}px`;
      cursor.style.top = `${point.y * scale}px`;
    },
  };

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

  attachPointer(canvasElement, canvasInput);
  // The same tools from the keyboard: arrows move a cursor, Space held paints, Enter paints, fills or picks once.
  attachKeyboard(canvasElement, { ...canvasInput, step: () => tools().brushSize() / 2, onCursor: showKeyboardCursor });
  el("undo").addEventListener("click", () => stepHistory("undo"));
  el("redo").addEventListener("click", () => stepHistory("redo"));
  el("clear").addEventListener("click", clearDrawing);

  return { persistDrawing, replaceDrawing, stepHistory, startDrawing };
}
