"""The landscape renderer's gradient-domain finish: copies joined without steps in light, class edges kept."""

from __future__ import annotations

import numpy as np

from backend.gradient_domain import screened_poisson, seam_free_gradients


def test_a_pictures_own_gradients_give_it_back():
    rng = np.random.default_rng(0)
    picture = rng.random((24, 30, 3)).astype(np.float32)
    gx, gy = picture[:, 1:] - picture[:, :-1], picture[1:] - picture[:-1]
    assert np.abs(screened_poisson(picture, gx, gy, 0.01) - picture).max() < 1e-4
    # The anchor only sets the light: the same gradients over brighter data give the same picture, brighter.
    assert np.abs(screened_poisson(picture + 0.3, gx, gy, 0.01) - picture - 0.3).max() < 1e-4


def two_copies(labels: np.ndarray):
    """A 12 x 20 target whose left half copies a dark textured piece of one source and whose right half a
    light one: (nnf, copied picture, source)."""
    rng = np.random.default_rng(1)
    source = np.empty((1, 24, 48, 3), np.float32)
    source[0, :, :24] = 0.2
    source[0, :, 24:] = 0.7
    source += 0.05 * rng.random(source.shape).astype(np.float32)
    nnf = np.zeros((12, 20, 3), np.int32)
    ys, xs = np.mgrid[:12, :20]
    nnf[..., 1] = ys + 6
    nnf[..., 2] = np.where(xs < 10, xs + 4, xs + 20)  # left: source columns 4-13, right: 30-39
    copied = source[0][nnf[..., 1], nnf[..., 2]]
    return nnf, copied, source


def joined(labels: np.ndarray):
    """The two copies joined, anchored to what the votes give: each class's mean light, no texture."""
    nnf, copied, source = two_copies(labels)
    smooth_light = np.empty_like(copied)
    for cls in np.unique(labels):
        smooth_light[labels == cls] = copied[labels == cls].mean(0)
    gx = np.empty((12, 19, 3), np.float32)
    gy = np.empty((11, 20, 3), np.float32)
    seam_free_gradients(nnf, np.ones((12, 20), np.bool_), labels, np.ones(2, np.bool_), source, smooth_light, copied,
                        gx, gy)
    return screened_poisson(smooth_light, gx, gy, 0.01), copied


def test_two_copies_of_different_light_join_without_a_step():
    out, copied = joined(np.zeros((12, 20), np.uint8))
    step = np.abs(out[:, 10] - out[:, 9]).mean()
    assert np.abs(copied[:, 10] - copied[:, 9]).mean() > 0.4
    assert step < 0.05, f"the seam still shows a step of {step:.3f}"
    # The texture inside each piece is the source's own (the anchor bends it by a tenth at most).
    texture = lambda picture: picture[:, 1:9] - picture[:, :8]
    assert np.abs(texture(out) - texture(copied)).max() < 0.1 * np.abs(texture(copied)).max()


def test_a_painted_class_boundary_keeps_its_step():
    labels = np.zeros((12, 20), np.uint8)
    labels[:, 10:] = 1  # the seam is also where the painting changes class
    out, copied = joined(labels)
    assert np.allclose(out[:, 10] - out[:, 9], copied[:, 10] - copied[:, 9], atol=0.01)


def test_a_class_that_is_not_seamless_keeps_the_step_the_votes_agree_on():
    # A building's edge may run along a seam: there the votes' step is kept, not each source's surroundings.
    votes_step = np.zeros((12, 20), np.uint8)
    nnf, copied, source = two_copies(votes_step)
    voted = np.where(np.arange(20)[None, :, None] < 10, 0.2, 0.7).astype(np.float32) * np.ones_like(copied)
    gx = np.empty((12, 19, 3), np.float32)
    gy = np.empty((11, 20, 3), np.float32)
    seam_free_gradients(nnf, np.ones((12, 20), np.bool_), votes_step, np.zeros(1, np.bool_), source, voted, copied,
                        gx, gy)
    assert np.allclose(gx[:, 9], 0.5)
    assert np.allclose(gx[:, :9], copied[:, 1:10] - copied[:, :9])  # coherent copies keep their own texture
