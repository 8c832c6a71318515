// Errors in words: a bar floating at the bottom of the window that hides itself after a while.

import { el } from "./context.js";

const ERROR_VISIBLE_MS = 12000;

let errorTimer = null;

export function showError(message) {
  el("error-text").textContent = message;
  el("error").hidden = false;
  clearTimeout(errorTimer);
  errorTimer = setTimeout(hideError, ERROR_VISIBLE_MS);
}

export function hideError() {
  el("error").hidden = true;
}

export const errorText = (error) => error?.message ?? String(error);

/** Run an async action, showing its failure in words instead of losing it in the console. */
export async function attempt(action) {
  try {
    return await action();
  } catch (error) {
    showError(errorText(error));
    return undefined;
  }
}
