// Stroke rasterisation on an index buffer. Pure: no DOM, so node tests can import it.
// Every written pixel gets exactly `value`; there is no anti-aliasing, because the buffer holds class ids.

const stampCache = new Map();

/**
 * Pixel offsets covered by one brush stamp, relative to the pixel under the pointer.
 * Odd sizes are centred on that pixel's centre, even sizes on its top-left corner, so a size-n
 * stamp is exactly n pixels across.
 */
export function stampOffsets(size, tip) {
  const key = `${size}:${tip}`;
  const cached = stampCache.get(key);
  if (cached) return cached;
  const radius = size / 2;
  // Pixel centres within radius - 1/4: keeps small round tips round (a 3-pixel tip is a plus, not a
  // square) while the tip is still exactly `size` pixels across.
  const roundLimit = (radius - 0.25) ** 2;
  const centre = size % 2 === 1 ? 0.5 : 0;
  const reach = Math.ceil(radius) + 1;
  const offsets = [];
  for (let dy = -reach; dy <= reach; dy++) {
    for (let dx = -reach; dx <= reach; dx++) {
      const ox = dx + 0.5 - centre;
      const oy = dy + 0.5 - centre;
      const inside = tip === "square"
        ? Math.abs(ox) <= radius && Math.abs(oy) <= radius
        : ox * ox + oy * oy <= roundLimit;
      if (inside) offsets.push(dx, dy);
    }
  }
  const result = Int32Array.from(offsets);
  stampCache.set(key, result);
  return result;
}

function stamp(buffer, width, height, x, y, offsets, value) {
  for (let i = 0; i < offsets.length; i += 2) {
    const px = x + offsets[i];
    const py = y + offsets[i + 1];
    if (px >= 0 && py >= 0 && px < width && py < height) buffer[py * width + px] = value;
  }
}

/** Integer pixels from (x0, y0) to (x1, y1) inclusive, one per step along the major axis. */
export function linePixels(x0, y0, x1, y1) {
  const points = [];
  const dx = Math.abs(x1 - x0);
  const dy = -Math.abs(y1 - y0);
  const sx = x0 < x1 ? 1 : -1;
  const sy = y0 < y1 ? 1 : -1;
  let error = dx + dy;
  let x = x0;
  let y = y0;
  for (;;) {
    points.push([x, y]);
    if (x === x1 && y === y1) return points;
    const doubled = 2 * error;
    if (doubled >= dy) { error += dy; x += sx; }
    if (doubled <= dx) { error += dx; y += sy; }
  }
}

/**
 * Paint a stroke segment between two pointer samples (pixel coordinates, rounded down).
 * `brush` is {size, tip: "round"|"square", value}.
 */
export function paintSegment(buffer, width, height, from, to, brush) {
  const offsets = stampOffsets(Math.max(1, Math.round(brush.size)), brush.tip);
  for (const [x, y] of linePixels(Math.floor(from.x), Math.floor(from.y), Math.floor(to.x), Math.floor(to.y))) {
    stamp(buffer, width, height, x, y, offsets, brush.value);
  }
}
