import assert from "node:assert/strict";
import { test } from "node:test";

import { linePixels, paintSegment, stampOffsets } from "../../frontend/js/raster.js";

const count = (buffer, value) => buffer.reduce((n, v) => n + (v === value ? 1 : 0), 0);

test("a size-n square stamp is exactly n by n pixels", () => {
  for (const size of [1, 2, 3, 4, 7, 10]) {
    assert.equal(stampOffsets(size, "square").length / 2, size * size, `size ${size}`);
  }
});

test("a round stamp is symmetric, no wider than its size and smaller than the square", () => {
  for (const size of [3, 5, 8, 15]) {
    const offsets = stampOffsets(size, "round");
    const xs = [];
    for (let i = 0; i < offsets.length; i += 2) xs.push(offsets[i]);
    assert.equal(Math.max(...xs) - Math.min(...xs) + 1, size, `width of size ${size}`);
    assert.ok(offsets.length / 2 < size * size);
  }
});

test("the line walk is continuous (8-connected) and hits both ends", () => {
  const points = linePixels(2, 3, 17, -4);
  assert.deepEqual(points[0], [2, 3]);
  assert.deepEqual(points.at(-1), [17, -4]);
  for (let i = 1; i < points.length; i++) {
    assert.ok(Math.abs(points[i][0] - points[i - 1][0]) <= 1 && Math.abs(points[i][1] - points[i - 1][1]) <= 1);
  }
});

test("strokes write only the brush value: no anti-aliased in-between ids", () => {
  const width = 64;
  const height = 48;
  const buffer = new Uint8Array(width * height).fill(0);
  paintSegment(buffer, width, height, { x: 3.7, y: 5.2 }, { x: 60.1, y: 40.9 }, { size: 9, tip: "round", value: 5 });
  paintSegment(buffer, width, height, { x: 60, y: 2 }, { x: 5.5, y: 44.4 }, { size: 4, tip: "square", value: 2 });
  const values = new Set(buffer);
  assert.deepEqual([...values].sort(), [0, 2, 5]);
  assert.ok(count(buffer, 5) > 9 * 40, "the diagonal stroke is painted along its whole length");
});

test("a stroke over the edge is clipped, never wraps to the next row", () => {
  const width = 16;
  const buffer = new Uint8Array(width * width);
  paintSegment(buffer, width, width, { x: 15, y: 8 }, { x: 15, y: 8 }, { size: 5, tip: "square", value: 1 });
  for (let y = 0; y < width; y++) assert.equal(buffer[y * width], 0, `column 0 of row ${y}`);
  assert.equal(count(buffer, 1), 3 * 5);
});

test("a one-pixel dot paints one pixel", () => {
  const buffer = new Uint8Array(100);
  paintSegment(buffer, 10, 10, { x: 4.9, y: 7.1 }, { x: 4.9, y: 7.1 }, { size: 1, tip: "round", value: 3 });
  assert.equal(count(buffer, 3), 1);
  assert.equal(buffer[7 * 10 + 4], 3);
});
