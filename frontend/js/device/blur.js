// Gaussian blur of 8-bit RGBA pixels, computed the way Pillow's ImageFilter.GaussianBlur does: three passes
// of an "extended" box blur (a box of integer radius plus fractional end taps, edges repeated) along each row,
// then three along each column, with Pillow's float32 radius, 24-bit fixed-point weights and 8-bit rounding
// after every pass, so the page's blurred photo is the server's byte for byte.

const PASSES = 3;
const ONE = 2 ** 24;
const HALF = 2 ** 23;
const f32 = Math.fround;

/** The box radius (integer part plus fraction) whose PASSES passes have the Gaussian's variance (Gwosdek et al.). */
function boxRadius(sigma) {
  const variance = f32(f32(sigma * sigma) / PASSES);
  const length = f32(Math.sqrt(12 * variance + 1));
  const whole = f32(Math.floor((length - 1) / 2));
  const fraction = f32(f32(f32(2 * whole) + 1) * f32(f32(whole * f32(whole + 1)) - f32(3 * variance)));
  return f32(whole + f32(fraction / f32(6 * f32(variance - f32(f32(whole + 1) * f32(whole + 1))))));
}

/** The box's integer radius, the weight of each pixel inside it and of each of its two fractional end taps. */
function boxWeights(sigma) {
  const radius = boxRadius(sigma);
  const whole = Math.trunc(radius);
  const inside = Math.trunc(f32(ONE / f32(f32(radius * 2) + 1)));
  return { whole, inside, end: Math.floor((ONE - (whole * 2 + 1) * inside) / 2) };
}

/** One pass over `count` values of `pixels` at `start`, `step` apart, through the scratch line `line`. */
function blurLine(pixels, start, step, count, line, { whole, inside, end }) {
  for (let i = 0; i < count; i += 1) line[i] = pixels[start + i * step];
  const at = (i) => line[i < 0 ? 0 : i >= count ? count - 1 : i];
  let sum = 0;
  for (let i = -whole - 1; i < whole; i += 1) sum += at(i); // the box around position -1
  for (let i = 0; i < count; i += 1) {
    sum += at(i + whole) - at(i - whole - 1);
    const total = sum * inside + (at(i - whole - 1) + at(i + whole + 1)) * end;
    pixels[start + i * step] = Math.floor((total + HALF) / ONE);
  }
}

/** RGBA bytes width×height -> new RGBA bytes with R, G and B blurred (alpha copied). */
export function gaussianBlur(rgba, width, height, sigma) {
  const out = new Uint8ClampedArray(rgba);
  const weights = boxWeights(sigma);
  const line = new Int32Array(Math.max(width, height));
  for (let channel = 0; channel < 3; channel += 1) {
    for (let pass = 0; pass < PASSES; pass += 1) {
      for (let y = 0; y < height; y += 1) blurLine(out, y * width * 4 + channel, 4, width, line, weights);
    }
    for (let pass = 0; pass < PASSES; pass += 1) {
      for (let x = 0; x < width; x += 1) blurLine(out, x * 4 + channel, width * 4, height, line, weights);
    }
  }
  return out;
}
