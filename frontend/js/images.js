// Decoding and resampling of images the person uploads or the server returns (browser only).

import { fitRect } from "./squaring.js";

const NOT_AN_IMAGE = "That file is not an image the browser can read (use PNG or JPEG).";

async function decode(source) {
  try {
    return await createImageBitmap(source);
  } catch {
    throw new Error(NOT_AN_IMAGE);
  }
}

/** Draw the centre square of `bitmap` onto a new side×side canvas. */
function centreSquare(bitmap, side, smooth) {
  const crop = Math.min(bitmap.width, bitmap.height);
  const canvas = new OffscreenCanvas(side, side);
  const context = canvas.getContext("2d", { willReadFrequently: true });
  context.imageSmoothingEnabled = smooth;
  context.imageSmoothingQuality = "high";
  context.drawImage(bitmap, (bitmap.width - crop) / 2, (bitmap.height - crop) / 2, crop, crop, 0, 0, side, side);
  return { canvas, context };
}

/**
 * RGBA pixels of an image resampled to size×size (non-square images are cropped to their centre).
 * Label maps must be resampled without smoothing, or edges would blend into colours that are no label.
 */
export async function imageToRgba(source, size, { smooth = false } = {}) {
  const bitmap = await decode(source);
  const { context } = centreSquare(bitmap, size, smooth);
  bitmap.close();
  return context.getImageData(0, 0, size, size).data;
}

/** { width, height } of an image file; throws in words for a file that is not an image. */
export async function imageSize(source) {
  const bitmap = await decode(source);
  const size = { width: bitmap.width, height: bitmap.height };
  bitmap.close();
  return size;
}

/** RGBA pixels of the whole image scaled into a size×size square without distortion: `rect` (fitRect) says
 * where, and the pixels are rect.width×rect.height (the caller fills the border, in its own terms). */
export async function fittedRgba(source, size, { smooth = false } = {}) {
  const bitmap = await decode(source);
  const rect = fitRect(bitmap.width, bitmap.height, size);
  const canvas = new OffscreenCanvas(rect.width, rect.height);
  const context = canvas.getContext("2d", { willReadFrequently: true });
  context.imageSmoothingEnabled = smooth;
  context.imageSmoothingQuality = "high";
  context.drawImage(bitmap, 0, 0, rect.width, rect.height);
  bitmap.close();
  return { rgba: context.getImageData(0, 0, rect.width, rect.height).data, rect };
}

/** A photo made square (`fit`: "crop" to its centre, or "pad": whole, on white) and capped in size, so uploads
 * stay small and match the square canvas. */
export async function squarePhoto(file, fit = "crop", maxSide = 1024) {
  const bitmap = await decode(file);
  let canvas;
  if (fit === "pad") {
    const side = Math.min(Math.max(bitmap.width, bitmap.height), maxSide);
    const rect = fitRect(bitmap.width, bitmap.height, side);
    canvas = new OffscreenCanvas(side, side);
    const context = canvas.getContext("2d");
    context.fillStyle = "#ffffff";
    context.fillRect(0, 0, side, side);
    context.imageSmoothingQuality = "high";
    context.drawImage(bitmap, rect.left, rect.top, rect.width, rect.height);
  } else {
    canvas = centreSquare(bitmap, Math.min(bitmap.width, bitmap.height, maxSide), true).canvas;
  }
  bitmap.close();
  return canvas.convertToBlob({ type: "image/png" });
}

/** A style image with its whole frame kept: the file itself when its longer side is at most `maxSide`, else a
 * PNG scaled down to that (a 5000 px photo would be over the server's pixel limit, and the style encoder pools
 * the whole picture anyway). Throws, before anything is uploaded, for a file that is not an image. */
export async function cappedImage(file, maxSide = 1024) {
  const bitmap = await decode(file);
  const scale = maxSide / Math.max(bitmap.width, bitmap.height);
  if (scale >= 1) {
    bitmap.close();
    return file;
  }
  const width = Math.max(1, Math.round(bitmap.width * scale));
  const height = Math.max(1, Math.round(bitmap.height * scale));
  const canvas = new OffscreenCanvas(width, height);
  const context = canvas.getContext("2d");
  context.imageSmoothingQuality = "high";
  context.drawImage(bitmap, 0, 0, width, height);
  bitmap.close();
  return canvas.convertToBlob({ type: "image/png" });
}

/** A small data: URL preview, small enough to keep in localStorage with the settings. */
export async function thumbnailUrl(file, side = 96) {
  const bitmap = await decode(file);
  const { canvas } = centreSquare(bitmap, side, true);
  bitmap.close();
  const blob = await canvas.convertToBlob({ type: "image/jpeg", quality: 0.85 });
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(new Error("Could not read the style image."));
    reader.readAsDataURL(blob);
  });
}
