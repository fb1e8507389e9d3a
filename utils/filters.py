"""Lecture 16 (filters are learned, not designed): fitting a kernel by gradient descent, and the
input patches that excite a trained network's channels most.

The input window of a unit is found with autograd (``input_window``): the gradient of that unit
with respect to the input, through a copy of the layers whose weights are all positive, is
non-zero exactly on the pixels the unit can see.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .device import single_thread

SOBEL_X = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float32)


def training_image(size: int = 64) -> np.ndarray:
    """A ``size`` x ``size`` crop of the grey photo (face region), standardised: mean 0, std 1."""
    from .data import load_sample_image

    image = load_sample_image(gray=True, size=128)
    top, left = 10, (image.shape[1] - size) // 2
    crop = image[top:top + size, left:left + size]
    return ((crop - crop.mean()) / crop.std()).astype(np.float32)


def fit_kernel(image, target, size: int = 3, steps: int = 200, lr: float = 0.05, momentum: float = 0.9,
               seed: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Gradient descent with momentum on the mean squared error of ``F.conv2d(image, w)`` vs ``target``.

    image (H, W), target (H - size + 1, W - size + 1); ``w`` starts at zeros (or small random
    values with ``seed``) and takes ``steps`` steps ``v <- momentum * v + dL/dw``,
    ``w <- w - lr * v`` (plain gradient descent with ``momentum=0``).
    Returns the kernels (steps + 1, size, size), the first one the start, and the losses (steps + 1,).
    """
    x = torch.as_tensor(np.asarray(image, dtype=np.float32))[None, None]
    y = torch.as_tensor(np.asarray(target, dtype=np.float32))[None, None]
    if seed is None:
        w = torch.zeros(1, 1, size, size)
    else:
        w = 0.1 * torch.randn(1, 1, size, size, generator=torch.Generator().manual_seed(seed))
    w.requires_grad_(True)
    velocity = torch.zeros_like(w)
    kernels, losses = [], []
    with single_thread():
        for step in range(steps + 1):
            loss = F.mse_loss(F.conv2d(x, w), y)
            kernels.append(w.detach()[0, 0].clone().numpy())
            losses.append(loss.item())
            if step == steps:
                break
            (grad,) = torch.autograd.grad(loss, w)
            with torch.no_grad():
                velocity = momentum * velocity + grad
                w -= lr * velocity
    return np.stack(kernels), np.array(losses)


def _positive_copy(layers: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Run ``x`` through ``layers`` with every convolution's weight replaced by ones, max-pooling
    by average pooling of the same geometry, and activations dropped (a map of who sees whom)."""
    for layer in layers.children() if isinstance(layers, nn.Sequential) else [layers]:
        if isinstance(layer, nn.Conv2d):
            x = F.conv2d(x, torch.ones(layer.weight.shape), stride=layer.stride,
                         padding=layer.padding, dilation=layer.dilation)
        elif isinstance(layer, (nn.MaxPool2d, nn.AvgPool2d)):
            x = F.avg_pool2d(x, layer.kernel_size, layer.stride, layer.padding)
    return x


def input_window(layers: nn.Module, input_shape: tuple[int, int, int], row: int,
                 col: int) -> tuple[int, int, int, int]:
    """The input pixels that output unit (row, col) of ``layers`` depends on, by autograd.

    layers: convolutions, poolings and activations; input_shape (C, H, W). Returns
    ``(top, left, height, width)`` of the window in input coordinates; it may extend past the
    image border (negative ``top``) where the layers pad.
    """
    channels, height, width = input_shape
    margin = 64  # room for padded windows: measure on a larger canvas, then shift back
    x = torch.ones(1, channels, height + 2 * margin, width + 2 * margin, requires_grad=True)
    with torch.no_grad():
        probe = _positive_copy(layers, torch.ones(1, channels, height, width))
        small = _positive_copy(layers, torch.ones(1, channels, height + 2 * margin, width + 2 * margin))
    offset_r = (small.shape[-2] - probe.shape[-2]) // 2
    offset_c = (small.shape[-1] - probe.shape[-1]) // 2
    with torch.enable_grad():
        out = _positive_copy(layers, x)
        out[0, 0, row + offset_r, col + offset_c].backward()
    rows, cols = np.nonzero(x.grad[0].abs().sum(0).numpy())
    return (int(rows.min()) - margin, int(cols.min()) - margin,
            int(rows.max() - rows.min() + 1), int(cols.max() - cols.min() + 1))


@torch.no_grad()
def top_patches(layers: nn.Module, images: torch.Tensor, count: int = 8,
                fill: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """For every channel of ``layers(images)``, the ``count`` input patches that excite it most.

    images (N, 1, H, W). Each image contributes at most one patch per channel (its strongest
    position). Returns ``patches`` (C, count, h, w) cut from the images (padded with ``fill``
    where the window leaves the image) and ``values`` (C, count), strongest first.
    """
    device = next(layers.parameters()).device
    maps = layers(images.to(device)).cpu()  # (N, C, Ho, Wo)
    channels, width_out = maps.shape[1], maps.shape[3]
    best, where = maps.flatten(2).max(dim=2)  # (N, C)
    order = best.argsort(dim=0, descending=True)[:count]  # (count, C)
    shape = tuple(images.shape[1:])
    first = input_window(layers, shape, 0, 0)
    h, w = first[2], first[3]
    pad = max(h, w)
    padded = F.pad(images.cpu(), (pad,) * 4, value=fill)
    patches = np.zeros((channels, count, h, w), dtype=np.float32)
    values = np.zeros((channels, count), dtype=np.float32)
    jump = input_window(layers, shape, 1, 1)[0] - first[0]  # the layers' total stride
    for c in range(channels):
        for rank, index in enumerate(order[:, c].tolist()):
            row, col = divmod(int(where[index, c]), width_out)
            top, left = first[0] + row * jump + pad, first[1] + col * jump + pad
            patches[c, rank] = padded[index, 0, top:top + h, left:left + w].numpy()
            values[c, rank] = float(best[index, c])
    return patches, values
