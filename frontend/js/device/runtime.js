// Loads onnxruntime-web from the page's own vendor/ folder: WebGPU when the browser offers an adapter,
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

async function hasWebGpu(gpu) {
  if (!gpu?.requestAdapter) return false;
  try {
    return Boolean(await gpu.requestAdapter());
  } catch {
    return false; // an adapter request that fails means no usable GPU
  }
}

/** Resolves to { ort, backend: "webgpu" | "wasm", threads, notice }. */
export async function loadRuntime(scope = globalThis) {
  const webgpu = await hasWebGpu(scope.navigator?.gpu);
  const ort = await import(new URL(webgpu ? VENDOR_WEBGPU : VENDOR_WASM, import.meta.url).href);
  const plan = threadPlan({
    isolated: scope.crossOriginIsolated === true,
    sharedMemory: typeof scope.SharedArrayBuffer === "function",
    cores: scope.navigator?.hardwareConcurrency,
  });
  ort.env.wasm.numThreads = plan.threads;
  ort.env.wasm.proxy = !webgpu;
  ort.env.wasm.wasmPaths = new URL("../../vendor/onnxruntime-web/", import.meta.url).href;
  return { ort, backend: webgpu ? "webgpu" : "wasm", threads: plan.threads, notice: plan.notice };
}
