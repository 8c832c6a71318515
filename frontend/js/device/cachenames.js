// The Cache Storage names the page and its service worker share, in one place. A new name (a new
// onnxruntime-web version, a new page layout) leaves the old cache behind, and the worker deletes it.

export const SHELL_CACHE = "gaugan-shell-v1";
export const RUNTIME_CACHE = "gaugan-runtime-ort-1.31.1";
export const MODEL_CACHE = "gaugan-models-v1";
export const CACHE_NAMES = Object.freeze([SHELL_CACHE, RUNTIME_CACHE, MODEL_CACHE]);
