import assert from "node:assert/strict";
import { test } from "node:test";

import { floodFill } from "../../frontend/js/floodfill.js";
import { History } from "../../frontend/js/history.js";
import { paintSegment } from "../../frontend/js/raster.js";

function edit(history, buffer, change) {
  const before = buffer.slice();
  change(buffer);
  return history.record(before, buffer);
}

test("undo and redo restore every state exactly", () => {
  const size = 32;
  const buffer = new Uint8Array(size * size);
  const history = new History();
  const states = [buffer.slice()];
  edit(history, buffer, (b) => paintSegment(b, size, size, { x: 1, y: 1 }, { x: 30, y: 20 }, { size: 5, tip: "round", value: 3 }));
  states.push(buffer.slice());
  edit(history, buffer, (b) => floodFill(b, size, size, 0, 31, 4));
  states.push(buffer.slice());
  edit(history, buffer, (b) => paintSegment(b, size, size, { x: 20, y: 0 }, { x: 20, y: 31 }, { size: 3, tip: "square", value: 1 }));
  states.push(buffer.slice());

  for (let i = states.length - 2; i >= 0; i--) {
    assert.ok(history.undo(buffer));
    assert.deepEqual(buffer, states[i]);
  }
  assert.equal(history.undo(buffer), false);
  for (let i = 1; i < states.length; i++) {
    assert.ok(history.redo(buffer));
    assert.deepEqual(buffer, states[i]);
  }
  assert.equal(history.redo(buffer), false);
});

test("a new edit after undo drops the redo branch", () => {
  const buffer = new Uint8Array(16);
  const history = new History();
  edit(history, buffer, (b) => b.fill(1, 0, 4));
  edit(history, buffer, (b) => b.fill(2, 4, 8));
  history.undo(buffer);
  edit(history, buffer, (b) => b.fill(3, 8, 12));
  assert.equal(history.canRedo, false);
  history.undo(buffer);
  history.undo(buffer);
  assert.deepEqual(buffer, new Uint8Array(16));
});

test("an edit that changes nothing is not a step", () => {
  const buffer = new Uint8Array(8);
  const history = new History();
  assert.equal(edit(history, buffer, () => {}), false);
  assert.equal(history.canUndo, false);
});

test("memory stays bounded: the oldest steps are dropped first", () => {
  const size = 64;
  const buffer = new Uint8Array(size * size);
  const history = new History({ maxBytes: size * size * 6 * 3 });
  for (let step = 1; step <= 10; step++) edit(history, buffer, (b) => b.fill(step));
  assert.ok(history.bytes <= history.maxBytes);
  let undone = 0;
  while (history.undo(buffer)) undone++;
  assert.equal(undone, 3);
  assert.ok(buffer.every((v) => v === 7), "undo stops at the oldest kept step");
});

test("the step count is bounded too", () => {
  const buffer = new Uint8Array(4);
  const history = new History({ maxSteps: 5 });
  for (let step = 1; step <= 20; step++) edit(history, buffer, (b) => { b[step % 4] = step; });
  assert.equal(history.done.length, 5);
});

test("the newest steps within a byte budget are kept, and restore into a fresh history that undoes and redoes", () => {
  const size = 16;
  const buffer = new Uint8Array(size * size);
  const history = new History();
  const states = [buffer.slice()];
  for (let value = 1; value <= 4; value++) {
    edit(history, buffer, (b) => b.fill(value, 0, value * 20)); // 20, 40, 60, 80 changed pixels
    states.push(buffer.slice());
  }
  history.undo(buffer); // one step to redo
  const newest = history.newestSteps((60 + 40 + 10) * 6);
  assert.deepEqual(newest.done.map((s) => s.indices.length), [40, 60], "the newest undo steps that fit, oldest first");
  assert.deepEqual(newest.undone, [], "redo steps only once every undo step is in");
  assert.equal(history.newestSteps(59 * 6).done.length, 0, "a step never goes in half");
  const kept = history.newestSteps((20 + 40 + 60 + 80) * 6);
  assert.deepEqual(kept.undone.map((s) => s.indices.length), [80]);

  const reloaded = new History();
  assert.ok(reloaded.restore(kept, buffer.length));
  const copy = buffer.slice();
  assert.ok(reloaded.redo(copy));
  assert.deepEqual(copy, states[4]);
  for (const state of [states[3], states[2], states[1], states[0]]) {
    assert.ok(reloaded.undo(copy));
    assert.deepEqual(copy, state);
  }
  assert.equal(reloaded.undo(copy), false);
  const partial = new History();
  partial.restore(newest, buffer.length);
  const fromThird = states[3].slice();
  assert.ok(partial.undo(fromThird) && partial.undo(fromThird));
  assert.deepEqual(fromThird, states[1]);
  assert.equal(partial.undo(fromThird), false, "only the kept steps came back");
});

test("steps that do not fit the drawing are refused", () => {
  const history = new History();
  const step = { indices: Uint32Array.of(5, 300), before: Uint8Array.of(0, 0), after: Uint8Array.of(1, 1) };
  assert.equal(history.restore({ done: [step], undone: [] }, 256), false);
  assert.equal(history.canUndo, false);
  assert.ok(history.restore({ done: [step], undone: [] }, 301));
  assert.ok(history.canUndo);
});
