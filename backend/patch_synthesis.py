"""Label-guided patch synthesis ("texture by numbers"): the landscape renderer's compiled kernels.

A target label map is painted with pixels of a few exemplar photos. The nearest-neighbour field (NNF)
maps each target pixel to a source pixel (exemplar, y, x) whose surroundings look alike: the same label
at the centre (a hard rule, so no texture crosses into another class), alike labels around it (painted
boundaries land on the exemplar's own boundaries), alike blurred label context and height in the frame,
alike colours of the current estimate, and a penalty for source pixels many targets already use.

The NNF is searched by PatchMatch (Barnes et al. 2009): propagation from scan-order neighbours and a
random search that halves its radius, plus one draw from anywhere in the class. Colours are then
re-estimated by weighted voting of overlapping patches (Wexler et al. 2007), counting only source pixels
of the target pixel's own class; the last step copies each pixel's matched source pixel instead, so the
finished picture is made of real pixels, never of averages.

Everything here is numba, called once per pass from the thin Python in `backend/landscape.py`. Rows are
split into bands, one per thread; each band propagates within itself.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

INVALID = 255  # a source position that may not be a patch centre (wrong class, border, padding)


@njit(cache=True, inline="always")
def _patch_cost(ty, tx, n, sy, sx, best, radius, tgt_rgb, tgt_labels, src_rgb, src_labels, label_weight,
                colour_weight):
    """Sum over the patch of `colour_weight` x squared colour differences plus `label_weight` per pixel
    whose labels differ;
    stops early once over `best`. The source position is a valid centre, so the patch stays inside it."""
    height, width = tgt_labels.shape
    cost = 0.0
    for dy in range(-radius, radius + 1):
        y = ty + dy
        if y < 0 or y >= height:
            continue
        for dx in range(-radius, radius + 1):
            x = tx + dx
            if x < 0 or x >= width:
                continue
            r = tgt_rgb[y, x, 0] - src_rgb[n, sy + dy, sx + dx, 0]
            g = tgt_rgb[y, x, 1] - src_rgb[n, sy + dy, sx + dx, 1]
            b = tgt_rgb[y, x, 2] - src_rgb[n, sy + dy, sx + dx, 2]
            cost += colour_weight * (r * r + g * g + b * b)
            if tgt_labels[y, x] != src_labels[n, sy + dy, sx + dx]:
                cost += label_weight
        if cost > best:
            return cost
    return cost


@njit(cache=True, inline="always")
def _context_cost(ty, tx, n, sy, sx, tgt_guide, src_guide, height_scale, src_heights, guide_weight,
                  height_weight, occurrences, occurrence_weight, nnf, active, y_start, y_stop,
                  coherence_weight):
    """What the centre pixel adds: blurred label context, height in the frame, over-use of the source, and
    each of its four neighbours (in this band) whose match is not this one shifted: coherent copies of
    large pieces look like photos, a mosaic of single pixels looks painted."""
    cost = 0.0
    for channel in range(tgt_guide.shape[2]):
        d = tgt_guide[ty, tx, channel] - src_guide[n, sy, sx, channel]
        cost += d * d
    h = ty * height_scale - sy / src_heights[n]
    incoherent = 0
    width = active.shape[1]
    for k in range(4):
        dy = -1 if k == 0 else 1 if k == 1 else 0
        dx = -1 if k == 2 else 1 if k == 3 else 0
        y, x = ty + dy, tx + dx
        if y < y_start or y >= y_stop or x < 0 or x >= width or not active[y, x]:
            continue
        if nnf[y, x, 0] != n or nnf[y, x, 1] != sy + dy or nnf[y, x, 2] != sx + dx:
            incoherent += 1
    return (guide_weight * cost + height_weight * h * h + occurrence_weight * occurrences[n, sy, sx]
            + coherence_weight * incoherent)


@njit(cache=True, inline="always")
def _candidate_cost(y, x, n, sy, sx, best, scene):
    """A candidate match's whole cost; the centre's terms are only added when the patch alone beats `best`.
    `scene` holds what stays the same across one band's search (see `patchmatch`)."""
    (radius, tgt_rgb, tgt_labels, src_rgb, src_labels, colour_weight, label_weight, tgt_guide, src_guide,
     height_scale, src_heights, guide_weight, height_weight, occurrences, occurrence_weight, nnf, active,
     y_start, y_stop, coherence_weight) = scene
    c = _patch_cost(y, x, n, sy, sx, best, radius, tgt_rgb, tgt_labels, src_rgb, src_labels, label_weight,
                    colour_weight)
    if c >= best:
        return c
    return c + _context_cost(y, x, n, sy, sx, tgt_guide, src_guide, height_scale, src_heights, guide_weight,
                             height_weight, occurrences, occurrence_weight, nnf, active, y_start, y_stop,
                             coherence_weight)


@njit(cache=True, parallel=True)
def patchmatch(tgt_rgb, tgt_labels, tgt_guide, active, src_rgb, src_labels, src_centres, src_guide, src_heights,
               class_positions, class_starts, occurrences, nnf, costs, radius, colour_weight, label_weight, guide_weight,
               height_weight, occurrence_weight, coherence_weight, max_search, passes, seed, bands):
    """Improve `nnf` [H, W, 3] (exemplar, y, x) and `costs` [H, W] in place for every `active` pixel.

    `src_centres` [N, Hs, Ws]: the class a source position may be the centre for, INVALID elsewhere.
    `class_positions`: flat source positions (n * Hs * Ws + y * Ws + x) of valid centres, grouped by class
    from `class_starts[c]` to `class_starts[c + 1]`. Costs are recomputed first: the estimate changed."""
    height, width = tgt_labels.shape
    src_h, src_w = src_labels.shape[1], src_labels.shape[2]
    height_scale = 1.0 / height
    rows_per_band = (height + bands - 1) // bands
    for band in prange(bands):
        np.random.seed(seed + band * 7919)
        y_start = band * rows_per_band
        y_stop = min(height, y_start + rows_per_band)
        scene = (radius, tgt_rgb, tgt_labels, src_rgb, src_labels, colour_weight, label_weight, tgt_guide, src_guide,
                 height_scale, src_heights, guide_weight, height_weight, occurrences, occurrence_weight, nnf, active,
                 y_start, y_stop, coherence_weight)
        for y in range(y_start, y_stop):
            for x in range(width):
                if active[y, x]:
                    costs[y, x] = _candidate_cost(y, x, nnf[y, x, 0], nnf[y, x, 1], nnf[y, x, 2], np.inf, scene)
        for iteration in range(passes):
            step = 1 if iteration % 2 == 0 else -1
            for j in range(y_stop - y_start):
                y = y_start + j if step == 1 else y_stop - 1 - j
                for i in range(width):
                    x = i if step == 1 else width - 1 - i
                    if not active[y, x]:
                        continue
                    cls = tgt_labels[y, x]
                    best_n, best_y, best_x = nnf[y, x, 0], nnf[y, x, 1], nnf[y, x, 2]
                    best = costs[y, x]
                    # Propagation: the neighbour's match shifted by one, from the side already visited.
                    for k in range(2):
                        py, px = (y - step, x) if k == 0 else (y, x - step)
                        if py < y_start or py >= y_stop or px < 0 or px >= width or not active[py, px]:
                            continue
                        n = nnf[py, px, 0]
                        sy = nnf[py, px, 1] + (y - py)
                        sx = nnf[py, px, 2] + (x - px)
                        if sy < 0 or sy >= src_h or sx < 0 or sx >= src_w or src_centres[n, sy, sx] != cls:
                            continue
                        if n == best_n and sy == best_y and sx == best_x:
                            continue
                        c = _candidate_cost(y, x, n, sy, sx, best, scene)
                        if c < best:
                            best, best_n, best_y, best_x = c, n, sy, sx
                    # Random search around the best match, radius halving down to one pixel.
                    search = max_search
                    while search >= 1:
                        sy = best_y + np.random.randint(-search, search + 1)
                        sx = best_x + np.random.randint(-search, search + 1)
                        search //= 2
                        if sy < 0 or sy >= src_h or sx < 0 or sx >= src_w or src_centres[best_n, sy, sx] != cls:
                            continue
                        c = _candidate_cost(y, x, best_n, sy, sx, best, scene)
                        if c < best:
                            best, best_y, best_x = c, sy, sx
                    # One draw from anywhere in the class, possibly in another exemplar.
                    first, last = class_starts[cls], class_starts[cls + 1]
                    if last > first:
                        flat = class_positions[np.random.randint(first, last)]
                        n = flat // (src_h * src_w)
                        sy = (flat // src_w) % src_h
                        sx = flat % src_w
                        c = _candidate_cost(y, x, n, sy, sx, best, scene)
                        if c < best:
                            best, best_n, best_y, best_x = c, n, sy, sx
                    nnf[y, x, 0], nnf[y, x, 1], nnf[y, x, 2] = best_n, best_y, best_x
                    costs[y, x] = best


@njit(cache=True, parallel=True)
def vote(nnf, weights, active, tgt_labels, src_rgb, src_labels, radius, out_rgb):
    """Each active pixel's colour: the weighted mean of what the patches covering it propose, counting only
    source pixels of its own class; `weights` [H, W] is each patch's weight (exp(-cost / sharpness)).
    Inactive pixels keep theirs."""
    height, width = tgt_labels.shape
    for y in prange(height):
        for x in range(width):
            if not active[y, x]:
                continue
            cls = tgt_labels[y, x]
            r = g = b = total = 0.0
            for dy in range(-radius, radius + 1):
                py = y - dy
                if py < 0 or py >= height:
                    continue
                for dx in range(-radius, radius + 1):
                    px = x - dx
                    if px < 0 or px >= width or not active[py, px]:
                        continue
                    n, sy, sx = nnf[py, px, 0], nnf[py, px, 1] + dy, nnf[py, px, 2] + dx
                    if src_labels[n, sy, sx] != cls:
                        continue
                    weight = weights[py, px]
                    r += weight * src_rgb[n, sy, sx, 0]
                    g += weight * src_rgb[n, sy, sx, 1]
                    b += weight * src_rgb[n, sy, sx, 2]
                    total += weight
            if total > 0:
                out_rgb[y, x, 0], out_rgb[y, x, 1], out_rgb[y, x, 2] = r / total, g / total, b / total
            else:
                n, sy, sx = nnf[y, x, 0], nnf[y, x, 1], nnf[y, x, 2]
                out_rgb[y, x, 0], out_rgb[y, x, 1], out_rgb[y, x, 2] = (src_rgb[n, sy, sx, 0], src_rgb[n, sy, sx, 1],
                                                                        src_rgb[n, sy, sx, 2])


@njit(cache=True, parallel=True)
def copy_matches(nnf, active, src_rgb, out_rgb):
    """Each active pixel takes its matched source pixel's colour: real pixels, no averaging."""
    height, width = active.shape
    for y in prange(height):
        for x in range(width):
            if active[y, x]:
                n, sy, sx = nnf[y, x, 0], nnf[y, x, 1], nnf[y, x, 2]
                out_rgb[y, x, 0], out_rgb[y, x, 1], out_rgb[y, x, 2] = (src_rgb[n, sy, sx, 0], src_rgb[n, sy, sx, 1],
                                                                        src_rgb[n, sy, sx, 2])


@njit(cache=True)
def count_occurrences(nnf, active, occurrences, radius):
    """How many active target patches cover each source pixel, into `occurrences` [N, Hs, Ws] (zeroed)."""
    occurrences[:] = 0.0
    height, width = active.shape
    for y in range(height):
        for x in range(width):
            if active[y, x]:
                n, sy, sx = nnf[y, x, 0], nnf[y, x, 1], nnf[y, x, 2]
                for dy in range(-radius, radius + 1):
                    for dx in range(-radius, radius + 1):
                        occurrences[n, sy + dy, sx + dx] += 1.0


@njit(cache=True)
def upsample_nnf(coarse, tgt_labels, src_centres, scale_y, scale_x, fine):
    """The coarse field at twice the size: each fine pixel keeps its parent's match scaled up, moved by its
    offset inside the parent. A match that lands on a position that is not a valid centre of the pixel's
    class gets the exemplar -1, for `fill_invalid` to replace."""
    height, width = tgt_labels.shape
    coarse_h, coarse_w = coarse.shape[0], coarse.shape[1]
    src_h, src_w = src_centres.shape[1], src_centres.shape[2]
    for y in range(height):
        for x in range(width):
            cy = min(coarse_h - 1, y // 2)
            cx = min(coarse_w - 1, x // 2)
            n = coarse[cy, cx, 0]
            sy = int(coarse[cy, cx, 1] * scale_y) + (y - 2 * cy)
            sx = int(coarse[cy, cx, 2] * scale_x) + (x - 2 * cx)
            if n >= 0 and 0 <= sy < src_h and 0 <= sx < src_w and src_centres[n, sy, sx] == tgt_labels[y, x]:
                fine[y, x, 0], fine[y, x, 1], fine[y, x, 2] = n, sy, sx
            else:
                fine[y, x, 0] = -1


@njit(cache=True)
def fill_invalid(nnf, active, tgt_labels, src_shape, class_home, nearest):
    """Give every active pixel without a valid match one: in its class's home exemplar (`class_home[c]`),
    the valid centre of the class nearest to the same place in the frame (`nearest` [N, C, Hs, Ws]: flat
    positions, -1 where the exemplar has no centre of the class). Matches made this way copy the exemplar
    as a whole, stretched to the painting, which is where the search starts. `src_shape` [N, 2]: each
    exemplar's own height and width. A class with no home keeps exemplar -1."""
    height, width = tgt_labels.shape
    src_w = nearest.shape[3]
    for y in range(height):
        for x in range(width):
            if not active[y, x] or nnf[y, x, 0] >= 0:
                continue
            cls = tgt_labels[y, x]
            n = class_home[cls]
            if n < 0:
                continue
            sy = min(src_shape[n, 0] - 1, (y * src_shape[n, 0]) // height)
            sx = min(src_shape[n, 1] - 1, (x * src_shape[n, 1]) // width)
            flat = nearest[n, cls, sy, sx]
            if flat >= 0:
                nnf[y, x, 0], nnf[y, x, 1], nnf[y, x, 2] = n, flat // src_w, flat % src_w


def compile_kernels() -> None:
    """Run every kernel once on a tiny problem, so numba compiles them (or loads its cache) now
    (`landscape.compile_kernels`)."""
    labels = np.zeros((8, 8), np.uint8)
    active = np.ones((8, 8), np.bool_)
    rgb = np.zeros((8, 8, 3), np.float32)
    src_rgb = np.zeros((1, 8, 8, 3), np.float32)
    src_labels = np.zeros((1, 8, 8), np.uint8)
    centres = np.full((1, 8, 8), INVALID, np.uint8)
    centres[0, 2:6, 2:6] = 0
    nearest = np.full((1, 1, 8, 8), 4 * 8 + 4, np.int64)
    nnf = np.full((8, 8, 3), -1, np.int32)
    fill_invalid(nnf, active, labels, np.array([[8, 8]], np.int64), np.zeros(1, np.int64), nearest)
    positions = np.flatnonzero(centres.ravel() == 0).astype(np.int64)
    patchmatch(rgb, labels, np.zeros((8, 8, 1), np.float32), active, src_rgb, src_labels, centres,
               np.zeros((1, 8, 8, 1), np.float32), np.array([8.0]), positions,
               np.array([0, len(positions)], np.int64), np.zeros((1, 8, 8)), nnf, np.zeros((8, 8)), 2, 1.0, 0.5,
               1.0, 1.0, 0.0, 0.1, 4, 1, 0, 1)
    vote(nnf, np.ones((8, 8)), active, labels, src_rgb, src_labels, 2, rgb)
    copy_matches(nnf, active, src_rgb, rgb)
    count_occurrences(nnf, active, np.zeros((1, 8, 8)), 2)
    fine = np.zeros((16, 16, 3), np.int32)
    upsample_nnf(nnf, np.zeros((16, 16), np.uint8), np.full((1, 16, 16), INVALID, np.uint8), 2.0, 2.0, fine)
