// Label colours <-> class indices, and the palette panel built from a model's label set.
// The pure functions run under node; renderPalette needs a document and is only called in the page.

/** The sketch model's "label set": white paper and black ink, so both modes share one index buffer. */
export const SKETCH_LABEL_SET = Object.freeze({
  name: "sketch",
  classes: [
    { id: 0, name: "paper", colour: "#ffffff", group: null },
    { id: 1, name: "ink", colour: "#000000", group: null },
  ],
  ignore_id: null,
  background_id: 0,
});
export const SKETCH_INK = 1;
export const SKETCH_PAPER = 0;

/** Shown for indices that are not a class (e.g. an uploaded map's "unknown" pixels). */
const UNKNOWN_COLOUR = "#202020";

export function hexToRgb(hex) {
  const match = /^#([0-9a-f]{6})$/i.exec(hex);
  if (!match) throw new Error(`not a #rrggbb colour: ${hex}`);
  const value = parseInt(match[1], 16);
  return [(value >> 16) & 255, (value >> 8) & 255, value & 255];
}

export function rgbToHex([r, g, b]) {
  return "#" + [r, g, b].map((c) => c.toString(16).padStart(2, "0")).join("");
}

/** The name of the class the eraser and Clear paint ("sky"; "background" for facades). */
/**
 * A drawing of `from`'s class ids for a model of label set `to` (same name, perhaps fewer classes): a class
 * `to` lacks becomes the class it counts as (cloud -> sky, snow -> grass), else the background. Returns the
 * same array when nothing needs mapping.
 */
export function carriedDrawing(indices, from, to) {
  const known = new Set(to.classes.map((c) => c.id));
  const mapping = new Map();
  for (const c of from.classes) {
    if (!known.has(c.id)) mapping.set(c.id, known.has(c.counts_as) ? c.counts_as : to.background_id);
  }
  if (mapping.size === 0 || !indices.some((id) => mapping.has(id))) return indices;
  return indices.map((id) => mapping.get(id) ?? id);
}

export function backgroundName(labelSet) {
  return labelSet.classes.find((c) => c.id === labelSet.background_id)?.name ?? "background";
}

/** The same in a sentence: "sky, the background", or "the background" when the class is called that. */
export function backgroundWords(labelSet) {
  const name = backgroundName(labelSet);
  return name.toLowerCase() === "background" ? "the background" : `${name}, the background`;
}

/** Lower case with spaces as "-": the palette entry's data-testid is `label-<slug>`. */
export function labelSlug(name) {
  return name.trim().toLowerCase().replace(/\s+/g, "-");
}

/**
 * RGBA words for all 256 possible indices, in the platform's byte order, so a Uint32Array view of
 * ImageData can be filled with one store per pixel.
 */
function colourWords(labelSet) {
  const bytes = new Uint8Array(256 * 4);
  const unknown = hexToRgb(UNKNOWN_COLOUR);
  for (let i = 0; i < 256; i++) bytes.set([...unknown, 255], i * 4);
  for (const c of labelSet.classes) bytes.set([...hexToRgb(c.colour), 255], c.id * 4);
  return new Uint32Array(bytes.buffer);
}

/** Write the colour of every index into an RGBA byte array (ImageData.data). */
export function indicesToRgba(indices, labelSet, rgba = new Uint8ClampedArray(indices.length * 4)) {
  const words = colourWords(labelSet);
  const pixels = new Uint32Array(rgba.buffer, rgba.byteOffset, indices.length);
  for (let p = 0; p < indices.length; p++) pixels[p] = words[indices[p]];
  return rgba;
}

/** Class id of every RGBA pixel: exact palette colours map directly, anything else to the nearest colour. */
export function rgbaToIndices(rgba, labelSet) {
  const classes = labelSet.classes.map((c) => ({ id: c.id, rgb: hexToRgb(c.colour) }));
  const exact = new Map(classes.map((c) => [(c.rgb[0] << 16) | (c.rgb[1] << 8) | c.rgb[2], c.id]));
  const indices = new Uint8Array(rgba.length / 4);
  for (let p = 0; p < indices.length; p++) {
    const r = rgba[p * 4], g = rgba[p * 4 + 1], b = rgba[p * 4 + 2];
    const key = (r << 16) | (g << 8) | b;
    let id = exact.get(key);
    if (id === undefined) {
      let best = Infinity;
      for (const c of classes) {
        const d = (r - c.rgb[0]) ** 2 + (g - c.rgb[1]) ** 2 + (b - c.rgb[2]) ** 2;
        if (d < best) { best = d; id = c.id; }
      }
      exact.set(key, id);
    }
    indices[p] = id;
  }
  return indices;
}

/** The class ids (and the ignore id) a grey index map may hold. */
function indexGreyIds(labelSet) {
  const ids = new Set(labelSet.classes.map((c) => c.id));
  if (labelSet.ignore_id !== null && labelSet.ignore_id !== undefined) ids.add(labelSet.ignore_id);
  return ids;
}

/**
 * Read an uploaded label map. A colour map in the palette colours is the usual case; a grey image
 * whose values are all class ids (or the ignore id) is taken as a raw index map, which is what the
 * server itself accepts; anything else is snapped to the nearest palette colour.
 */
export function labelMapToIndices(rgba, labelSet) {
  const colours = new Set(labelSet.classes.map((c) => c.colour));
  const ids = indexGreyIds(labelSet);
  let allPalette = true;
  let allIndexGrey = true;
  for (let p = 0; p < rgba.length && (allPalette || allIndexGrey); p += 4) {
    const r = rgba[p], g = rgba[p + 1], b = rgba[p + 2];
    if (allPalette && !colours.has(rgbToHex([r, g, b]))) allPalette = false;
    if (allIndexGrey && !(r === g && g === b && ids.has(r))) allIndexGrey = false;
  }
  if (!allPalette && allIndexGrey) {
    const indices = new Uint8Array(rgba.length / 4);
    for (let p = 0; p < indices.length; p++) indices[p] = rgba[p * 4];
    return indices;
  }
  return rgbaToIndices(rgba, labelSet);
}

/** The share of pixels within `tolerance` of a label colour (JPEG noise included) or an index grey: near 1
 * for a label map, low for a photo opened as one by mistake. Pure. */
export function labelColourShare(rgba, labelSet, tolerance = 24) {
  const colours = labelSet.classes.map((c) => hexToRgb(c.colour));
  const ids = indexGreyIds(labelSet);
  const near = (r, g, b) => colours.some(([cr, cg, cb]) =>
    Math.abs(r - cr) <= tolerance && Math.abs(g - cg) <= tolerance && Math.abs(b - cb) <= tolerance);
  let labelled = 0;
  for (let p = 0; p < rgba.length; p += 4) {
    const r = rgba[p], g = rgba[p + 1], b = rgba[p + 2];
    if ((r === g && g === b && ids.has(r)) || near(r, g, b)) labelled += 1;
  }
  return rgba.length ? labelled / (rgba.length / 4) : 1;
}

/** Sketch pixels: dark means ink. */
export function rgbaToSketch(rgba, threshold = 128) {
  const indices = new Uint8Array(rgba.length / 4);
  for (let p = 0; p < indices.length; p++) {
    const luma = 0.299 * rgba[p * 4] + 0.587 * rgba[p * 4 + 1] + 0.114 * rgba[p * 4 + 2];
    indices[p] = luma < threshold ? SKETCH_INK : SKETCH_PAPER;
  }
  return indices;
}

/** Grey values the server reads: class ids as-is for label models, black ink on white for sketches. */
export function indicesToGrey(indices, isSketch) {
  if (!isSketch) return indices;
  const grey = new Uint8Array(indices.length);
  for (let p = 0; p < indices.length; p++) grey[p] = indices[p] === SKETCH_INK ? 0 : 255;
  return grey;
}

/** Classes grouped by their `group`, groups and classes in the order the label set lists them. */
export function groupClasses(classes) {
  const groups = new Map();
  for (const c of classes) {
    const name = c.group ?? null;
    if (!groups.has(name)) groups.set(name, []);
    groups.get(name).push(c);
  }
  return [...groups].map(([name, members]) => ({ name, classes: members }));
}

/** Perceived brightness decides whether a swatch's tick mark is drawn dark or light. */
export function isLightColour(hex) {
  const [r, g, b] = hexToRgb(hex);
  return 0.299 * r + 0.587 * g + 0.114 * b > 150;
}

/** Build the swatch buttons of `shown` (the label set as the person sees it, see displaycolours.js); `onSelect(id)`
 * fires on a click. Returns a function to mark the selection. */
export function renderPalette(container, shown, onSelect) {
  const doc = container.ownerDocument;
  container.replaceChildren();
  const buttons = new Map();
  for (const group of groupClasses(shown.classes)) {
    const section = doc.createElement("div");
    section.className = "palette-group";
    if (group.name) {
      const heading = doc.createElement("h3");
      heading.className = "palette-group-name";
      heading.textContent = group.name;
      section.append(heading);
    }
    const list = doc.createElement("div");
    list.className = "palette-swatches";
    for (const c of group.classes) {
      const button = doc.createElement("button");
      button.type = "button";
      button.className = "swatch";
      button.dataset.testid = `label-${labelSlug(c.name)}`;
      button.dataset.labelId = String(c.id);
      button.title = c.fileColour ? `${c.name} (${c.fileColour} in saved files)` : `${c.name} (${c.colour})`;
      button.setAttribute("aria-pressed", "false");
      const chip = doc.createElement("span");
      chip.className = "swatch-colour" + (isLightColour(c.colour) ? " is-light" : "");
      chip.style.background = c.colour;
      const name = doc.createElement("span");
      name.className = "swatch-name";
      name.textContent = c.name;
      button.append(chip, name);
      button.addEventListener("click", () => onSelect(c.id));
      list.append(button);
      buttons.set(c.id, button);
    }
    section.append(list);
    container.append(section);
  }
  return (selectedId) => {
    for (const [id, button] of buttons) button.setAttribute("aria-pressed", String(id === selectedId));
  };
}
