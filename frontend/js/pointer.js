// Pointer input on the canvas: mouse, pen and touch through one code path (Pointer Events).
// Reports positions in canvas pixels; coalesced events keep fast pen strokes continuous.

export function attachPointer(canvas, { onStart, onMove, onEnd, onHover }) {
  let activeId = null;

  const toPixel = (event) => {
    const rect = canvas.getBoundingClientRect();
    return {
      x: ((event.clientX - rect.left) / rect.width) * canvas.width,
      y: ((event.clientY - rect.top) / rect.height) * canvas.height,
    };
  };

  canvas.addEventListener("pointerdown", (event) => {
    // A second finger or another button must not start a second stroke on top of the first.
    if (activeId !== null || !event.isPrimary || event.button > 0) return;
    event.preventDefault();
    activeId = event.pointerId;
    canvas.setPointerCapture?.(event.pointerId);
    onStart(toPixel(event), event);
  });

  canvas.addEventListener("pointermove", (event) => {
    onHover?.(toPixel(event), event);
    if (event.pointerId !== activeId) return;
    const samples = event.getCoalescedEvents?.() ?? [];
    for (const sample of samples.length ? samples : [event]) onMove(toPixel(sample), sample);
  });

  const finish = (event) => {
    if (event.pointerId !== activeId) return;
    activeId = null;
    canvas.releasePointerCapture?.(event.pointerId);
    onEnd(event);
  };
  canvas.addEventListener("pointerup", finish);
  canvas.addEventListener("pointercancel", finish);
  canvas.addEventListener("pointerleave", (event) => onHover?.(null, event));
}
