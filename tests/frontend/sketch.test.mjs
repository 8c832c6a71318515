import assert from "node:assert/strict";
import { test } from "node:test";

import { gaussianBlur } from "../../frontend/js/device/blur.js";
import { extractSketch, photoSketch } from "../../frontend/js/device/sketch.js";
import { SKETCH_INK, SKETCH_PAPER } from "../../frontend/js/palette.js";

/** An opaque RGBA image width×height whose pixel (x, y) has the grey colour(x, y). */
function greyImage(width, height, colour) {
  const rgba = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) rgba.set([colour(x, y), colour(x, y), colour(x, y), 255], (y * width + x) * 4);
  }
  return rgba;
}

test("a flat image is blank paper", () => {
  const ids = extractSketch(greyImage(40, 30, () => 128), 40, 30);
  assert.equal(ids.length, 40 * 30);
  assert.ok(ids.every((id) => id === SKETCH_PAPER));
});

test("a sharp vertical edge becomes one thin continuous line at the edge", () => {
  const size = 64;
  const ids = extractSketch(greyImage(size, size, (x) => (x < 32 ? 0 : 255)), size, size);
  for (let y = 4; y < size - 4; y += 1) {
    const inked = [];
    for (let x = 0; x < size; x += 1) if (ids[y * size + x] === SKETCH_INK) inked.push(x);
    assert.equal(inked.length, 1, `row ${y}: ${inked}`);
    assert.ok(Math.abs(inked[0] - 32) <= 1, `row ${y} inked at ${inked[0]}`);
  }
});

test("the drawing is deterministic and leaves the photo alone", () => {
  const photo = greyImage(48, 40, (x, y) => ((x - 20) ** 2 + (y - 18) ** 2 < 150 ? 230 : (x * 7 + y * 13) % 50));
  const before = photo.slice();
  assert.deepEqual(extractSketch(photo, 48, 40), extractSketch(photo.slice(), 48, 40));
  assert.deepEqual(photo, before);
});

test("a photo larger than 256 pixels is drawn at 256 on its longer side", () => {
  const photo = greyImage(300, 200, (x) => (x < 150 ? 40 : 200));
  const { ids, width, height } = photoSketch(photo, 300, 200);
  assert.deepEqual([width, height, ids.length], [256, 171, 256 * 171]);
  assert.ok(ids.includes(SKETCH_INK));
});

test("the blur keeps a flat image flat and alpha as it was", () => {
  const photo = greyImage(9, 5, () => 77);
  photo[3] = 10;
  const blurred = gaussianBlur(photo, 9, 5, 2);
  for (let p = 0; p < 9 * 5; p += 1) assert.deepEqual([...blurred.slice(p * 4, p * 4 + 3)], [77, 77, 77]);
  assert.equal(blurred[3], 10);
});
