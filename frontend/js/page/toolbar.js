// The tools: brush (pencil on a sketch), fill, eraser and label picker, the brush size and tip, the label in
// hand, and the keyboard shortcuts for them and for undo.

import { SKETCH_INK, SKETCH_PAPER, backgroundWords } from "../palette.js";
import { el } from "./context.js";

const TOOL_KEYS = { b: "brush", f: "fill", e: "eraser", i: "eyedropper" };
const SKETCH_TOOLS = new Set(["brush", "eraser"]);

function isTyping(target) {
  return target instanceof Element && target.closest("input:not([type=range]):not([type=file]), select, textarea, dialog");
}

export function createToolbar(page) {
  const { settings, state } = page;

  const eraseValue = () => (state.isSketch ? SKETCH_PAPER : state.labelSet.background_id);
  const inkValue = () => (state.isSketch ? SKETCH_INK : state.label);
  const brushSize = () => settings.brushSizes[state.isSketch ? "sketch" : "labels"];
  const activeTool = () => (state.isSketch && !SKETCH_TOOLS.has(settings.tool) ? "brush" : settings.tool);

  function setTool(tool) {
    if (state.isSketch && !SKETCH_TOOLS.has(tool)) return;
    settings.tool = tool;
    page.saveSettings();
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
    page.saveSettings();
  }

  function setTip(tip) {
    settings.tip = tip;
    page.saveSettings();
    for (const button of document.querySelectorAll(".tip")) {
      button.setAttribute("aria-pressed", String(button.dataset.tip === tip));
    }
  }

  function selectLabel(id) {
    state.label = id;
    settings.labels[state.model.id] = id;
    page.saveSettings();
    state.markPalette(id);
    // Choosing or picking a label means painting with it, unless the fill bucket is what the person is using.
    if (settings.tool !== "fill") setTool("brush");
  }

  /** The tools a model offers: a sketch has a pencil and an eraser, a label map all four. */
  function showToolsFor(isSketch) {
    el("tool-eraser").title = isSketch ? "Eraser: paints white paper (E)"
      : `Eraser: paints ${backgroundWords(state.labelSet)} (E)`;
    el("tool-fill").hidden = isSketch;
    el("tool-eyedropper").hidden = isSketch;
    el("tool-brush").querySelector("use").setAttribute("href", isSketch ? "#icon-pencil" : "#icon-brush");
    el("tool-brush").querySelector(".tool-name").textContent = isSketch ? "Pencil" : "Brush";
    el("tool-brush").title = isSketch ? "Pencil (B)" : "Brush (B)";
    showTool();
  }

  for (const button of document.querySelectorAll(".tool[data-tool]")) {
    button.addEventListener("click", () => setTool(button.dataset.tool));
  }
  for (const button of document.querySelectorAll(".tip")) {
    button.addEventListener("click", () => setTip(button.dataset.tip));
  }
  el("brush-size").addEventListener("input", (event) => setBrushSize(Number(event.target.value)));
  window.addEventListener("keydown", (event) => {
    if (isTyping(event.target)) return;
    const key = event.key.toLowerCase();
    const command = event.ctrlKey || event.metaKey;
    if (command && key === "z") {
      event.preventDefault();
      page.drawing.stepHistory(event.shiftKey ? "redo" : "undo");
    } else if (command && key === "y") {
      event.preventDefault();
      page.drawing.stepHistory("redo");
    } else if (!command && !event.altKey && state.model) {
      const size = brushSize();
      const step = Math.max(1, Math.round(size * 0.15));
      if (TOOL_KEYS[key]) setTool(TOOL_KEYS[key]);
      else if (event.key === "[") setBrushSize(size - step);
      else if (event.key === "]") setBrushSize(size + step);
    }
  });
  setTip(settings.tip);

  return { eraseValue, inkValue, brushSize, activeTool, setBrushSize, selectLabel, showToolsFor };
}
