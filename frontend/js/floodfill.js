// Scanline flood fill on an index buffer (4-connected). Pure, so node tests can import it.

/** Fill the region of equal ids around (x, y) with `value`; returns how many pixels changed. */
export function floodFill(buffer, width, height, x, y, value) {
  x = Math.floor(x);
  y = Math.floor(y);
  if (x < 0 || y < 0 || x >= width || y >= height) return 0;
  const target = buffer[y * width + x];
  if (target === value) return 0;
  let filled = 0;
  const seeds = [x, y];
  while (seeds.length) {
    const seedY = seeds.pop();
    const seedX = seeds.pop();
    const row = seedY * width;
    if (buffer[row + seedX] !== target) continue;
    let left = seedX;
    while (left > 0 && buffer[row + left - 1] === target) left--;
    let right = seedX;
    while (right < width - 1 && buffer[row + right + 1] === target) right++;
    buffer.fill(value, row + left, row + right + 1);
    filled += right - left + 1;
    for (const nextY of [seedY - 1, seedY + 1]) {
      if (nextY < 0 || nextY >= height) continue;
      const nextRow = nextY * width;
      // One seed per run of target pixels on the neighbouring row keeps the stack small.
      let inRun = false;
      for (let px = left; px <= right; px++) {
        const matches = buffer[nextRow + px] === target;
        if (matches && !inRun) seeds.push(px, nextY);
        inRun = matches;
      }
    }
  }
  return filled;
}
