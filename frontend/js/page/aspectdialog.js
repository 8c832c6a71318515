// Asks what to do with a picture that is not square (the canvas is), as a photo editor does: crop it to its
// centre, or fit it whole with a border. Never distorts; a remembered answer is kept in the settings.

import { imageSize } from "../images.js";
import { FITS } from "../squaring.js";
import { el } from "./context.js";

export function createAspectDialog(page) {
  const dialog = el("aspect-dialog");

  /** "crop" or "pad" for `file` (a square picture needs neither: "crop"), or null when the person cancels.
   * `border` names what padding adds ("sky", "white"). */
  async function choose(file, border) {
    const { width, height } = await imageSize(file);
    if (width === height) return "crop";
    const remembered = page.settings.nonSquare;
    if (remembered in FITS) return remembered;
    el("aspect-text").textContent = `It is ${width}×${height} and the canvas is square. Crop it to its centre, `
      + `or fit all of it with ${border} around it.`;
    el("aspect-remember").checked = false;
    dialog.returnValue = "";
    dialog.showModal();
    await new Promise((resolve) => dialog.addEventListener("close", resolve, { once: true }));
    const fit = dialog.returnValue in FITS ? dialog.returnValue : null;
    if (fit && el("aspect-remember").checked) {
      page.settings.nonSquare = fit;
      page.saveSettings();
    }
    return fit;
  }

  return { choose };
}
