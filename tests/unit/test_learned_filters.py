"""Lecture 16's helpers: kernel fitting by gradient descent, input windows by autograd and the
top-activating patches (checked by feeding each patch back through the layers)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import utils.filters as fl
import utils.viz_filters as vf


def test_fit_kernel_recovers_sobel_and_plain_descent_is_slower():
    image = fl.training_image(32)
    target = F.conv2d(torch.tensor(image)[None, None], torch.tensor(fl.SOBEL_X)[None, None])[0, 0]
    kernels, losses = fl.fit_kernel(image, target.numpy(), steps=200)
    assert kernels.shape == (201, 3, 3) and losses.shape == (201,)
    assert np.array_equal(kernels[0], np.zeros((3, 3)))
    assert np.abs(kernels[-1] - fl.SOBEL_X).max() < 1e-3
    assert losses[-1] < 1e-6 * losses[0]
    plain, _ = fl.fit_kernel(image, target.numpy(), steps=200, momentum=0.0)
    assert np.abs(plain[-1] - fl.SOBEL_X).max() > 10 * np.abs(kernels[-1] - fl.SOBEL_X).max()


def test_training_image_is_standardised():
    image = fl.training_image(40)
    assert image.shape == (40, 40)
    assert abs(image.mean()) < 1e-5 and abs(image.std() - 1) < 1e-4


def _lenet_prefix(padding: int) -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 5, padding=padding), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(4, 6, 5), nn.ReLU())


def test_input_window_matches_hand_derivation():
    net = _lenet_prefix(padding=2)
    assert fl.input_window(net[:2], (1, 28, 28), 0, 0) == (-2, -2, 5, 5)
    # conv 5 -> pool 2 -> conv 5: 5 + 1 + 2 * 4 = 14 pixels, total stride 2
    assert fl.input_window(net, (1, 28, 28), 0, 0) == (-2, -2, 14, 14)
    assert fl.input_window(net, (1, 28, 28), 3, 1) == (4, 0, 14, 14)


def test_top_patches_reproduce_their_activations():
    net = _lenet_prefix(padding=0)
    images = torch.randn(30, 1, 20, 20, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        maps = net(images)
    patches, values = fl.top_patches(net, images, count=5)
    assert patches.shape == (6, 5, 14, 14) and values.shape == (6, 5)
    best = maps.flatten(2).max(2).values  # (N, C)
    for c in range(6):
        assert np.allclose(values[c], best[:, c].sort(descending=True).values[:5].numpy(), atol=1e-5)
        with torch.no_grad():
            again = net(torch.tensor(patches[c])[:, None])[:, c, 0, 0]  # a 14x14 patch -> 1x1
        assert np.allclose(again.numpy(), values[c], atol=1e-4)
    first, _ = fl.top_patches(net[:2], images, count=3)
    with torch.no_grad():
        direct = F.conv2d(torch.tensor(first[2])[:, None], net[0].weight[2:3], net[0].bias[2:3])
    assert first.shape == (4, 3, 5, 5)
    assert np.allclose(torch.relu(direct).flatten().numpy(),
                       maps.new_tensor(0).numpy() + fl.top_patches(net[:2], images, 3)[1][2], atol=1e-5)


def test_kernel_fit_widget_steps_and_redraws():
    explorer = vf.KernelFitExplorer()
    before = explorer.view.image.value
    assert "difference from the hand-made kernel 2.000" in explorer.message.value
    explorer.step.value = explorer.step.max
    assert explorer.view.image.value != before
    assert "kernel 0.000" in explorer.message.value
    custom = vf.KernelFitExplorer(np.zeros((3, 2, 2)), np.array([1.0, 0.5, 0.1]), np.eye(2), step=2)
    assert "loss 1.00e-01" in custom.message.value
