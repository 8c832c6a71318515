"""The seeded generator behind random styles: Python (backend/seeded.py) and the page's JavaScript
(frontend/js/seeded.js) give the same numbers for a seed, and both match committed known answers."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from backend.seeded import MAX_SEED, splitmix64, standard_normals, uniforms

SEEDED_JS = Path(__file__).resolve().parent.parent / "frontend" / "js" / "seeded.js"
SEEDS = [0, 1, 42, 2**53 + 1, MAX_SEED]
Z_DIMS = [1, 5, 8, 256]
# The same known answers are in tests/frontend/seeded.test.mjs, so neither side can drift on its own.
SEED_0_OUTPUTS = [0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4, 0x06C45D188009454F]  # SplitMix64's published vector
SEED_42_NORMALS = [0.8822489062222688, 1.388473285287707, -0.4508498757188601, 0.6707164409024291,
                   0.1883526341159315]

# Seeds travel as decimal strings: JSON numbers would lose the bits of a seed above 2**53.
JS_DRAWS = """
import { standardNormals, uniforms } from "{module}";
const { seeds, zDims } = JSON.parse(process.argv[1]);
const draws = seeds.map((seed) => ({
  uniforms: Array.from(uniforms(BigInt(seed), 7)),
  normals: zDims.map((n) => Array.from(standardNormals(BigInt(seed), n))),
}));
process.stdout.write(JSON.stringify(draws));
"""


def test_known_answers():
    stream = splitmix64(0)
    assert [next(stream) for _ in SEED_0_OUTPUTS] == SEED_0_OUTPUTS
    assert uniforms(0, 3).tolist() == [(z >> 11) / 2**53 for z in SEED_0_OUTPUTS]
    np.testing.assert_allclose(standard_normals(42, 5), SEED_42_NORMALS, rtol=0, atol=1e-12)


def test_javascript_draws_the_same_numbers():
    node = shutil.which("node")
    assert node is not None, "node is needed (make test installs it)"
    script = JS_DRAWS.replace("{module}", SEEDED_JS.as_uri())
    arguments = json.dumps({"seeds": [str(seed) for seed in SEEDS], "zDims": Z_DIMS})
    result = subprocess.run([node, "--input-type=module", "-e", script, arguments],
                            capture_output=True, text=True, timeout=60, check=True)
    for seed, drawn in zip(SEEDS, json.loads(result.stdout), strict=True):
        # Uniforms are exact on both sides; the normals go through each language's log, cos and sin.
        assert drawn["uniforms"] == uniforms(seed, 7).tolist(), seed
        for n, normals in zip(Z_DIMS, drawn["normals"], strict=True):
            np.testing.assert_allclose(normals, standard_normals(seed, n), rtol=0, atol=1e-12,
                                       err_msg=f"seed {seed}, n {n}")


def test_a_shorter_draw_is_a_prefix_of_a_longer_one():
    long = standard_normals(7, 9)
    assert np.array_equal(standard_normals(7, 4), long[:4])
    assert np.array_equal(standard_normals(7, 3), long[:3])
    assert standard_normals(7, 0).shape == (0,)


def test_the_numbers_look_uniform_and_standard():
    drawn = uniforms(5, 20000)
    assert drawn.min() >= 0 and drawn.max() < 1 and abs(drawn.mean() - 0.5) < 0.01
    normals = standard_normals(123, 20000)
    assert abs(normals.mean()) < 0.03 and abs(normals.var() - 1) < 0.05


@pytest.mark.parametrize("seed", [-1, MAX_SEED + 1, 1.5, True, "3"])
def test_bad_seeds_are_refused_at_the_call(seed):
    with pytest.raises(ValueError, match="seed"):
        uniforms(seed, 0)
    with pytest.raises(ValueError, match="seed"):
        splitmix64(seed)


@pytest.mark.parametrize("n", [-1, 2.5])
def test_bad_counts_are_refused(n):
    with pytest.raises(ValueError, match="n must be"):
        standard_normals(0, n)
