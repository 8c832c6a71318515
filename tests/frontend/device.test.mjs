import assert from "node:assert/strict";
import { test } from "node:test";

import { DeviceEngine } from "../../frontend/js/device/engine.js";
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

test("sessions are created one at a time, as onnxruntime-web's WebGPU provider requires; downloads overlap", async () => {
  const file = (name) => ({ url: name, bytes: 10, sha256: "0".repeat(64) });
  const entry = (id, styleEncoder) => ({ id, card: { id, title: id, style_encoder: styleEncoder ? {} : undefined },
    serverOnly: null, onnx: file(`${id}.onnx`), styleEncoder: styleEncoder ? file(`${id}.style.onnx`) : null });
  const manifest = { models: new Map([["spade", entry("spade", true)], ["monet", entry("monet", false)]]) };
  let creating = 0;
  let downloading = 0;
  let mostDownloads = 0;
  const created = [];
  const ort = { InferenceSession: { async create(bytes) {
    if (creating) throw new Error("another WebGPU EP inference session is being created.");
    creating += 1;
    await new Promise((resolve) => setTimeout(resolve, 5));
    creating -= 1;
    created.push(bytes.name);
    return { name: bytes.name };
  } } };
  const files = {
    async bytes(f) {
      downloading += 1;
      mostDownloads = Math.max(mostDownloads, downloading);
      await new Promise((resolve) => setTimeout(resolve, 5));
      downloading -= 1;
      return { name: f.url };
    },
    onNotice() {},
    async forget() {},
  };
  const engine = new DeviceEngine({ manifest, files, runtime: async () => ({ ort, backend: "webgpu" }), budgetBytes: 1e9 });
  await engine.prepare("spade", "monet");
  assert.deepEqual(created.sort(), ["monet.onnx", "spade.onnx", "spade.style.onnx"]);
  assert.equal(mostDownloads, 3, "the three files download at once");
});
