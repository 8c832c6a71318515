import assert from "node:assert/strict";
import { test } from "node:test";

import { floodFill } from "../../frontend/js/floodfill.js";

/** Build a buffer from rows of digits. */
function grid(rows) {
  return { width: rows[0].length, height: rows.length, buffer: Uint8Array.from(rows.join(""), Number) };
}
const rowsOf = ({ buffer, width }) =>
  Array.from({ length: buffer.length / width }, (_, y) => [...buffer.subarray(y * width, (y + 1) * width)].join(""));

test("fills the enclosed region only, 4-connected", () => {
  const g = grid([
    "000000",
    "011110",
    "010010",
    "010110",
    "011100",
    "000000",
  ]);
  const filled = floodFill(g.buffer, g.width, g.height, 2, 2, 7);
  assert.equal(filled, 3);
  assert.deepEqual(rowsOf(g), [
    "000000",
    "011110",
    "017710",
    "017110",
    "011100",
    "000000",
  ]);
});

test("diagonal gaps do not leak", () => {
  const g = grid(["010", "101", "010"]);
  assert.equal(floodFill(g.buffer, 3, 3, 0, 0, 5), 1);
  assert.deepEqual(rowsOf(g), ["510", "101", "010"]);
});

test("filling with the same id changes nothing; outside the buffer is a no-op", () => {
  const g = grid(["11", "11"]);
  assert.equal(floodFill(g.buffer, 2, 2, 0, 0, 1), 0);
  assert.equal(floodFill(g.buffer, 2, 2, -1, 0, 3), 0);
  assert.equal(floodFill(g.buffer, 2, 2, 0, 2, 3), 0);
  assert.deepEqual(rowsOf(g), ["11", "11"]);
});

test("a large spiral is filled completely (scanline handles long regions)", () => {
  const size = 256;
  const buffer = new Uint8Array(size * size);
  // Walls every 4 rows, alternating gaps at the left and right end: one long snake-shaped region.
  for (let y = 3; y < size; y += 4) {
    const gapAtRight = (y >> 2) % 2 === 0;
    for (let x = 0; x < size; x++) buffer[y * size + x] = 1;
    buffer[y * size + (gapAtRight ? size - 1 : 0)] = 0;
  }
  const region = buffer.reduce((n, v) => n + (v === 0 ? 1 : 0), 0);
  assert.equal(floodFill(buffer, size, size, 0, 0, 2), region);
  assert.ok(!buffer.includes(0));
});
