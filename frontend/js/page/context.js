// What every panel of the painter shares: the settings kept in this browser, the drawing surface and its undo
// history, the API client, and the page's running state. app.js attaches the panels (page.where, page.picture,
// ...) to the same object, so a panel calls another through it at the moment it needs it.

import { createApi } from "../api.js";
import { History } from "../history.js";
import { LabelCanvas } from "../labelcanvas.js";
import { Store } from "../storage.js";

export const DEFAULT_BRUSH = { labels: 16, sketch: 2 };

export const el = (id) => document.getElementById(id);

export function createPage() {
  const store = new Store();
  const settings = {
    tool: "brush", tip: "round", filter: "", apiKey: "", placement: "auto", brushSizes: { ...DEFAULT_BRUSH }, styles: {}, labels: {},
    ...store.loadSettings(),
  };
  return {
    store,
    settings,
    saveSettings: () => store.saveSettings(settings),
    api: createApi({ getApiKey: () => settings.apiKey }),
    surface: new LabelCanvas(el("label-canvas")),
    history: new History(),
    state: {
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
    },
  };
}
