"""Lecture 15's helpers: transforms (against torch.rot90, np.roll, hand-made affine maps) and the
2D equivariance widget."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import utils.transforms as tr
import utils.viz_invariance as vi

RNG = np.random.default_rng(15)


def test_rotate_by_90_is_rot90_and_by_0_is_identity():
    x = torch.randn(3, 2, 10, 10)
    assert torch.allclose(tr.rotate(x, 90.0), torch.rot90(x, 1, dims=(2, 3)), atol=1e-5)
    assert torch.allclose(tr.rotate(x, 0.0), x, atol=1e-6)
    per_image = tr.rotate(x, torch.tensor([0.0, 90.0, 180.0]))
    assert torch.allclose(per_image[2], torch.rot90(x[2], 2, dims=(1, 2)), atol=1e-5)


def test_scale_by_half_is_a_centred_2x_average_with_fill():
    x = torch.randn(1, 1, 8, 8)
    out = tr.scale(x, 0.5, fill=-1.0)
    # bilinear at the centre of each 2x2 block = its mean; the outer ring comes from outside
    assert torch.allclose(out[0, 0, 2:6, 2:6], F.avg_pool2d(x, 2)[0, 0], atol=1e-5)
    assert torch.allclose(out[0, 0, 0], torch.full((8,), -1.0))


def test_random_rotation_changes_images_differently_and_is_seeded():
    x = torch.randn(4, 1, 12, 12)
    a, b = tr.random_rotation(30, seed=3)(x), tr.random_rotation(30, seed=3)(x)
    assert torch.equal(a, b)
    assert not torch.allclose(a, x)


def test_background_is_a_standardised_zero():
    assert tr.background() == pytest.approx(-0.2860 / 0.3530)


def test_variations_keep_shape_and_change_pixels():
    image = vi.photo_square(32)
    for change in (tr.viewpoint, tr.deform, tr.occlude, tr.illuminate, tr.clutter):
        out = change(image)
        assert out.shape == image.shape
        assert np.abs(out - image).mean() > 0.01, change.__name__
    assert tr.correlation(image, image) == pytest.approx(1.0)


def test_filter_map_is_circular_conv2d():
    image = RNG.random((9, 9)).astype(np.float32)
    kernel = RNG.standard_normal((3, 3)).astype(np.float32)
    padded = np.pad(image, 1, mode="wrap")
    expected = np.array([[np.sum(padded[i:i + 3, j:j + 3] * kernel) for j in range(9)] for i in range(9)])
    assert np.allclose(vi.filter_map(image, kernel), expected, atol=1e-5)


def test_equivariance_gap_zero_for_shifts_nonzero_for_edge_rotation_and_scale():
    image = vi.photo_square(48)
    sobel = vi.KERNELS_2D["Sobel x (vertical edges)"]
    laplace = vi.KERNELS_2D["Laplacian (all directions)"]
    assert vi.equivariance_gap(image, sobel, "shift", 5)[0] < 1e-6
    assert vi.equivariance_gap(image, sobel, "rotate", 90)[0] > 0.5
    assert vi.equivariance_gap(image, laplace, "rotate", 90)[0] < 1e-6
    assert vi.equivariance_gap(image, sobel, "scale", 0.5)[0] > 0.3
    assert np.allclose(vi.transform_image(image, "shift", 3), np.roll(image, 3, axis=1))
    with pytest.raises(ValueError):
        vi.transform_image(image, "flip", 1)


def test_transform_widget_switches_ranges_and_redraws():
    explorer = vi.TransformEquivarianceExplorer()
    assert "NOT equivariant" in explorer.message.value
    before = explorer.view.image.value
    explorer.transform.value = "shift"
    assert explorer.amount.min == -24 and explorer.amount.value == 8
    assert "(equivariant)" in explorer.message.value
    assert explorer.view.image.value != before
    explorer.transform.value = "scale"
    assert explorer.amount.value == 0.5 and "NOT equivariant" in explorer.message.value
    explorer.kernel.value = "blur 3x3"
    assert explorer.view.image.value != before


def test_the_1d_shift_widget_still_works():
    explorer = vi.ShiftEquivarianceExplorer()
    explorer.amount.value = 7
    assert "equivariance, error 0.0e+00" in explorer.message.value
