"""Upsampling helpers for lecture 14: resize methods, max-unpooling and transposed-convolution overlap.

Everything is computed by torch (``F.interpolate``, ``F.max_pool2d``/``F.max_unpool2d``,
``F.conv_transpose2d``); this module only arranges the calls and returns NumPy arrays.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .device import single_thread

METHODS = ("nearest", "bilinear", "max-unpool")


def _as_4d(image) -> torch.Tensor:
    """(H, W) array -> (1, 1, H, W) float32 tensor."""
    return torch.as_tensor(np.asarray(image, dtype=np.float32))[None, None]


def upsample(image, factor: int, method: str) -> np.ndarray:
    """Upsample a grey ``image`` (H, W) by an integer ``factor``: output (factor*H, factor*W).

    method: ``"nearest"`` (copy each pixel into a factor x factor block), ``"bilinear"``
    (``F.interpolate``, ``align_corners=False``) or ``"max-unpool"`` (max-pool the image by
    ``factor`` with ``return_indices`` first, then put each maximum back where it came from and
    zeros elsewhere; the output then has the input's own size, cropped to multiples of factor).
    """
    x = _as_4d(image)
    with torch.no_grad(), single_thread():
        if method == "nearest":
            out = F.interpolate(x, scale_factor=factor, mode="nearest")
        elif method == "bilinear":
            out = F.interpolate(x, scale_factor=factor, mode="bilinear", align_corners=False)
        elif method == "max-unpool":
            _, out = max_unpool_roundtrip(image, factor)
            return out
        else:
            raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    return out[0, 0].numpy()


def max_unpool_roundtrip(image, factor: int) -> tuple[np.ndarray, np.ndarray]:
    """Max-pool ``image`` (H, W) by ``factor`` and unpool it again with the saved arg-max indices.

    Returns ``pooled`` (H // factor, W // factor) and ``unpooled`` (factor * (H // factor), same
    for W): each pooled value written back at the position of its maximum, zeros elsewhere.
    """
    x = _as_4d(image)
    h, w = (x.shape[-2] // factor) * factor, (x.shape[-1] // factor) * factor
    x = x[..., :h, :w]
    with torch.no_grad(), single_thread():
        pooled, indices = F.max_pool2d(x, factor, return_indices=True)
        unpooled = F.max_unpool2d(pooled, indices, factor, output_size=(h, w))
    return pooled[0, 0].numpy(), unpooled[0, 0].numpy()


def overlap_counts(size: int, kernel: int, stride: int, padding: int = 0) -> np.ndarray:
    """How many kernel taps land on each output pixel of a 2D transposed convolution.

    Input: ``size`` x ``size`` ones; kernel: ``kernel`` x ``kernel`` ones. The result is
    ``F.conv_transpose2d`` of the two, shape (O, O) with O = the layer's output size, integer
    valued. Uneven counts (a period of ``stride``) are the checkerboard pattern.
    Raises ``ValueError`` (from torch) when the configuration has no output.
    """
    x = torch.ones(1, 1, size, size, dtype=torch.float32)
    w = torch.ones(1, 1, kernel, kernel, dtype=torch.float32)
    with torch.no_grad(), single_thread():
        out = F.conv_transpose2d(x, w, stride=stride, padding=padding)
    if out.numel() == 0:
        raise ValueError("the transposed convolution has an empty output")
    return out[0, 0].numpy().round().astype(np.int64)


def interior(array: np.ndarray, margin: int) -> np.ndarray:
    """``array`` (H, W) without ``margin`` rows/columns on every side (the border region)."""
    if margin <= 0:
        return array
    return array[margin:-margin, margin:-margin]


def unevenness(counts: np.ndarray, margin: int) -> float:
    """(max - min) / mean of the interior of an overlap-count map (H, W): 0 means even coverage."""
    core = interior(np.asarray(counts, dtype=np.float64), margin)
    return float((core.max() - core.min()) / core.mean())


def transposed_upsample(image, kernel: int, stride: int, padding: int = 0) -> np.ndarray:
    """Transposed convolution of ``image`` (H, W) with a uniform kernel of total weight stride**2.

    The kernel is ``ones(kernel, kernel) * stride**2 / kernel**2``, so that, if every output
    pixel were hit by the same number of taps, a constant image would stay constant. Output
    shape: that of ``F.conv_transpose2d``.
    """
    x = _as_4d(image)
    w = torch.full((1, 1, kernel, kernel), stride ** 2 / kernel ** 2, dtype=x.dtype)
    with torch.no_grad(), single_thread():
        return F.conv_transpose2d(x, w, stride=stride, padding=padding)[0, 0].numpy()
