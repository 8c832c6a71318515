import assert from "node:assert/strict";
import { test } from "node:test";

import { fitRect, padDrawing } from "../../frontend/js/squaring.js";

test("a wide or tall picture fits whole, centred, at its own proportions", () => {
  assert.deepEqual(fitRect(512, 256, 64), { width: 64, height: 32, left: 0, top: 16 });
  assert.deepEqual(fitRect(256, 1024, 64), { width: 16, height: 64, left: 24, top: 0 });
  assert.deepEqual(fitRect(100, 100, 64), { width: 64, height: 64, left: 0, top: 0 });
  assert.deepEqual(fitRect(4000, 1, 64), { width: 64, height: 1, left: 0, top: 31 }, "never thinner than a pixel");
});

test("padding puts the picture's ids in the middle and the fill around them", () => {
  const rect = fitRect(4, 2, 4);
  const drawing = padDrawing(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8), rect, 4, 9);
  assert.deepEqual([...drawing], [9, 9, 9, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 9]);
});
