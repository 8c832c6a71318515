// Undo/redo of edits to an index buffer. Pure, so node tests can import it.
// Each step stores only the pixels it changed (index, before, after), and the oldest steps are
// dropped once the total passes a byte budget, so memory stays bounded however long one paints.

const BYTES_PER_CHANGED_PIXEL = 6; // Uint32 index + Uint8 before + Uint8 after

export class History {
  constructor({ maxBytes = 24 * 1024 * 1024, maxSteps = 300 } = {}) {
    this.maxBytes = maxBytes;
    this.maxSteps = maxSteps;
    this.clear();
  }

  clear() {
    this.done = [];
    this.undone = [];
    this.bytes = 0;
  }

  get canUndo() { return this.done.length > 0; }
  get canRedo() { return this.undone.length > 0; }

  /** Record the edit that turned `before` into `after`; returns false when nothing changed. */
  record(before, after) {
    if (before.length !== after.length) throw new Error("history: buffers differ in length");
    let changed = 0;
    for (let i = 0; i < after.length; i++) if (before[i] !== after[i]) changed++;
    if (changed === 0) return false;
    const step = {
      indices: new Uint32Array(changed),
      before: new Uint8Array(changed),
      after: new Uint8Array(changed),
    };
    let k = 0;
    for (let i = 0; i < after.length; i++) {
      if (before[i] !== after[i]) {
        step.indices[k] = i;
        step.before[k] = before[i];
        step.after[k] = after[i];
        k++;
      }
    }
    this.done.push(step);
    this.bytes += changed * BYTES_PER_CHANGED_PIXEL;
    for (const dropped of this.undone) this.bytes -= dropped.indices.length * BYTES_PER_CHANGED_PIXEL;
    this.undone = [];
    while (this.done.length > 1 && (this.bytes > this.maxBytes || this.done.length > this.maxSteps)) {
      this.bytes -= this.done.shift().indices.length * BYTES_PER_CHANGED_PIXEL;
    }
    return true;
  }

  /** Put the previous state back into `buffer`; returns false when there is nothing to undo. */
  undo(buffer) {
    const step = this.done.pop();
    if (!step) return false;
    for (let k = 0; k < step.indices.length; k++) buffer[step.indices[k]] = step.before[k];
    this.undone.push(step);
    return true;
  }

  /**
   * The steps nearest the present whose changed pixels fit in `maxBytes`, to be kept across a reload:
   * { done, undone } in this history's order (each step { indices, before, after }). Undo steps come first.
   */
  newestSteps(maxBytes) {
    let room = maxBytes;
    const fits = (step) => (room -= step.indices.length * BYTES_PER_CHANGED_PIXEL) >= 0;
    const done = [];
    for (let k = this.done.length - 1; k >= 0 && fits(this.done[k]); k--) done.unshift(this.done[k]);
    const undone = [];
    if (done.length === this.done.length) {
      for (let k = this.undone.length - 1; k >= 0 && fits(this.undone[k]); k--) undone.unshift(this.undone[k]);
    }
    return { done, undone };
  }

  /** Take over steps from newestSteps() for a buffer of `length` pixels; false (and an empty history) when a
   * step does not fit that buffer, as a stale or damaged copy would not. */
  restore({ done = [], undone = [] } = {}, length) {
    this.clear();
    const valid = (step) => step.indices.length === step.before.length && step.indices.length === step.after.length
      && step.indices.every((i) => i < length);
    if (![...done, ...undone].every(valid)) return false;
    this.done = [...done];
    this.undone = [...undone];
    for (const step of [...done, ...undone]) this.bytes += step.indices.length * BYTES_PER_CHANGED_PIXEL;
    return true;
  }

  redo(buffer) {
    const step = this.undone.pop();
    if (!step) return false;
    for (let k = 0; k < step.indices.length; k++) buffer[step.indices[k]] = step.after[k];
    this.done.push(step);
    return true;
  }
}
