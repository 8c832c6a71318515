"""The seeded random numbers behind a random style, identical here and in the page (frontend/js/seeded.js).

A seed (an integer 0 .. 2**64 - 1) drives SplitMix64 (Steele, Lea and Flood, "Fast splittable pseudorandom
number generators", OOPSLA 2014): the state advances by 0x9E3779B97F4A7C15 and each output is the state
mixed by two xor-shift-multiply rounds, all modulo 2**64. An output z becomes the uniform (z >> 11) * 2**-53
in [0, 1). Standard normals come from the uniforms in pairs by Box-Muller: r = sqrt(-2 ln(1 - u1)),
n0 = r cos(2 pi u2), n1 = r sin(2 pi u2). The integers and uniforms are exact in both languages; log, cos
and sin may differ in the last bit between math libraries, so the normals agree to about 1e-15.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

MAX_SEED = 2**64 - 1
_MASK = MAX_SEED
_GOLDEN_GAMMA = 0x9E3779B97F4A7C15
_MIX_1 = 0xBF58476D1CE4E5B9
_MIX_2 = 0x94D049BB133111EB
_UNIT = 2.0**-53


def _checked_seed(seed: int) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise ValueError(f"seed must be an integer between 0 and {MAX_SEED}, got {seed!r}")
    return seed


def _checked_count(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"n must be a non-negative integer, got {n!r}")
    return n


def splitmix64(seed: int) -> Iterator[int]:
    """The endless SplitMix64 stream of 64-bit outputs for a seed (checked now, not at the first draw)."""
    return _outputs(_checked_seed(seed))


def _outputs(state: int) -> Iterator[int]:
    while True:
        state = (state + _GOLDEN_GAMMA) & _MASK
        z = state
        z = ((z ^ (z >> 30)) * _MIX_1) & _MASK
        z = ((z ^ (z >> 27)) * _MIX_2) & _MASK
        yield z ^ (z >> 31)


def uniforms(seed: int, n: int) -> np.ndarray:
    """The first n uniforms in [0, 1) of a seed, float64 [n]."""
    stream = splitmix64(seed)
    return np.array([(next(stream) >> 11) * _UNIT for _ in range(_checked_count(n))], np.float64)


def standard_normals(seed: int, n: int) -> np.ndarray:
    """The first n standard normals of a seed, float64 [n] (Box-Muller on pairs of its uniforms)."""
    pairs = uniforms(seed, 2 * ((_checked_count(n) + 1) // 2)).reshape(-1, 2)
    normals = []
    for u1, u2 in pairs:
        # 1 - u1 lies in (0, 1], so the logarithm is finite.
        radius = math.sqrt(-2.0 * math.log(1.0 - u1))
        angle = 2.0 * math.pi * u2
        normals += [radius * math.cos(angle), radius * math.sin(angle)]
    return np.array(normals[:n], np.float64)
