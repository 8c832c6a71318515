// Lanczos resampling of 8-bit RGBA pixels, computed the way Pillow's Image.resize(LANCZOS) does (a = 3,
// the kernel widened by the scale when shrinking, weights rounded to 22-bit fixed point, the horizontal pass
// first with an 8-bit result in between), so a resized picture matches the server's to a level or so.

const SUPPORT = 3;
const PRECISION_BITS = 22;
const ONE = 2 ** PRECISION_BITS;
const HALF = 2 ** (PRECISION_BITS - 1);

function sinc(x) {
  if (x === 0) return 1;
  const px = Math.PI * x;
  return Math.sin(px) / px;
}

const lanczos = (x) => (x > -SUPPORT && x < SUPPORT ? sinc(x) * sinc(x / SUPPORT) : 0);

/** For each output position: the first input index and the fixed-point weights of the inputs it reads. */
function coefficients(inSize, outSize) {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = SUPPORT * filterScale;
  const taps = [];
  for (let out = 0; out < outSize; out += 1) {
    const centre = (out + 0.5) * scale;
    const first = Math.max(Math.trunc(centre - support + 0.5), 0);
    const count = Math.min(Math.trunc(centre + support + 0.5), inSize) - first;
    const weights = new Float64Array(count);
    let total = 0;
    for (let k = 0; k < count; k += 1) {
      weights[k] = lanczos((k + first - centre + 0.5) / filterScale);
      total += weights[k];
    }
    const fixed = Array.from(weights, (w) => {
      const normal = total === 0 ? w : w / total;
      return Math.trunc(normal * ONE + (normal < 0 ? -0.5 : 0.5));
    });
    taps.push({ first, fixed });
  }
  return taps;
}

const clip8 = (sum) => Math.min(255, Math.max(0, Math.floor(sum / ONE)));

function pass(source, width, height, outWidth, outHeight, horizontal) {
  const out = new Uint8ClampedArray(outWidth * outHeight * 4);
  const taps = coefficients(horizontal ? width : height, horizontal ? outWidth : outHeight);
  for (let y = 0; y < outHeight; y += 1) {
    for (let x = 0; x < outWidth; x += 1) {
      const { first, fixed } = taps[horizontal ? x : y];
      const target = (y * outWidth + x) * 4;
      for (let c = 0; c < 4; c += 1) {
        let sum = HALF;
        for (let k = 0; k < fixed.length; k += 1) {
          const at = horizontal ? (y * width + first + k) * 4 : ((first + k) * width + x) * 4;
          sum += source[at + c] * fixed[k];
        }
        out[target + c] = clip8(sum);
      }
    }
  }
  return out;
}

/** RGBA bytes width×height -> RGBA bytes outWidth×outHeight. */
export function resizeLanczos(rgba, width, height, outWidth, outHeight) {
  let pixels = rgba;
  if (outWidth !== width) pixels = pass(pixels, width, height, outWidth, height, true);
  if (outHeight !== height) pixels = pass(pixels, outWidth, height, outWidth, outHeight, false);
  return pixels === rgba ? new Uint8ClampedArray(rgba) : pixels;
}
