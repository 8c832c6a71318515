import assert from "node:assert/strict";
import { test } from "node:test";

import {
  SKETCH_INK, SKETCH_PAPER, backgroundName, backgroundWords, carriedDrawing, groupClasses, hexToRgb, indicesToGrey, indicesToRgba, labelColourShare, labelMapToIndices,
  labelSlug, rgbToHex, rgbaToIndices, rgbaToSketch,
} from "../../frontend/js/palette.js";

const LANDSCAPE = {
  name: "stanford-background",
  classes: [
    { id: 0, name: "sky", colour: "#8ec8f0", group: "sky & water" },
    { id: 1, name: "tree", colour: "#2f7d32", group: "nature" },
    { id: 2, name: "road", colour: "#8a8a8a", group: "ground" },
    { id: 3, name: "grass", colour: "#8fd14f", group: "nature" },
    { id: 4, name: "water", colour: "#1f5fbf", group: "sky & water" },
    { id: 7, name: "foreground object", colour: "#f0b43c", group: "man-made" },
  ],
  ignore_id: 15,
  background_id: 0,
};

test("hex colours round-trip", () => {
  assert.deepEqual(hexToRgb("#8ec8f0"), [0x8e, 0xc8, 0xf0]);
  assert.equal(rgbToHex([0x1f, 0x5f, 0xbf]), "#1f5fbf");
  assert.throws(() => hexToRgb("blue"));
});

test("indices -> colours -> indices is the identity for every class", () => {
  const indices = Uint8Array.from([0, 1, 2, 3, 4, 7, 7, 0, 3]);
  const rgba = indicesToRgba(indices, LANDSCAPE);
  for (let p = 0; p < indices.length; p++) {
    const colour = LANDSCAPE.classes.find((c) => c.id === indices[p]).colour;
    assert.equal(rgbToHex([...rgba.subarray(p * 4, p * 4 + 3)]), colour);
    assert.equal(rgba[p * 4 + 3], 255);
  }
  assert.deepEqual(rgbaToIndices(rgba, LANDSCAPE), indices);
});

test("colours that are not in the palette snap to the nearest class (JPEG noise)", () => {
  const rgba = Uint8ClampedArray.from([0x90, 0xc6, 0xee, 255, 0x30, 0x7a, 0x30, 255]);
  assert.deepEqual([...rgbaToIndices(rgba, LANDSCAPE)], [0, 1]);
});

test("a grey image of class ids is read as an index map, a palette image by its colours", () => {
  const grey = Uint8ClampedArray.from([3, 3, 3, 255, 7, 7, 7, 255, 15, 15, 15, 255]);
  assert.deepEqual([...labelMapToIndices(grey, LANDSCAPE)], [3, 7, 15]);
  // Road is grey (#8a8a8a) but 0x8a is no class id: still read as the colour.
  const road = Uint8ClampedArray.from([0x8a, 0x8a, 0x8a, 255, 0x8e, 0xc8, 0xf0, 255]);
  assert.deepEqual([...labelMapToIndices(road, LANDSCAPE)], [2, 0]);
});

test("a label map is nearly all label colours, JPEG noise included; a photo is not", () => {
  const map = Uint8ClampedArray.from([0x8e, 0xc8, 0xf0, 255, 0x90, 0xc6, 0xee, 255, 3, 3, 3, 255, 0x8a, 0x8a, 0x8a, 255]);
  assert.equal(labelColourShare(map, LANDSCAPE), 1);
  const photo = Uint8ClampedArray.from([200, 30, 160, 255, 12, 240, 250, 255, 0x8e, 0xc8, 0xf0, 255, 255, 255, 0, 255]);
  assert.equal(labelColourShare(photo, LANDSCAPE), 0.25);
});

test("sketches: dark pixels are ink, and go to the server as black on white", () => {
  const rgba = Uint8ClampedArray.from([0, 0, 0, 255, 250, 250, 250, 255, 100, 100, 100, 255]);
  const indices = rgbaToSketch(rgba);
  assert.deepEqual([...indices], [SKETCH_INK, SKETCH_PAPER, SKETCH_INK]);
  assert.deepEqual([...indicesToGrey(indices, true)], [0, 255, 0]);
  assert.equal(indicesToGrey(indices, false), indices);
});

test("classes are grouped by their group, in label-set order", () => {
  const groups = groupClasses(LANDSCAPE.classes);
  assert.deepEqual(groups.map((g) => g.name), ["sky & water", "nature", "ground", "man-made"]);
  assert.deepEqual(groups[1].classes.map((c) => c.name), ["tree", "grass"]);
  assert.deepEqual(groupClasses([{ id: 0, name: "a", colour: "#000000" }]).map((g) => g.name), [null]);
});

test("test ids: lower case, spaces as dashes", () => {
  assert.equal(labelSlug("foreground object"), "foreground-object");
  assert.equal(labelSlug("Sky"), "sky");
});

test("the background is named in words that read well for any label set", () => {
  const landscape = { background_id: 0, classes: [{ id: 0, name: "sky" }, { id: 1, name: "tree" }] };
  const facades = { background_id: 0, classes: [{ id: 0, name: "background" }, { id: 1, name: "facade" }] };
  assert.equal(backgroundName(landscape), "sky");
  assert.equal(backgroundWords(landscape), "sky, the background");
  assert.equal(backgroundWords(facades), "the background");
});

test("a drawing carried to a model without cloud and snow paints them as the classes they count as", () => {
  const withWeather = {
    ...LANDSCAPE,
    classes: [...LANDSCAPE.classes,
      { id: 8, name: "cloud", colour: "#dfe6ee", group: "weather", counts_as: 0 },
      { id: 9, name: "snow", colour: "#fafcff", group: "weather", counts_as: 3 }],
  };
  const drawing = Uint8Array.from([0, 8, 9, 3, 15]);
  assert.deepEqual([...carriedDrawing(drawing, withWeather, LANDSCAPE)], [0, 0, 3, 3, 15]);
  assert.equal(carriedDrawing(drawing, withWeather, withWeather), drawing, "nothing to map: the same array");
  const plain = Uint8Array.from([0, 1, 2]);
  assert.equal(carriedDrawing(plain, withWeather, LANDSCAPE), plain);
});
