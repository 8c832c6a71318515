// The colours a person sees for a label set. A dataset's colours are kept where each is easy to tell from the
// others; a class whose colour twins an earlier class's (the facades' facade #002aff beside the background's
// #0000d4) is shown in a distinct colour instead. Only the canvas and the palette change: files saved and opened, and what the models receive, keep
// the dataset's colours. Pure, so node tests it.

import { hexToRgb } from "./palette.js";

/** Two colours closer than this (CIE76 ΔE, about "clearly different at a glance") count as twins. */
export const MIN_COLOUR_DIFFERENCE = 20;
/** A recoloured class clearly differs from every other swatch by this much. */
const CLEAR_DIFFERENCE = 28;
/** Candidates for a recoloured class, after the pale ones below; chosen to differ pairwise by ΔE > 28. */
const DISTINCT = ["#d9a066", "#3a6fd8", "#8b3a2b", "#f2e35c", "#5cd6c0", "#9b59d0", "#2f8f3a", "#ff7fb0", "#f08030",
  "#404a60", "#c01818", "#7fd35a", "#1a1a8c"];
/** Tried first: the twins are most often pale classes (snow beside cloud), best shown pale. */
const PALE = ["#c8ccd4", "#e0c0ff", "#fff3b0"];

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

const shownSets = new WeakMap();

/** The label set as shown: itself when its colours are distinct, else a copy in which each class whose colour
 * is a near twin of an earlier one's is shown in a distinct colour instead (keeping its dataset colour as
 * `fileColour`), so that sky stays blue and trees green when only cloud and snow are twins. The same object
 * for the same label set. */
export function shownLabelSet(labelSet) {
  if (!shownSets.has(labelSet)) {
    const kept = [];
    let changed = false;
    const classes = labelSet.classes.map((c, i) => {
      const clashes = (colour) => kept.some((k) => colourDifference(k, colour) < MIN_COLOUR_DIFFERENCE);
      if (!clashes(c.colour)) {
        kept.push(c.colour);
        return c;
      }
      const later = labelSet.classes.slice(i + 1).map((other) => other.colour);
      const free = (colour) => [...kept, ...later].every((k) => colourDifference(k, colour) >= CLEAR_DIFFERENCE);
      const colour = [...PALE, ...DISTINCT].find(free) ?? DISTINCT.find((d) => !clashes(d)) ?? c.colour;
      kept.push(colour);
      changed = true;
      return { ...c, fileColour: c.colour, colour };
    });
    shownSets.set(labelSet, changed ? { ...labelSet, classes } : labelSet);
  }
  return shownSets.get(labelSet);
}
