// Files in and out of the page: a blob handed to the browser as a download, and file inputs that act once
// per chosen file.

import { el } from "./context.js";
import { attempt } from "./messages.js";

export function saveBlob(blob, filename) {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10000);
}

/** File input `inputId`: run `action` on the chosen file while `ready()`, then reset so choosing the same file
 * again works. Its button shows it is busy meanwhile, and a failure is shown in words. */
export function onFile(inputId, ready, action) {
  const input = el(inputId);
  input.addEventListener("change", async () => {
    const file = input.files?.[0];
    input.value = "";
    if (!file || !ready()) return;
    const label = input.closest(".file-button");
    label?.classList.add("busy");
    await attempt(() => action(file));
    label?.classList.remove("busy");
  });
}
