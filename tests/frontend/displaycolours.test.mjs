import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { MIN_COLOUR_DIFFERENCE, colourDifference, hexToLab, shownLabelSet } from "../../frontend/js/displaycolours.js";

const card = (name) => JSON.parse(readFileSync(new URL(`../../weights/${name}.json`, import.meta.url))).label_set;
const minDifference = (classes) => Math.min(...classes.flatMap((a, i) => classes.slice(i + 1).map((b) => colourDifference(a.colour, b.colour))));

test("L*a*b* of known colours", () => {
  const close = (got, want) => got.forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 0.5, `${got} vs ${want}`));
  close(hexToLab("#ffffff"), [100, 0, 0]);
  close(hexToLab("#000000"), [0, 0, 0]);
  close(hexToLab("#ff0000"), [53.24, 80.09, 67.2]);
});

test("the facades' near-twin blues are shown as distinct colours with their names; files keep the dataset's", () => {
  const facades = card("pix2pix-facades");
  assert.ok(minDifference(facades.classes) < MIN_COLOUR_DIFFERENCE, "the dataset's background and facade are twins");
  const shown = shownLabelSet(facades);
  assert.ok(minDifference(shown.classes) >= 28, "every pair of shown swatches differs clearly");
  shown.classes.forEach((c, i) => {
    assert.equal(c.name, facades.classes[i].name);
    assert.equal(c.id, facades.classes[i].id);
    assert.equal(c.fileColour ?? c.colour, facades.classes[i].colour);
  });
  assert.equal(facades.classes[0].colour, "#0000d4", "the card itself is untouched");
  assert.equal(shownLabelSet(facades), shown, "one shown set per label set");
});

test("a label set whose colours are distinct is shown as it is", () => {
  const landscape = card("spade-landscape");
  assert.equal(shownLabelSet(landscape), landscape);
});

test("only a twin is recoloured: the landscape painter's sky stays blue and trees green, snow beside cloud is shown apart", () => {
  const weather = card("photo-landscape");
  const shown = shownLabelSet(weather);
  const byName = Object.fromEntries(shown.classes.map((c) => [c.name, c]));
  const dataset = Object.fromEntries(weather.classes.map((c) => [c.name, c.colour]));
  for (const name of ["sky", "tree", "road", "grass", "water", "building", "mountain", "foreground object", "cloud"]) {
    assert.equal(byName[name].colour, dataset[name], name);
    assert.equal(byName[name].fileColour, undefined, name);
  }
  assert.ok(colourDifference(dataset.cloud, dataset.snow) < MIN_COLOUR_DIFFERENCE, "the dataset's cloud and snow are twins");
  assert.equal(byName.snow.fileColour, dataset.snow);
  for (const other of shown.classes.filter((c) => c.name !== "snow")) {
    assert.ok(colourDifference(byName.snow.colour, other.colour) >= 28, other.name);
  }
});
