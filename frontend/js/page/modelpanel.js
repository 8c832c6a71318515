// The models: the catalogue (from the server, or the device manifest without one), the Model and Filter
// pickers, and switching the whole page to a model.

import { catalogueFromManifest } from "../device/manifest.js";
import { shownLabelSet } from "../displaycolours.js";
import { SKETCH_LABEL_SET, carriedDrawing, renderPalette } from "../palette.js";
import { starterDrawing } from "../starter.js";
import { DEFAULT_BRUSH, el } from "./context.js";

const PAINTABLE_KINDS = new Set(["spade", "hybrid", "pix2pix"]);

/** A model the server could load (the server reports "ready"; a failed one has only an id and an error). */
const isUsable = (model) => model.state !== "failed" && Boolean(model.kind);

export function createModelPanel(page) {
  const { settings, state, surface } = page;

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

  function showEmpty(message, details) {
    el("workspace").hidden = true;
    el("empty-state").hidden = false;
    el("empty-message").textContent = message;
    el("empty-details").replaceChildren(...details.map((text) => {
      const item = document.createElement("li");
      item.textContent = text;
      return item;
    }));
    page.where.setStatus("offline", "No model");
  }

  function selectModel(id) {
    const model = paintableModels().find((m) => m.id === id);
    if (!model) return;
    const carried = keepsPainting(model) ? carriedDrawing(surface.indices.slice(), state.labelSet, model.label_set) : null;
    const previous = state.model;
    state.stroke = null;
    state.model = model;
    state.isSketch = model.input_kind === "sketch";
    state.labelSet = state.isSketch ? SKETCH_LABEL_SET : model.label_set;
    settings.model = model.id;
    page.saveSettings();
    el("model-select").value = model.id;
    page.drawing.startDrawing(model, carried, () => starterDrawing(state.labelSet, model.size));

    const classIds = state.labelSet.classes.map((c) => c.id);
    const savedLabel = settings.labels[model.id];
    const firstPaint = classIds.find((c) => c !== state.labelSet.background_id) ?? classIds[0];
    state.label = classIds.includes(savedLabel) ? savedLabel : firstPaint;

    el("palette-section").hidden = state.isSketch;
    if (!state.isSketch) {
      state.markPalette = renderPalette(el("palette"), shownLabelSet(state.labelSet), page.tools.selectLabel);
      state.markPalette(state.label);
    }
    page.tools.showToolsFor(state.isSketch);
    page.files.showFor(model, Boolean(segmenterFor(state.labelSet)));
    el("model-title").textContent = model.title;
    el("model-description").textContent = model.description;
    const pictureSize = model.picture_size ?? model.size;
    el("model-note").textContent = pictureSize === model.size ? `${model.size}×${model.size}`
      : `painted ${model.size}×${model.size}, pictures ${pictureSize}×${pictureSize}`;

    page.tools.setBrushSize(page.tools.brushSize() ?? DEFAULT_BRUSH[state.isSketch ? "sketch" : "labels"]);
    page.styles.renderStylePanel();
    page.picture.clearResult("Rendering…");
    page.picture.settingsChanged();
    page.where.prepareDevice();
    page.picture.requestRender({ final: true });
    page.styles.carryStyleImage(previous);
  }

  function fillModelSelects() {
    const select = el("model-select");
    select.replaceChildren();
    // The default model heads the list: it is the one a first visit opens.
    const isDefault = (model) => model.id === state.catalogue.default_model;
    const ordered = [...paintableModels().filter(isDefault), ...paintableModels().filter((m) => !isDefault(m))];
    for (const model of ordered) select.append(new Option(model.title, model.id));
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

  function setFilter(id) {
    settings.filter = id;
    page.saveSettings();
    page.picture.settingsChanged();
    if (state.model) page.where.prepareDevice();
    page.picture.requestRender({ final: true });
  }

  async function loadCatalogue() {
    const { device, placement, connection } = page.where;
    const [fromServer] = await Promise.allSettled([page.api.models(), device.manifest ?? device.load()]);
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

  el("model-select").addEventListener("change", (event) => selectModel(event.target.value));
  el("filter-select").addEventListener("change", (event) => setFilter(event.target.value));
  el("retry-models").addEventListener("click", loadCatalogue);

  return { loadCatalogue, segmenterFor };
}
