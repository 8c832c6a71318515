// The style panel: the current style, the model's presets, a random style and a style read from the person's
// own image. Each model keeps its own choice in the settings; an image style goes along to the next model.

import { fileRgba } from "../device/picture.js";
import { cappedImage, thumbnailUrl } from "../images.js";
import { base64ToBytes, bytesToBase64 } from "../storage.js";
import { el } from "./context.js";
import { onFile } from "./fileio.js";
import { attempt } from "./messages.js";

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

const STYLE_IMAGE_KEY = "style-image";
const KEPT_IMAGE_SIDE = 512; // the style encoders pool the whole picture: a smaller copy reads about the same

/** A JPEG copy of a style image, at most KEPT_IMAGE_SIDE a side, as base64 for localStorage. */
async function keptImage(image) {
  const bitmap = await createImageBitmap(await cappedImage(image, KEPT_IMAGE_SIDE));
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const context = canvas.getContext("2d");
  context.fillStyle = "#ffffff"; // JPEG has no transparency: white paper, as the server and device read one
  context.fillRect(0, 0, bitmap.width, bitmap.height);
  context.drawImage(bitmap, 0, 0);
  bitmap.close();
  const blob = await canvas.convertToBlob({ type: "image/jpeg", quality: 0.9 });
  return bytesToBase64(new Uint8Array(await blob.arrayBuffer()));
}

export function createStylePanel(page) {
  const { settings, state } = page;

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

  /** The kept style image (base64 JPEG) when the current style is read from it, else null. */
  function styleImage(style) {
    const saved = style.kind === "code" ? page.store.read(STYLE_IMAGE_KEY) : null;
    return saved && saved.id === style.imageId ? saved.image : null;
  }

  /**
   * The request fields that carry the current style. A model that paints with the style photo itself (the
   * landscape renderer) is sent the photo (`style_image`, base64), not only the numbers read from it.
   */
  function styleFields() {
    if (!hasStyles()) return {};
    const style = currentStyle();
    if (style.kind === "preset") return { style_id: style.id };
    if (style.kind === "code") {
      const image = state.model.paints_with_style_photo ? styleImage(style) : null;
      return image ? { style_image: image } : { style_code: style.code };
    }
    return { seed: style.seed };
  }

  function setStyle(style) {
    settings.styles[state.model.id] = style;
    page.saveSettings();
    showStyle();
    page.picture.settingsChanged();
    page.picture.requestRender({ final: true });
  }

  /** The panel for the current model: its presets, or a note that it has no styles. */
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
      if (state.model.paints_with_style_photo && styleImage(style)) name += " (painted with its textures)";
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

  /** The current model's style code of `image` (a blob): SPADE's encoder on the device, or the server. */
  function readCode(model, image) {
    const { device } = page.where;
    return page.where.placementNow() === "device" && model.kind === "spade"
      ? fileRgba(image).then(({ rgba, width, height }) => device.engine.styleCode(model.id, rgba, width, height))
      : page.api.styleCode(model.id, image);
  }

  async function useStyleImage(file) {
    const model = state.model;
    const image = await cappedImage(file);
    const [code, thumbnail, kept] = await Promise.all([readCode(model, image), thumbnailUrl(image), keptImage(image)]);
    if (state.model !== model) return;
    const imageId = `${Date.now()}`;
    // The image itself is kept (once, whichever model read it) so another model can read its own code from it.
    page.store.write(STYLE_IMAGE_KEY, { id: imageId, image: kept });
    setStyle({ kind: "code", code, thumbnail, name: file.name, imageId });
  }

  /** After a switch from `previous`: an image style it had is read again for this model, so it is kept. */
  async function carryStyleImage(previous) {
    const before = previous && settings.styles[previous.id];
    if (before?.kind !== "code" || !hasStyles()) return;
    const now = currentStyle();
    if (now.kind === "code" && now.imageId === before.imageId) return;
    const saved = page.store.read(STYLE_IMAGE_KEY);
    if (!saved || saved.id !== before.imageId) return;
    const model = state.model;
    const image = new Blob([base64ToBytes(saved.image)], { type: "image/jpeg" });
    const code = await readCode(model, image);
    if (state.model === model) setStyle({ ...before, code });
  }

  el("random-style").addEventListener("click", () => setStyle({ kind: "seed", seed: randomSeed() }));
  onFile("style-upload", () => Boolean(state.model), useStyleImage);

  return {
    hasStyles, currentStyle, styleFields, renderStylePanel,
    carryStyleImage: (previous) => attempt(() => carryStyleImage(previous)),
  };
}
