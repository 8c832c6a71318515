// Photo -> line drawing in the page: the steps of the server's /sketch (backend/routes/sketch.py, backend/sketch.py)
// — Pillow's Gaussian blur, the strongest channel's Sobel gradient, non-maximum suppression, percentile
// thresholds over a floor, and hysteresis that keeps long connected lines reaching a strong edge. Values are
// float32 where numpy's are, so ties and thresholds fall the same way and the drawing is the server's. Pure.

import { SKETCH_INK, SKETCH_PAPER } from "../palette.js";
import { gaussianBlur } from "./blur.js";
import { resizeLanczos } from "./resample.js";

const SKETCH_MAX_SIDE = 256; // the scale the extractor's pixel settings are tuned for (as the server)
const f32 = Math.fround;
const TAN_22_5 = f32(0.41421357);
const NEIGHBOURS = [[-1, -1], [-1, 0], [-1, 1], [0, -1], [0, 1], [1, -1], [1, 0], [1, 1]];

/** Per pixel: the Sobel gradient (×8, integers) of the colour channel whose gradient is strongest. */
function strongestGradient(smooth, width, height) {
  const gx = new Int32Array(width * height);
  const gy = new Int32Array(width * height);
  // Edges repeat outwards, as numpy's "edge" padding.
  const value = (x, y, c) =>
    smooth[(Math.min(height - 1, Math.max(0, y)) * width + Math.min(width - 1, Math.max(0, x))) * 4 + c];
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      let best = -1;
      for (let c = 0; c < 3; c += 1) {
        const dx = value(x + 1, y - 1, c) + 2 * value(x + 1, y, c) + value(x + 1, y + 1, c)
          - value(x - 1, y - 1, c) - 2 * value(x - 1, y, c) - value(x - 1, y + 1, c);
        const dy = value(x - 1, y + 1, c) + 2 * value(x, y + 1, c) + value(x + 1, y + 1, c)
          - value(x - 1, y - 1, c) - 2 * value(x, y - 1, c) - value(x + 1, y - 1, c);
        // The first channel wins a tie, as numpy's argmax.
        if (dx * dx + dy * dy > best) {
          best = dx * dx + dy * dy;
          gx[y * width + x] = dx;
          gy[y * width + x] = dy;
        }
      }
    }
  }
  return { gx, gy };
}

/** Gradient magnitude kept only on its ridge across the edge (one-pixel lines), 0 elsewhere. */
function ridgeStrengths(gx, gy, width, height) {
  const magnitude = new Float32Array(width * height);
  for (let p = 0; p < magnitude.length; p += 1) magnitude[p] = Math.sqrt((gx[p] * gx[p] + gy[p] * gy[p]) / 64);
  const at = (x, y) => (x < 0 || y < 0 || x >= width || y >= height ? 0 : magnitude[y * width + x]);
  const ridge = new Float32Array(width * height);
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      const p = y * width + x;
      const ax = Math.abs(gx[p]) / 8, ay = Math.abs(gy[p]) / 8;
      // The gradient's direction, quantised to 45 degrees: [dy, dx] of the neighbour ahead along it.
      let step;
      if (ay <= f32(ax * TAN_22_5)) step = [0, 1];
      else if (ax <= f32(ay * TAN_22_5)) step = [1, 0];
      else step = gx[p] * gy[p] > 0 ? [1, 1] : [1, -1];
      // Strict on one side only, so a two-pixel plateau gives one line, not two or none.
      const centre = magnitude[p];
      if (centre > at(x + step[1], y + step[0]) && centre >= at(x - step[1], y - step[0])) ridge[p] = centre;
    }
  }
  return ridge;
}

/** numpy's percentile (linear, float32) of float32 values. */
function percentile(values, q) {
  const sorted = Float32Array.from(values).sort();
  const position = (q / 100) * (sorted.length - 1);
  const below = Math.floor(position);
  const t = position - below;
  const a = sorted[below], b = sorted[Math.min(below + 1, sorted.length - 1)];
  const span = f32(b - a);
  return t >= 0.5 ? f32(b - f32(span * (1 - t))) : f32(a + f32(span * t));
}

/** 8-connected components of the pixels at or above `low`, kept when they reach `high` and have `minLength` pixels. */
function keepLines(ridge, width, height, low, high, minLength) {
  const ids = new Uint8Array(width * height).fill(SKETCH_PAPER);
  const seen = new Uint8Array(width * height);
  const component = [];
  for (let start = 0; start < ridge.length; start += 1) {
    if (seen[start] || !(ridge[start] >= low)) continue;
    seen[start] = 1;
    component.length = 0;
    component.push(start);
    let peak = 0;
    for (let i = 0; i < component.length; i += 1) {
      const p = component[i];
      peak = Math.max(peak, ridge[p]);
      const x = p % width, y = (p - x) / width;
      for (const [dy, dx] of NEIGHBOURS) {
        const nx = x + dx, ny = y + dy;
        const q = ny * width + nx;
        if (nx < 0 || ny < 0 || nx >= width || ny >= height || seen[q] || !(ridge[q] >= low)) continue;
        seen[q] = 1;
        component.push(q);
      }
    }
    if (component.length >= minLength && peak >= high) for (const p of component) ids[p] = SKETCH_INK;
  }
  return ids;
}

/**
 * RGBA photo width×height -> sketch ids width×height (SKETCH_INK lines on SKETCH_PAPER), as the server's
 * extract_sketch with the same settings: `sigma` and `minLength` in pixels, thresholds from the percentile
 * of the photo's own ridge strengths, never below `floor`, so a flat image stays blank paper.
 */
export function extractSketch(rgba, width, height,
  { sigma = 2, highPercentile = 75, lowRatio = 0.35, minLength = 20, floor = 6 } = {}) {
  const { gx, gy } = strongestGradient(gaussianBlur(rgba, width, height, sigma), width, height);
  const ridge = ridgeStrengths(gx, gy, width, height);
  const strengths = ridge.filter((value) => value > floor);
  if (strengths.length === 0) return new Uint8Array(width * height).fill(SKETCH_PAPER);
  // numpy compares float32 pixels with Python floats in float32.
  const high = Math.max(floor * 2, percentile(strengths, highPercentile));
  return keepLines(ridge, width, height, f32(Math.max(floor, high * lowRatio)), f32(high), minLength);
}

/** Python's round(): halves go to the even neighbour. */
function roundHalfEven(value) {
  const rounded = Math.round(value);
  return rounded - value === 0.5 && rounded % 2 !== 0 ? rounded - 1 : rounded;
}

/** The (width, height) at the photo's aspect ratio whose longer side is `side` (the server's output_size). */
function fitted(width, height, side) {
  if (width >= height) return [side, Math.max(1, roundHalfEven(side * height / width))];
  return [Math.max(1, roundHalfEven(side * width / height)), side];
}

/** An RGBA photo at any size -> { ids, width, height }: shrunk (Lanczos) to SKETCH_MAX_SIDE first, as /sketch does. */
export function photoSketch(rgba, width, height) {
  if (Math.max(width, height) <= SKETCH_MAX_SIDE) return { ids: extractSketch(rgba, width, height), width, height };
  const [outWidth, outHeight] = fitted(width, height, SKETCH_MAX_SIDE);
  const shrunk = resizeLanczos(rgba, width, height, outWidth, outHeight);
  return { ids: extractSketch(shrunk, outWidth, outHeight), width: outWidth, height: outHeight };
}
