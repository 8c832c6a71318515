// The drawing's file menu: a photo made into the drawing (by a segmenter or the sketch extractor), a label map
// or sketch opened from a file, and the drawing saved as a PNG.

import { fileRgba } from "../device/picture.js";
import { serverTrouble } from "../device/placement.js";
import { photoSketch } from "../device/sketch.js";
import { fittedRgba, imageToRgba, squarePhoto } from "../images.js";
import {
  SKETCH_LABEL_SET, backgroundName, backgroundWords, indicesToRgba, labelColourShare, labelMapToIndices, rgbaToIndices, rgbaToSketch,
} from "../palette.js";
import { padDrawing } from "../squaring.js";
import { el } from "./context.js";
import { onFile, saveBlob } from "./fileio.js";
import { attempt, showError } from "./messages.js";

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

export function createFileMenu(page) {
  const { settings, state, surface } = page;

  /** A photo -> the current model's drawing in the page: the sketch extractor, or the segmenter. */
  async function photoOnDevice(photo, model, segmenter) {
    if (state.isSketch) return sketchDrawing(await sketchOnDevice(photo), model);
    const { rgba, width, height } = await fileRgba(photo);
    return page.where.device.engine.segment(segmenter.id, rgba, width, height);
  }

  /** A photo -> the current model's drawing from the server's /sketch or /segment. */
  async function photoOnServer(photo, model, segmenter) {
    if (state.isSketch) return sketchDrawing(await page.api.sketch(photo), model);
    // The segmenter answers with a palette PNG in the label set's colours; map them back to ids.
    return rgbaToIndices(await imageToRgba(await page.api.segment(photo, segmenter.id), model.size), state.labelSet);
  }

  async function startFromPhoto(file) {
    const model = state.model;
    const { device, placement } = page.where;
    const fit = await page.aspect.choose(file, "white");
    if (!fit) return;
    const photo = await squarePhoto(file, fit);
    const segmenter = state.isSketch ? null : page.models.segmenterFor(state.labelSet);
    if (!state.isSketch && !segmenter) throw new Error(`The server has no segmenter for the "${state.labelSet.name}" labels, so a photo cannot become a label map for this model.`);
    const deviceCan = state.isSketch || (!device.unsupported(segmenter.id) && segmenter.size === model.size);
    let indices;
    if (deviceCan && page.where.placementNow() === "device") {
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
    if (state.model === model) page.drawing.replaceDrawing(indices);
  }

  /** A label map or a sketch from a file; one that is not square is cropped or padded with the background. */
  async function openDrawing(file) {
    const fit = await page.aspect.choose(file, state.isSketch ? "white" : backgroundName(state.labelSet));
    if (!fit) return;
    const { size } = state.model;
    const { rgba, rect } = fit === "pad" ? await fittedRgba(file, size) : { rgba: await imageToRgba(file, size), rect: null };
    const ids = state.isSketch ? rgbaToSketch(rgba) : labelMapToIndices(rgba, state.labelSet);
    page.drawing.replaceDrawing(rect ? padDrawing(ids, rect, size, page.tools.eraseValue()) : ids);
    if (state.isSketch) return;
    const share = labelColourShare(rgba, state.labelSet);
    if (share < 0.5) {
      showError(`Only ${Math.round(share * 100)} % of that image's pixels are label colours, so each pixel took the nearest label `
        + "(Undo brings your drawing back). To turn a photo into labels, use Photo.");
    }
  }

  /** The canvas panel's title, buttons and hint for `model`; `hasSegmenter`: a photo can become its labels. */
  function showFor(model, hasSegmenter) {
    const isSketch = model.input_kind === "sketch";
    el("canvas-title").textContent = isSketch ? "Sketch" : "Drawing"; // "Labels" heads the palette
    el("upload-labels-button").title = isSketch ? "Open a sketch (black lines on white)" : "Open a label map";
    // A photo becomes a sketch for any sketch model, but labels only where a segmenter knows the label set.
    const photoToLabels = isSketch || hasSegmenter;
    el("upload-photo").disabled = !photoToLabels;
    el("upload-photo-button").title = photoToLabels ? "Upload a photo: its labels or sketch become your drawing"
      : `No segmenter knows the "${model.label_set?.name}" labels, so a photo cannot become a drawing for this model`;
    el("canvas-hint").textContent = isSketch
      ? "Draw black lines on the white page; the eraser paints white paper. The picture follows as you draw."
      : `Pick a label, then paint; the eraser paints ${backgroundWords(model.label_set)}. `
        + "The picture follows as you draw.";
  }

  const ready = () => Boolean(state.model);
  onFile("upload-photo", ready, startFromPhoto);
  onFile("upload-labels", ready, openDrawing);
  el("download-labels").addEventListener("click", () =>
    attempt(async () => saveBlob(await surface.toColourPng(), `${state.model.id}-${state.isSketch ? "sketch" : "labels"}.png`)),
  );

  return { showFor };
}
