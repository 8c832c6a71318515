// A picture that is not square, made square without distortion: cropped to its centre, or fitted whole inside
// the square with a border. Pure, so node tests it.

export const FITS = Object.freeze({ crop: "Crop to square", pad: "Fit with padding" });

/** Where a width×height picture lands, whole and undistorted, in a size×size square: its scaled size and offset. */
export function fitRect(width, height, size) {
  const scale = size / Math.max(width, height);
  const w = Math.max(1, Math.min(size, Math.round(width * scale)));
  const h = Math.max(1, Math.min(size, Math.round(height * scale)));
  return { width: w, height: h, left: Math.floor((size - w) / 2), top: Math.floor((size - h) / 2) };
}

/** A size×size drawing of `fill` with the rect's drawing (`rect.width`×`rect.height` ids) placed in it. */
export function padDrawing(ids, rect, size, fill) {
  const drawing = new Uint8Array(size * size).fill(fill);
  for (let y = 0; y < rect.height; y += 1) {
    drawing.set(ids.subarray(y * rect.width, (y + 1) * rect.width), (rect.top + y) * size + rect.left);
  }
  return drawing;
}
