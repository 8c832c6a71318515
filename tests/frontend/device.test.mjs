import assert from "node:assert/strict";
import { test } from "node:test";

import { LatestWins } from "../../frontend/js/device/latestwins.js";
import { Placement, serverTrouble } from "../../frontend/js/device/placement.js";
import { threadPlan, webGpuPlan } from "../../frontend/js/device/runtime.js";
import { labelsData, pictureRgba, sketchData } from "../../frontend/js/device/tensors.js";
import { resizeLanczos } from "../../frontend/js/device/resample.js";

test("automatic placement: the server until it is busy, then the device; the faster side once both are known", () => {
  let now = 0;
  const placement = new Placement({ now: () => now });
  assert.equal(placement.choose("auto", null).where, "server");
  placement.serverFailed(serverTrouble({ status: 503 }));
  assert.equal(placement.choose("auto", null).where, "device");
  now += 60000;
  placement.serverAnswered(200);
  placement.device.observe(50);
  assert.equal(placement.choose("auto", null).where, "device");
  assert.equal(placement.choose("server", null).where, "server");
  const forced = placement.choose("device", "Hybrid runs on the server only (a bank).");
  assert.deepEqual(forced, { where: "server", why: "Hybrid runs on the server only (a bank)." });
  assert.equal(serverTrouble({ status: 422 }), null);
});

test("latest wins: a job submitted while one runs replaces the waiting one", async () => {
  const ran = [];
  let release;
  const queue = new LatestWins(async (job) => { ran.push(job); if (job === 1) await new Promise((r) => { release = r; }); });
  queue.submit(1);
  queue.submit(2);
  queue.submit(3);
  release();
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(ran, [1, 3]);
});

test("threads: two to four when isolated, else one with the reason", () => {
  assert.equal(threadPlan({ isolated: true, sharedMemory: true, cores: 8 }).threads, 4);
  assert.match(threadPlan({ isolated: false, sharedMemory: true, cores: 8 }).notice, /COOP\/COEP/);
  assert.equal(threadPlan({ isolated: true, sharedMemory: false, cores: 2 }).threads, 1);
});

test("WebGPU: a hardware adapter is used; a software fallback adapter is not, and the page says why", () => {
  assert.deepEqual(webGpuPlan(null), { webgpu: false, notice: null });
  assert.deepEqual(webGpuPlan({ info: { vendor: "nvidia", architecture: "ampere", isFallbackAdapter: false } }),
    { webgpu: true, notice: null });
  const software = webGpuPlan({ info: { vendor: "google", architecture: "swiftshader", isFallbackAdapter: true } });
  assert.equal(software.webgpu, false);
  assert.match(software.notice, /a software renderer \(swiftshader\), slower than WebAssembly/);
  // Browsers from before GPUAdapterInfo.isFallbackAdapter put the flag on the adapter itself.
  assert.equal(webGpuPlan({ isFallbackAdapter: true, info: {} }).webgpu, false);
  const broken = webGpuPlan({ info: { isFallbackAdapter: false } }, "device lost");
  assert.deepEqual(broken, { webgpu: false, notice: "WebGPU would not start (device lost), so the models run on WebAssembly." });
});

test("tensors follow the server's conventions", () => {
  assert.deepEqual([...labelsData(Uint8Array.from([0, 7]))], [0n, 7n]);
  assert.deepEqual([...sketchData(Uint8Array.from([1, 0]))], [-1, 1]);
  const rgba = pictureRgba(Float32Array.from([-1, 1, 0, NaN, 2, -2]), 2, 1);
  assert.deepEqual([...rgba], [0, 128, 255, 255, 255, 128, 0, 255]);
  const flat = new Uint8ClampedArray(4 * 4 * 4).fill(90);
  assert.ok(resizeLanczos(flat, 4, 4, 2, 2).every((v) => v === 90), "a flat image stays flat");
});
