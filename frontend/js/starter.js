// The first drawing a new painter sees, so the first picture shows what the model can do rather than an empty
// page: a lake under a tree line and two mountains for a landscape, a house front for facades, and the lines
// of mountains and a house for a sketch. Each is painted with the label set's own class ids; a label set
// that lacks a scene's classes starts blank. Pure, so node tests it.

import { paintSegment } from "./raster.js";

const LANDSCAPE_CLASSES = ["sky", "mountain", "tree", "water", "grass"];
// Peaks as (x, top) in fractions of the canvas; the ridge falls away from each at SLOPE.
const PEAKS = [[0.3, 0.2], [0.68, 0.28]];
const SLOPE = 0.75;
const FOOT = 0.5; // where the mountains meet the trees
const SHORE = 0.62; // where the trees meet the water
const BANK = 0.86; // where the water meets the near grass

const FACADE_CLASSES = ["background", "facade", "window", "door"];
// The house front, in fractions of the canvas: its walls, two rows of windows over a ground floor.
const WALLS = { left: 0.1, right: 0.9, top: 0.08 };
const CORNICE_DEPTH = 0.05;
const WINDOW_COLUMNS = [0.17, 0.37, 0.55, 0.73]; // left edges
const WINDOW_ROWS = [0.2, 0.44]; // top edges
const WINDOW = { width: 0.1, height: 0.15 };
const SILL_DEPTH = 0.02;
const GROUND_FLOOR = 0.7; // where the shop fronts and the door begin
const DOOR = { left: 0.44, right: 0.56 };

// The sketch: lines from point to point, in fractions of the canvas.
const SKETCH_LINES = [
  [[0, 0.6], [0.16, 0.3], [0.27, 0.44], [0.4, 0.26], [0.54, 0.56]], // mountains
  [[0, 0.82], [1, 0.82]], // the ground
  [[0.56, 0.58], [0.72, 0.42], [0.88, 0.58], [0.56, 0.58]], // the roof
  [[0.6, 0.58], [0.6, 0.82]], [[0.84, 0.58], [0.84, 0.82]], // the walls
  [[0.68, 0.82], [0.68, 0.68], [0.75, 0.68], [0.75, 0.82]], // the door
  [[0.77, 0.62], [0.82, 0.62], [0.82, 0.67], [0.77, 0.67], [0.77, 0.62]], // a window
];
const SKETCH_LINE_WIDTH = 0.01;

/** Class name (lower case) -> id, or null when the label set lacks one of `names`. */
function classIds(labelSet, names) {
  const ids = new Map(labelSet.classes.map((c) => [c.name.toLowerCase(), c.id]));
  return names.every((name) => ids.has(name)) ? ids : null;
}

function landscape(ids, size) {
  const [sky, mountain, tree, water, grass] = LANDSCAPE_CLASSES.map((name) => ids.get(name));
  const drawing = new Uint8Array(size * size);
  for (let y = 0; y < size; y += 1) {
    const v = (y + 0.5) / size;
    for (let x = 0; x < size; x += 1) {
      const u = (x + 0.5) / size;
      // Two incommensurate waves roughen the ridge and the tree line, so neither looks drawn with a ruler.
      const ridge = Math.min(...PEAKS.map(([peak, top]) => top + SLOPE * Math.abs(u - peak))) + 0.015 * Math.sin(u * 47);
      const crowns = FOOT - 0.03 * Math.abs(Math.sin(u * Math.PI * 11)) - 0.02 * Math.abs(Math.sin(u * 13 + 1));
      const bank = BANK - 0.05 * u; // the near bank rises gently towards the right
      let label = sky;
      if (v >= bank) label = grass;
      else if (v >= SHORE) label = water;
      else if (v >= crowns) label = tree;
      else if (v >= ridge) label = mountain;
      drawing[y * size + x] = label;
    }
  }
  return drawing;
}

function facade(ids, size) {
  const drawing = new Uint8Array(size * size).fill(ids.get("background"));
  const box = (left, top, right, bottom, id) => {
    if (id === undefined) return; // a class this label set lacks (cornice, sill, shop): the wall stays
    for (let y = Math.round(top * size); y < Math.round(bottom * size); y += 1) {
      drawing.fill(id, y * size + Math.round(left * size), y * size + Math.round(right * size));
    }
  };
  box(WALLS.left, WALLS.top, WALLS.right, 1, ids.get("facade"));
  box(WALLS.left, WALLS.top, WALLS.right, WALLS.top + CORNICE_DEPTH, ids.get("cornice"));
  for (const top of WINDOW_ROWS) {
    for (const left of WINDOW_COLUMNS) {
      box(left, top, left + WINDOW.width, top + WINDOW.height, ids.get("window"));
      box(left - 0.01, top + WINDOW.height, left + WINDOW.width + 0.01, top + WINDOW.height + SILL_DEPTH, ids.get("sill"));
    }
  }
  box(WINDOW_COLUMNS[0], GROUND_FLOOR, DOOR.left - 0.04, 0.94, ids.get("shop"));
  box(DOOR.right + 0.04, GROUND_FLOOR, WINDOW_COLUMNS[3] + WINDOW.width, 0.94, ids.get("shop"));
  box(DOOR.left, GROUND_FLOOR, DOOR.right, 1, ids.get("door"));
  return drawing;
}

function sketch(ids, size) {
  const drawing = new Uint8Array(size * size).fill(ids.get("paper"));
  const brush = { size: Math.max(1, Math.round(SKETCH_LINE_WIDTH * size)), tip: "round", value: ids.get("ink") };
  const at = ([x, y]) => ({ x: Math.min(size - 1, x * size), y: Math.min(size - 1, y * size) });
  for (const line of SKETCH_LINES) {
    for (let i = 1; i < line.length; i += 1) paintSegment(drawing, size, size, at(line[i - 1]), at(line[i]), brush);
  }
  return drawing;
}

const SCENES = [[LANDSCAPE_CLASSES, landscape], [FACADE_CLASSES, facade], [["paper", "ink"], sketch]];

/** A size×size drawing of class ids, or null when the label set has the classes of no scene. */
export function starterDrawing(labelSet, size) {
  for (const [names, paint] of SCENES) {
    const ids = classIds(labelSet, names);
    if (ids) return paint(ids, size);
  }
  return null;
}
