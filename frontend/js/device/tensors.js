// The tensors of the ONNX graph interface, made from the page's pixels and back, as backend/imaging.py
// makes them: label ids -> int64 [1,1,S,S]; a sketch (paper +1, ink -1) and photos -> float32 in [-1, 1];
// a tanh picture [1,3,S,S] -> RGBA bytes. Pure, so node tests it.

import { SKETCH_INK } from "../palette.js";

/** Class ids (one byte per pixel) -> the int64 data of a [1, 1, S, S] labels tensor. */
export function labelsData(indices) {
  const data = new BigInt64Array(indices.length);
  for (let p = 0; p < indices.length; p += 1) data[p] = BigInt(indices[p]);
  return data;
}

/** The sketch drawing (ink / paper ids) -> float32 [1, 1, S, S]: paper +1, ink -1 (grey 0 or 255, / 127.5 - 1). */
export function sketchData(indices) {
  const data = new Float32Array(indices.length);
  for (let p = 0; p < indices.length; p += 1) data[p] = indices[p] === SKETCH_INK ? -1 : 1;
  return data;
}

/** RGBA bytes of an S×S image -> float32 [1, 3, S, S] in [-1, 1], channel planes in R, G, B order. */
export function photoData(rgba) {
  const pixels = rgba.length / 4;
  const data = new Float32Array(pixels * 3);
  for (let p = 0; p < pixels; p += 1) {
    for (let c = 0; c < 3; c += 1) data[c * pixels + p] = rgba[p * 4 + c] / 127.5 - 1;
  }
  return data;
}

/** float32 [1, 3, H, W] in [-1, 1] -> opaque RGBA bytes; NaN becomes mid-grey and out-of-range values clamp. */
export function pictureRgba(data, width, height) {
  const pixels = width * height;
  const rgba = new Uint8ClampedArray(pixels * 4);
  for (let p = 0; p < pixels; p += 1) {
    for (let c = 0; c < 3; c += 1) {
      const value = data[c * pixels + p];
      rgba[p * 4 + c] = Number.isNaN(value) ? 128 : Math.round((value + 1) * 127.5);
    }
    rgba[p * 4 + 3] = 255;
  }
  return rgba;
}

/** The segmenter's labels [1, 1, H, W] (int64 or int32) -> one class id byte per pixel, clamped to 0..255. */
export function labelBytes(data) {
  const ids = new Uint8Array(data.length);
  for (let p = 0; p < data.length; p += 1) ids[p] = Math.min(255, Math.max(0, Number(data[p])));
  return ids;
}

/** A SPADE random style: mean + scale @ normals, in float64, then float32 (as backend/pipeline.py). */
export function gaussianStyle(mean, scale, normals) {
  const code = new Float32Array(mean.length);
  for (let i = 0; i < mean.length; i += 1) {
    const row = scale[i];
    let product = 0;
    for (let j = 0; j < normals.length; j += 1) product += row[j] * normals[j];
    code[i] = mean[i] + product;
  }
  return code;
}
