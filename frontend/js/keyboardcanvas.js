// Keyboard input on the canvas, so painting needs no mouse: a keyboard cursor the arrow keys move, and the
// same onStart / onMove / onEnd a pointer drives. Holding Space is the pen down (arrows then draw a line),
// Enter applies the tool once (a dab, a fill, a pick). Pure logic in `KeyboardCursor`; `attachKeyboard`
// wires it to a canvas element.

const MOVES = {
  ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1],
};

/** Where the keyboard cursor is, in canvas pixels, and whether the pen is down. No DOM. */
export class KeyboardCursor {
  constructor(size = 1) {
    this.size = size;
    this.x = Math.floor(size / 2);
    this.y = Math.floor(size / 2);
    this.penDown = false;
  }

  /** A new canvas size keeps the cursor at the same relative place. */
  resize(size) {
    if (size === this.size) return;
    this.x = Math.min(size - 1, Math.floor((this.x / this.size) * size));
    this.y = Math.min(size - 1, Math.floor((this.y / this.size) * size));
    this.size = size;
  }

  /** Move by (dx, dy) pixels, staying on the canvas; true if the cursor moved. */
  move(dx, dy) {
    const x = Math.min(this.size - 1, Math.max(0, this.x + dx));
    const y = Math.min(this.size - 1, Math.max(0, this.y + dy));
    const moved = x !== this.x || y !== this.y;
    this.x = x;
    this.y = y;
    return moved;
  }

  /** The pixel centre, the point a pointer over this pixel would report. */
  get point() {
    return { x: this.x + 0.5, y: this.y + 0.5 };
  }
}

/**
 * Make `canvas` focusable and paintable from the keyboard.
 * handlers: onStart(point), onMove(point), onEnd(), as for the pointer; step() pixels per arrow press
 * (Shift: one pixel); onCursor(point | null) shows or hides the cursor (null when the canvas loses focus).
 */
export function attachKeyboard(canvas, { onStart, onMove, onEnd, step = () => 8, onCursor = () => {} }) {
  const cursor = new KeyboardCursor(canvas.width);
  const show = () => onCursor(cursor.point);
  const lift = () => {
    if (!cursor.penDown) return;
    cursor.penDown = false;
    onEnd();
  };

  canvas.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    cursor.resize(canvas.width);
    const move = MOVES[event.key];
    if (move) {
      event.preventDefault();
      const distance = event.shiftKey ? 1 : Math.max(1, Math.round(step()));
      if (cursor.move(move[0] * distance, move[1] * distance) && cursor.penDown) onMove(cursor.point);
      show();
    } else if (event.key === " ") {
      event.preventDefault();
      if (!event.repeat && !cursor.penDown) {
        cursor.penDown = true;
        onStart(cursor.point);
        show();
      }
    } else if (event.key === "Enter") {
      event.preventDefault();
      if (!cursor.penDown) {
        onStart(cursor.point);
        onEnd();
        show();
      }
    } else if (event.key === "Escape" && cursor.penDown) {
      lift();
      show();
    }
  });
  canvas.addEventListener("keyup", (event) => {
    if (event.key === " " && cursor.penDown) {
      lift();
      show();
    }
  });
  canvas.addEventListener("focus", () => {
    cursor.resize(canvas.width);
    show();
  });
  canvas.addEventListener("blur", () => {
    lift();
    onCursor(null);
  });
  return cursor;
}
