// The first drawing a new painter sees: a lake under a tree line and two mountains, painted with the label
// set's own class ids, so the first picture shows what the model can do rather than an empty sky. Label sets
// without these classes (facades, sketches) start blank. Pure, so node tests it.

const SCENE_CLASSES = ["sky", "mountain", "tree", "water", "grass"];
// Peaks as (x, top) in fractions of the canvas; the ridge falls away from each at SLOPE.
const PEAKS = [[0.3, 0.2], [0.68, 0.28]];
const SLOPE = 0.75;
const FOOT = 0.5; // where the mountains meet the trees
const SHORE = 0.62; // where the trees meet the water
const BANK = 0.86; // where the water meets the near grass

/** A size×size drawing of class ids, or null when the label set lacks a class the scene needs. */
export function starterDrawing(labelSet, size) {
  const ids = new Map(labelSet.classes.map((c) => [c.name.toLowerCase(), c.id]));
  if (!SCENE_CLASSES.every((name) => ids.has(name))) return null;
  const [sky, mountain, tree, water, grass] = SCENE_CLASSES.map((name) => ids.get(name));
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
