import assert from "node:assert/strict";
import { test } from "node:test";

import { starterDrawing } from "../../frontend/js/starter.js";

const LANDSCAPE = {
  classes: ["sky", "tree", "road", "grass", "water", "building", "mountain", "foreground object"]
    .map((name, id) => ({ id, name })),
};
const FACADES = { classes: ["background", "facade", "window", "door"].map((name, id) => ({ id, name })) };
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

test("label sets without the scene's classes start blank", () => {
  assert.equal(starterDrawing(FACADES, 64), null);
  assert.equal(starterDrawing({ classes: [] }, 64), null);
});
