// The colours a person sees for a label set. A dataset's colours are kept where each is easy to tell from the
// others; a set with near twins (the facades' background #0000d4 and facade #002aff) is shown in distinct colours
// instead. Only the canvas and the palette change: files saved and opened, and what the models receive, keep
// the dataset's colours. Pure, so node tests it.

import { hexToRgb } from "./palette.js";

/** Two colours closer than this (CIE76 ΔE, about "clearly different at a glance") count as twins. */
export const MIN_COLOUR_DIFFERENCE = 20;
/** Shown in class order, the background first in its own light grey; chosen to differ pairwise by ΔE > 28. */
const DISTINCT = ["#d9a066", "#3a6fd8", "#8b3a2b", "#f2e35c", "#5cd6c0", "#9b59d0", "#2f8f3a", "#ff7fb0", "#f08030",
  "#404a60", "#c01818", "#7fd35a", "#1a1a8c"];
const BACKGROUND = "#c8ccd4";

/** sRGB #rrggbb -> CIE L*a*b* (D65). */
export function hexToLab(hex) {
  const [r, g, b] = hexToRgb(hex).map((v) => {
    const c = v / 255;
    return c > 0.04045 ? ((c + 0.055) / 1.055) ** 2.4 : c / 12.92;
  });
  const f = (t) => (t > 216 / 24389 ? Math.cbrt(t) : (24389 / 27 * t + 16) / 116);
  const x = f((0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047);
  const y = f(0.2126 * r + 0.7152 * g + 0.0722 * b);
  const z = f((0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883);
  return [116 * y - 16, 500 * (x - y), 200 * (y - z)];
}

export function colourDifference(a, b) {
  const [la, lb] = [hexToLab(a), hexToLab(b)];
  return Math.hypot(la[0] - lb[0], la[1] - lb[1], la[2] - lb[2]);
}

function hasTwins(colours) {
  return colours.some((a, i) => colours.slice(i + 1).some((b) => colourDifference(a, b) < MIN_COLOUR_DIFFERENCE));
}

const shownSets = new WeakMap();

/** The label set as shown: itself when its colours are distinct, else a copy in distinct colours (each class
 * keeps its dataset colour as `fileColour`). The same object for the same label set. */
export function shownLabelSet(labelSet) {
  if (!shownSets.has(labelSet)) {
    const colours = labelSet.classes.map((c) => c.colour);
    let shown = labelSet;
    if (hasTwins(colours) && labelSet.classes.length <= DISTINCT.length + 1) {
      const others = DISTINCT[Symbol.iterator]();
      shown = {
        ...labelSet,
        classes: labelSet.classes.map((c) => ({
          ...c, fileColour: c.colour, colour: c.id === labelSet.background_id ? BACKGROUND : others.next().value,
        })),
      };
    }
    shownSets.set(labelSet, shown);
  }
  return shownSets.get(labelSet);
}
