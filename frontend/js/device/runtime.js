// Loads onnxruntime-web from the page's own vendor/ folder: WebGPU when the browser offers a hardware adapter,
// else WebAssembly (SIMD), on 2-4 threads when the page is cross-origin isolated, else on one thread.
// WebAssembly runs in onnxruntime's proxy worker (ort.wasm.min.mjs itself, started as a module worker), so a
// model computing for hundreds of milliseconds does not freeze the brush; WebGPU computes on the GPU already,
// and the proxy does not support it, so it stays on the page.

const VENDOR_WASM = "../../vendor/onnxruntime-web/ort.wasm.min.mjs";
const VENDOR_WEBGPU = "../../vendor/onnxruntime-web/ort.webgpu.min.mjs";
const MAX_THREADS = 4;

export const NO_ISOLATION_NOTICE = "One thread: this host does not send COOP/COEP headers, so WebAssembly threads are off.";
export const NO_THREADS_NOTICE = "One thread: this browser does not offer WebAssembly threads (no SharedArrayBuffer).";

/** How many WebAssembly threads this page can use, and why only one when so. Pure. */
export function threadPlan({ isolated, sharedMemory, cores }) {
  if (!isolated) return { threads: 1, notice: NO_ISOLATION_NOTICE };
  if (!sharedMemory) return { threads: 1, notice: NO_THREADS_NOTICE };
  return { threads: Math.min(MAX_THREADS, Math.max(2, cores || 2)), notice: null };
}

/** Whether WebGPU should run the models, given the browser's adapter (or null) and why a device could not be
 * had from it (or null), and why not when the browser has an adapter. A fallback adapter is a software
 * renderer (Chromium's SwiftShader): measured here, it took 38 s for a SPADE picture that WebAssembly paints in
 * 0.1 s, so only a hardware adapter is used. Pure. */
export function webGpuPlan(adapter, deviceProblem = null) {
  if (!adapter) return { webgpu: false, notice: null };
  const info = adapter.info ?? {};
  if (info.isFallbackAdapter ?? adapter.isFallbackAdapter) {
    const name = info.architecture || info.vendor;
    const renderer = name ? `a software renderer (${name})` : "a software renderer";
    return { webgpu: false, notice: `This browser's WebGPU is ${renderer}, slower than WebAssembly, so the models run on WebAssembly.` };
  }
  if (deviceProblem) return { webgpu: false, notice: `WebGPU would not start (${deviceProblem}), so the models run on WebAssembly.` };
  return { webgpu: true, notice: null };
}

async function webGpuAdapter(gpu) {
  if (!gpu?.requestAdapter) return null;
  try {
    return await gpu.requestAdapter();
  } catch {
    return null; // an adapter request that fails means no usable GPU
  }
}

/** Why the adapter gives no device (a blocklisted driver, a lost GPU), or null once a trial device started. */
async function deviceProblem(adapter) {
  try {
    (await adapter.requestDevice()).destroy();
    return null;
  } catch (error) {
    return error?.message || String(error);
  }
}

/** Resolves to { ort, backend: "webgpu" | "wasm", threads, notices: [sentences the person should read] }. */
export async function loadRuntime(scope = globalThis) {
  const adapter = await webGpuAdapter(scope.navigator?.gpu);
  let gpu = webGpuPlan(adapter);
  if (gpu.webgpu) gpu = webGpuPlan(adapter, await deviceProblem(adapter));
  const webgpu = gpu.webgpu;
  const ort = await import(new URL(webgpu ? VENDOR_WEBGPU : VENDOR_WASM, import.meta.url).href);
  const plan = threadPlan({
    isolated: scope.crossOriginIsolated === true,
    sharedMemory: typeof scope.SharedArrayBuffer === "function",
    cores: scope.navigator?.hardwareConcurrency,
  });
  ort.env.wasm.numThreads = plan.threads;
  ort.env.wasm.proxy = !webgpu;
  ort.env.wasm.wasmPaths = new URL("../../vendor/onnxruntime-web/", import.meta.url).href;
  const notices = [gpu.notice, plan.notice].filter(Boolean);
  return { ort, backend: webgpu ? "webgpu" : "wasm", threads: plan.threads, notices };
}
