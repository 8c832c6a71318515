import assert from "node:assert/strict";
import { test } from "node:test";

import { SKETCH_INK, SKETCH_LABEL_SET, SKETCH_PAPER } from "../../frontend/js/palette.js";
import { starterDrawing } from "../../frontend/js/starter.js";

const LANDSCAPE = {
  classes: ["sky", "tree", "road", "grass", "water", "building", "mountain", "foreground object"]
    .map((name, id) => ({ id, name })),
};
const FACADES = {
  classes: ["background", "facade", "window", "door", "cornice", "sill", "balcony", "blind", "deco", "molding", "pillar", "shop"]
    .map((name, id) => ({ id, name })),
};
const idOf = (name) => LANDSCAPE.classes.find((c) => c.name === name).id;

test("a landscape starts as sky over mountains, trees, a lake and near grass, top to bottom", () => {
  const size = 64;
  const drawing = starterDrawing(LANDSCAPE, size);
  assert.equal(drawing.length, size * size);
  const column = (x) => [...Array(size).keys()].map((y) => drawing[y * size + x]);
  for (const x of [0, 19, 32, 45, 63]) {
    const order = column(x).filter((id, y, all) => y === 0 || all[y - 1] !== id); // each run of one class once
    const expected = ["sky", "mountain", "tree", "water", "grass"].map(idOf);
    // Far from the peaks the ridge may sit below the tree line, so a column may show no mountain.
    assert.deepEqual(order.filter((id) => id !== idOf("mountain")), expected.filter((id) => id !== idOf("mountain")), `column ${x}`);
  }
  const counts = new Map();
  for (const id of drawing) counts.set(id, (counts.get(id) ?? 0) + 1);
  for (const name of ["sky", "mountain", "tree", "water", "grass"]) assert.ok(counts.get(idOf(name)) > size * 4, name);
  assert.equal(counts.size, 5, "only the scene's classes");
});

test("the scene uses the label set's own ids and is the same every time at any size", () => {
  const shuffled = { classes: LANDSCAPE.classes.map((c, i) => ({ ...c, id: 7 - i })) };
  const a = starterDrawing(LANDSCAPE, 48);
  const b = starterDrawing(shuffled, 48);
  assert.deepEqual(b, a.map((id) => 7 - id));
  assert.deepEqual(starterDrawing(LANDSCAPE, 48), a);
  assert.equal(starterDrawing(LANDSCAPE, 256).length, 256 * 256);
});

test("facades start as a house front: walls with windows and a door, the background around them", () => {
  const size = 128;
  const drawing = starterDrawing(FACADES, size);
  const id = (name) => FACADES.classes.find((c) => c.name === name).id;
  const counts = new Map();
  for (const c of drawing) counts.set(c, (counts.get(c) ?? 0) + 1);
  for (const name of ["background", "facade", "window", "door", "cornice", "sill", "shop"]) assert.ok(counts.get(id(name)) > size, name);
  assert.equal(drawing[0], id("background"), "the corner is outside the house");
  assert.equal(drawing[(size - 1) * size + size / 2], id("door"), "the door stands on the ground, in the middle");
  assert.ok(counts.get(id("window")) > size * size * 0.05, "windows are plain to see");
  // Without the optional classes the walls stay plain facade.
  const plain = starterDrawing({ classes: FACADES.classes.slice(0, 4) }, size);
  assert.deepEqual(new Set(plain), new Set([0, 1, 2, 3]));
});

test("a sketch starts as the lines of mountains and a house: thin ink on paper", () => {
  const size = 256;
  const drawing = starterDrawing(SKETCH_LABEL_SET, size);
  const ink = drawing.filter((c) => c === SKETCH_INK).length;
  assert.ok(ink > size * 4 && ink < size * size * 0.08, `ink covers ${ink} pixels`);
  assert.deepEqual(new Set(drawing), new Set([SKETCH_INK, SKETCH_PAPER]));
  const row = (y) => drawing.subarray(y * size, (y + 1) * size);
  assert.ok(row(Math.round(0.82 * size)).every((c) => c === SKETCH_INK), "the ground line crosses the page");
  assert.ok(row(Math.round(0.1 * size)).every((c) => c === SKETCH_PAPER), "open sky above the mountains");
});

test("label sets with no scene's classes start blank", () => {
  assert.equal(starterDrawing({ classes: [{ id: 0, name: "road" }, { id: 1, name: "car" }] }, 64), null);
  assert.equal(starterDrawing({ classes: [] }, 64), null);
});
