"""Lecture 13's gradient-stamp widget: its numbers are autograd's, and its controls redraw it."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from utils.viz_backprop import (
    EXAMPLE_G,
    EXAMPLE_W,
    EXAMPLE_X,
    GradientStampExplorer,
    cell_contribution,
    conv_gradients,
    running_sum,
)


def test_one_cell_stamps_the_kernel_and_copies_the_window():
    x, w, g = EXAMPLE_X, EXAMPLE_W, EXAMPLE_G
    dx, dw = cell_contribution(x, w, g, 1, 2)
    expected_dx = np.zeros_like(x)
    expected_dx[1:4, 2:5] = g[1, 2] * w          # worked by hand: the kernel, unflipped, scaled
    np.testing.assert_array_equal(dx, expected_dx)
    np.testing.assert_array_equal(dw, g[1, 2] * x[1:4, 2:5])


def test_contributions_add_up_to_the_full_autograd_gradient():
    rng = np.random.default_rng(3)
    x, w, g = rng.standard_normal((7, 6)), rng.standard_normal((3, 3)), rng.standard_normal((5, 4))
    total_dx, total_dw = np.zeros_like(x), np.zeros_like(w)
    for i in range(5):
        for j in range(4):
            dx, dw = cell_contribution(x, w, g, i, j)
            total_dx += dx
            total_dw += dw
    xt = torch.tensor(x, requires_grad=True)
    wt = torch.tensor(w, requires_grad=True)
    (F.conv2d(xt[None, None], wt[None, None])[0, 0] * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(total_dx, xt.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(total_dw, wt.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(running_sum(x, w, g, 4, 3)[0], xt.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(conv_gradients(x, w, g)[1], wt.grad.numpy(), atol=1e-12)


def test_controls_redraw_and_bad_shapes_are_reported():
    explorer = GradientStampExplorer()
    before = explorer.view.image.value
    explorer.row.value, explorer.col.value = 2, 3
    assert explorer.view.image.value != before
    np.testing.assert_array_equal(explorer.dw, EXAMPLE_G[2, 3] * EXAMPLE_X[2:5, 3:6])
    explorer.mode.value = "sum up to this cell"
    partial = explorer.dx.copy()
    explorer.row.value = 3
    assert "full gradients" in explorer.message.value and not np.array_equal(partial, explorer.dx)
    bad = GradientStampExplorer(g=np.ones((3, 3)))
    assert "must have the output's shape (4, 4)" in bad.message.value
