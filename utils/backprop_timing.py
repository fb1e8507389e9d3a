"""Lecture 13: how long a convolution's backward pass takes compared with its forward pass."""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F

from .device import single_thread


def forward_backward_seconds(batch: int = 4, channels: int = 8, filters: int = 8, size: int = 64,
                             kernel: int = 3, repeats: int = 50, seed: int = 0) -> dict[str, float]:
    """Fastest-of-``repeats`` wall times of one ``F.conv2d`` forward pass and of its backward pass.

    Input (batch, channels, size, size), weights (filters, channels, kernel, kernel), padding
    ``kernel // 2``. The backward pass computes both dL/dx and dL/dw (and dL/db) for a random
    upstream gradient. Returns ``{"forward": s, "backward": s}``. The minimum is used because other
    programs on the machine can only make a run slower, never faster; torch runs on one thread
    so that waiting for a second, busy thread is not measured.
    """
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, channels, size, size, generator=gen, requires_grad=True)
    w = torch.randn(filters, channels, kernel, kernel, generator=gen, requires_grad=True)
    b = torch.randn(filters, generator=gen, requires_grad=True)
    g = torch.randn(batch, filters, size, size, generator=gen)
    forward, backward = [], []
    with single_thread():
        for _ in range(repeats + 2):  # the first two runs warm up caches and allocators
            start = time.perf_counter()
            y = F.conv2d(x, w, b, padding=kernel // 2)
            middle = time.perf_counter()
            y.backward(g)
            end = time.perf_counter()
            forward.append(middle - start)
            backward.append(end - middle)
            x.grad = w.grad = b.grad = None
    return {"forward": min(forward[2:]), "backward": min(backward[2:])}
