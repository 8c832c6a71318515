// The Settings dialog: the API key, kept in this browser and sent with every request, and what to do with
// pictures that are not square.

import { el } from "./context.js";

export function attachSettingsDialog(page) {
  const dialog = el("settings-dialog");
  el("open-settings").addEventListener("click", () => {
    el("api-key").value = page.settings.apiKey;
    el("non-square").value = page.settings.nonSquare ?? "ask";
    dialog.showModal();
  });
  dialog.addEventListener("close", () => {
    if (dialog.returnValue !== "save") return;
    page.settings.apiKey = el("api-key").value.trim();
    page.settings.nonSquare = el("non-square").value;
    page.saveSettings();
    page.where.connection.restart();
    if (!page.state.model) page.models.loadCatalogue();
  });
}
