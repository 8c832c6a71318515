"""The landscape renderer's finish: copied pieces joined in the gradient domain (Pérez et al. 2003, as
Photomontage and Image Melding use it), so no step in light shows where two copies meet.

Copying matched pixels keeps real texture, but where neighbouring pixels come from different places of the
exemplars their light differs: a road or a sky reads as tiles. Here the picture is solved again from its
gradients. Inside a class, the gradient between two neighbours is the one their matched source pixels have
beside them (the same as the copy's where the copy is coherent; across a seam, what each source would have
had there); across class boundaries and at pasted objects it is the picture's own, so painted boundaries stay
crisp. A weak pull toward the voted estimate (smooth tones, no seams) keeps the light in place over
distances beyond a few pixels. The least-squares solve is a screened Poisson equation, diagonal under the
discrete cosine transform (Neumann boundaries), so it costs a few FFTs.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange
from scipy import fft


@njit(cache=True, parallel=True)
def seam_free_gradients(nnf, synthesised, labels, seamless, src_rgb, voted, rgb, gx, gy):
    """Into `gx` [H, W-1, 3] and `gy` [H-1, W, 3]: the wanted difference to the right and downward
    neighbour. `synthesised` [H, W]: pixels whose `nnf` match (exemplar, y, x) is a valid patch centre, so
    the source pixels beside it exist. Across a seam inside a class, a `seamless` class (sky, water...) takes
    what each side's source has beside it, so a step in light between the copies vanishes; any other class
    (a building's edges may run along a seam) takes the step of `voted`, the patches' consensus."""
    height, width = labels.shape
    for y in prange(height):
        for x in range(width):
            for axis in range(2):  # 0: the right neighbour, 1: the one below
                dy, dx = axis, 1 - axis
                qy, qx = y + dy, x + dx
                if qy >= height or qx >= width:
                    continue
                seam = (synthesised[y, x] and synthesised[qy, qx] and labels[y, x] == labels[qy, qx]
                        and not (nnf[qy, qx, 0] == nnf[y, x, 0] and nnf[qy, qx, 1] == nnf[y, x, 1] + dy
                                 and nnf[qy, qx, 2] == nnf[y, x, 2] + dx))
                smooth = seam and seamless[labels[y, x]]
                for c in range(3):
                    if smooth:
                        n, sy, sx = nnf[y, x, 0], nnf[y, x, 1], nnf[y, x, 2]
                        from_p = src_rgb[n, sy + dy, sx + dx, c] - src_rgb[n, sy, sx, c]
                        n, sy, sx = nnf[qy, qx, 0], nnf[qy, qx, 1], nnf[qy, qx, 2]
                        from_q = src_rgb[n, sy, sx, c] - src_rgb[n, sy - dy, sx - dx, c]
                        wanted = 0.5 * (from_p + from_q)
                    elif seam:
                        wanted = voted[qy, qx, c] - voted[y, x, c]
                    else:
                        wanted = rgb[qy, qx, c] - rgb[y, x, c]
                    if axis == 0:
                        gx[y, x, c] = wanted
                    else:
                        gy[y, x, c] = wanted


def screened_poisson(data: np.ndarray, gx: np.ndarray, gy: np.ndarray, anchor: float) -> np.ndarray:
    """argmin_O  sum over neighbour pairs (O_q - O_p - g_pq)^2 + anchor * sum_p (O_p - data_p)^2, per channel.
    `data` [H, W, 3]; `gx`, `gy` as `seam_free_gradients` fills them. Solved exactly by a DCT-II."""
    height, width = data.shape[:2]
    # Each pixel's sum over its neighbours q of g_pq (the wanted O_q - O_p), Neumann: missing pairs are zero.
    wanted_out = np.zeros_like(data)
    wanted_out[:, :-1] += gx
    wanted_out[:, 1:] -= gx
    wanted_out[:-1] += gy
    wanted_out[1:] -= gy
    right_hand = anchor * data - wanted_out
    eigen = ((2 - 2 * np.cos(np.pi * np.arange(height) / height))[:, None]
             + (2 - 2 * np.cos(np.pi * np.arange(width) / width))[None, :])
    spectrum = fft.dctn(right_hand, type=2, axes=(0, 1), norm="ortho", workers=1)
    spectrum /= (anchor + eigen)[..., None]
    return fft.idctn(spectrum, type=2, axes=(0, 1), norm="ortho", workers=1).astype(np.float32)


def compile_kernels() -> None:
    """Compile (or load from numba's cache) the kernel now; see `landscape.compile_kernels`."""
    nnf = np.zeros((4, 4, 3), np.int32)
    nnf[..., 1:] = 2
    picture = np.zeros((4, 4, 3), np.float32)
    seam_free_gradients(nnf, np.ones((4, 4), np.bool_), np.zeros((4, 4), np.uint8), np.ones(1, np.bool_),
                        np.zeros((1, 6, 6, 3), np.float32), picture, picture, np.zeros((4, 3, 3), np.float32),
                        np.zeros((3, 4, 3), np.float32))
