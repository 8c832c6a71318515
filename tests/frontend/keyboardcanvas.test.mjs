import assert from "node:assert/strict";
import { test } from "node:test";

import { KeyboardCursor, attachKeyboard } from "../../frontend/js/keyboardcanvas.js";

/** A stand-in for the canvas element: node has EventTarget, which is all attachKeyboard listens on. */
function fakeCanvas(width) {
  const canvas = new EventTarget();
  canvas.width = width;
  return canvas;
}

function key(target, type, name, extra = {}) {
  const event = Object.assign(new Event(type, { cancelable: true }), { key: name, shiftKey: false, repeat: false,
    ctrlKey: false, metaKey: false, altKey: false }, extra);
  target.dispatchEvent(event);
  return event;
}

test("the cursor starts in the middle, stays on the canvas and keeps its place when the size changes", () => {
  const cursor = new KeyboardCursor(64);
  assert.deepEqual([cursor.x, cursor.y], [32, 32]);
  assert.deepEqual(cursor.point, { x: 32.5, y: 32.5 });
  assert.equal(cursor.move(-100, 0), true);
  assert.equal(cursor.x, 0);
  assert.equal(cursor.move(-1, 0), false, "already at the edge");
  cursor.move(0, 1000);
  assert.equal(cursor.y, 63);
  cursor.resize(256);
  assert.deepEqual([cursor.x, cursor.y], [0, 252]);
});

test("arrows move by the step, Shift by one pixel, and draw only while Space is held", () => {
  const calls = [];
  const canvas = fakeCanvas(64);
  attachKeyboard(canvas, {
    onStart: (point) => calls.push(["start", point.x, point.y]),
    onMove: (point) => calls.push(["move", point.x, point.y]),
    onEnd: () => calls.push(["end"]),
    step: () => 8,
  });
  assert.equal(key(canvas, "keydown", "ArrowRight").defaultPrevented, true, "the page must not scroll");
  key(canvas, "keydown", "ArrowDown", { shiftKey: true });
  assert.deepEqual(calls, [], "moving with the pen up paints nothing");
  key(canvas, "keydown", " ");
  key(canvas, "keydown", " ", { repeat: true });
  key(canvas, "keydown", "ArrowLeft");
  key(canvas, "keyup", " ");
  assert.deepEqual(calls, [["start", 40.5, 33.5], ["move", 32.5, 33.5], ["end"]]);
});

test("Enter applies the tool once, and losing focus lifts the pen", () => {
  const calls = [];
  const shown = [];
  const canvas = fakeCanvas(16);
  attachKeyboard(canvas, {
    onStart: () => calls.push("start"), onMove: () => calls.push("move"), onEnd: () => calls.push("end"),
    onCursor: (point) => shown.push(point && [point.x, point.y]),
  });
  canvas.dispatchEvent(new Event("focus"));
  key(canvas, "keydown", "Enter");
  key(canvas, "keydown", " ");
  canvas.dispatchEvent(new Event("blur"));
  assert.deepEqual(calls, ["start", "end", "start", "end"]);
  assert.deepEqual(shown[0], [8.5, 8.5]);
  assert.equal(shown.at(-1), null, "the cursor hides when the canvas loses focus");
  assert.equal(key(canvas, "keydown", "z", { ctrlKey: true }).defaultPrevented, false, "shortcuts pass through");
});
