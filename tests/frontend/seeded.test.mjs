import assert from "node:assert/strict";
import { test } from "node:test";

import { MAX_SEED, splitMix64, standardNormals, uniforms } from "../../frontend/js/seeded.js";

// The same known answers are in tests/test_seeded.py, so neither side can drift on its own.
const SEED_0_OUTPUTS = [0xe220a8397b1dcdafn, 0x6e789e6aa1b965f4n, 0x06c45d188009454fn];  // SplitMix64's published vector
const SEED_42_NORMALS = [0.8822489062222688, 1.388473285287707, -0.4508498757188601, 0.6707164409024291,
  0.1883526341159315];

function assertClose(actual, expected, tolerance = 1e-12) {
  assert.equal(actual.length, expected.length);
  actual.forEach((value, i) => assert.ok(Math.abs(value - expected[i]) <= tolerance, `${i}: ${value} vs ${expected[i]}`));
}

test("SplitMix64 gives the reference outputs for seed 0", () => {
  const stream = splitMix64(0n);
  assert.deepEqual(SEED_0_OUTPUTS.map(() => stream.next().value), SEED_0_OUTPUTS);
});

test("uniforms are the top 53 bits of each output, in [0, 1)", () => {
  assertClose(uniforms(0, 3), SEED_0_OUTPUTS.map((z) => Number(z >> 11n) / 2 ** 53), 0);
  for (const value of uniforms(MAX_SEED, 1000)) assert.ok(value >= 0 && value < 1);
});

test("standard normals of seed 42 are the known answer", () => {
  assertClose(standardNormals(42, 5), SEED_42_NORMALS);
  assertClose(standardNormals(42n, 5), SEED_42_NORMALS);
});

test("a shorter draw is a prefix of a longer one, odd lengths included", () => {
  const long = standardNormals(7, 9);
  assert.deepEqual(Array.from(standardNormals(7, 4)), Array.from(long.subarray(0, 4)));
  assert.deepEqual(Array.from(standardNormals(7, 3)), Array.from(long.subarray(0, 3)));
  assert.equal(standardNormals(7, 0).length, 0);
});

test("the normals look standard", () => {
  const values = standardNormals(123, 20000);
  const mean = values.reduce((sum, v) => sum + v, 0) / values.length;
  const variance = values.reduce((sum, v) => sum + (v - mean) ** 2, 0) / values.length;
  assert.ok(Math.abs(mean) < 0.03, `mean ${mean}`);
  assert.ok(Math.abs(variance - 1) < 0.05, `variance ${variance}`);
});

test("bad seeds and counts are refused at the call, not at the first draw", () => {
  for (const seed of [-1, 1.5, 2 ** 53, -1n, MAX_SEED + 1n, "3", null]) {
    assert.throws(() => uniforms(seed, 0), RangeError, String(seed));
  }
  assert.throws(() => splitMix64(-1n), RangeError);
  for (const n of [-1, 2.5, Infinity]) assert.throws(() => standardNormals(0, n), RangeError);
});
