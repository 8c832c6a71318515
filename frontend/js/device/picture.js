// Pixels <-> image files in the page, for the device engine (browser only).

/** Opaque RGBA bytes size×size -> a PNG blob, like the server's picture. */
export async function pngBlob(rgba, size) {
  const canvas = new OffscreenCanvas(size, size);
  canvas.getContext("2d").putImageData(new ImageData(new Uint8ClampedArray(rgba), size, size), 0, 0);
  return canvas.convertToBlob({ type: "image/png" });
}

/** An image file -> { rgba, width, height } at its own size (the engine resizes like the server), transparent
 * pixels on white paper as the server puts them (backend/imaging.py). */
export async function fileRgba(blob) {
  let bitmap;
  try {
    bitmap = await createImageBitmap(blob);
  } catch {
    throw new Error("That file is not an image the browser can read (use PNG or JPEG).");
  }
  const { width, height } = bitmap;
  const context = new OffscreenCanvas(width, height).getContext("2d", { willReadFrequently: true });
  context.fillStyle = "#ffffff";
  context.fillRect(0, 0, width, height);
  context.drawImage(bitmap, 0, 0);
  bitmap.close();
  return { rgba: context.getImageData(0, 0, width, height).data, width, height };
}
