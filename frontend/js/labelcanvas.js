// The drawing surface: a Uint8Array of class ids is the truth, the <canvas> only shows it.
// Rendering writes exact palette colours (as shown: displaycolours.js) through ImageData, so the canvas never
// holds a colour that is not a label (no anti-aliasing, no blending). Files get the dataset's colours.

import { shownLabelSet } from "./displaycolours.js";
import { indicesToRgba } from "./palette.js";

export class LabelCanvas {
  constructor(canvas) {
    this.canvas = canvas;
    this.context = canvas.getContext("2d", { willReadFrequently: true });
    this.size = 0;
    this.indices = new Uint8Array(0);
  }

  /** Resize to `size`×`size` for a label set; keeps `indices` if given, else fills with `fillId`. */
  reset(size, labelSet, fillId, indices = null) {
    this.size = size;
    this.canvas.width = size;
    this.canvas.height = size;
    this.labelSet = labelSet;
    this.image = this.context.createImageData(size, size);
    this.indices = indices ?? new Uint8Array(size * size).fill(fillId);
    this.render();
  }

  at(x, y) {
    return this.indices[Math.floor(y) * this.size + Math.floor(x)];
  }

  render() {
    indicesToRgba(this.indices, shownLabelSet(this.labelSet), this.image.data);
    this.context.putImageData(this.image, 0, 0);
  }

  /** The label map in the dataset's colours, for download. */
  async toColourPng() {
    const canvas = new OffscreenCanvas(this.size, this.size);
    const rgba = indicesToRgba(this.indices, this.labelSet);
    canvas.getContext("2d").putImageData(new ImageData(rgba, this.size, this.size), 0, 0);
    try {
      return await canvas.convertToBlob({ type: "image/png" });
    } catch {
      throw new Error("The browser could not encode the label map.");
    }
  }
}
