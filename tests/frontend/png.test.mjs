import assert from "node:assert/strict";
import { test } from "node:test";
import { inflateSync } from "node:zlib";

import { crc32, encodeGreyPng } from "../../frontend/js/png.js";

function chunks(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  const found = [];
  for (let offset = 8; offset < bytes.length;) {
    const length = view.getUint32(offset);
    const type = String.fromCharCode(...bytes.subarray(offset + 4, offset + 8));
    const data = bytes.subarray(offset + 8, offset + 8 + length);
    assert.equal(view.getUint32(offset + 8 + length), crc32(bytes.subarray(offset + 4, offset + 8 + length)), `${type} crc`);
    found.push({ type, data });
    offset += 12 + length;
  }
  return found;
}

test("crc32 matches the reference value", () => {
  assert.equal(crc32(new TextEncoder().encode("123456789")), 0xcbf43926);
});

test("a greyscale PNG round-trips the exact pixel values", async () => {
  const width = 7;
  const height = 5;
  const pixels = Uint8Array.from({ length: width * height }, (_, i) => (i * 37) % 256);
  const png = await encodeGreyPng(width, height, pixels);
  assert.deepEqual([...png.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10]);
  const [header, ...rest] = chunks(png);
  assert.equal(header.type, "IHDR");
  const headerView = new DataView(header.data.buffer, header.data.byteOffset);
  assert.equal(headerView.getUint32(0), width);
  assert.equal(headerView.getUint32(4), height);
  assert.deepEqual([header.data[8], header.data[9]], [8, 0]);
  assert.equal(rest.at(-1).type, "IEND");
  const raw = inflateSync(Buffer.concat(rest.filter((c) => c.type === "IDAT").map((c) => c.data)));
  for (let y = 0; y < height; y++) {
    assert.equal(raw[y * (width + 1)], 0, "filter type none");
    assert.deepEqual([...raw.subarray(y * (width + 1) + 1, (y + 1) * (width + 1))], [...pixels.subarray(y * width, (y + 1) * width)]);
  }
});

test("a pixel count that does not match the size is refused", async () => {
  await assert.rejects(encodeGreyPng(4, 4, new Uint8Array(15)));
});
