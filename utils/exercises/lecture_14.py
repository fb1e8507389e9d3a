"""Lecture 14 (upsampling and transposed convolution): the "your turn" check.

The exercise: write a transposed convolution using only ``F.conv2d`` (spread the input with
zeros, pad it, correlate with the flipped kernel). The oracle is ``F.conv_transpose2d``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from . import not_attempted, verdict

CASES = ((5, 3, 2), (4, 4, 2), (6, 3, 1), (3, 5, 3))  # (input size, kernel size, stride)


def _inputs(size: int, kernel: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A (1, 1, size, size) input and a (1, 1, kernel, kernel) kernel, float64, seeded."""
    generator = torch.Generator().manual_seed(seed)
    y = torch.randn(1, 1, size, size, generator=generator, dtype=torch.float64)
    w = torch.randn(1, 1, kernel, kernel, generator=generator, dtype=torch.float64)
    return y, w


def check_conv_transpose(fn: Callable | None) -> bool:
    """Check ``fn(y, w, stride)`` (y (1, 1, H, W), w (1, 1, k, k)) against ``F.conv_transpose2d``.

    Prints what is wrong (shape, an unflipped kernel, wrong values) for the first failing case;
    returns True when every case matches to 1e-8.
    """
    if not_attempted(fn):
        return False
    problems: list[str] = []
    for seed, (size, kernel, stride) in enumerate(CASES):
        y, w = _inputs(size, kernel, seed)
        expected = F.conv_transpose2d(y, w, stride=stride)
        where = f"input {size}x{size}, kernel {kernel}x{kernel}, stride {stride}"
        try:
            answer = fn(y.clone(), w.clone(), stride)
            if not_attempted(answer):
                return False
            got = torch.as_tensor(answer, dtype=torch.float64)
        except Exception as err:  # reported, never raised: Run All must go through
            problems.append(f"{where}: your function raised {type(err).__name__}: {err}")
            break
        if got.shape != expected.shape:
            problems.append(
                f"{where}: output shape {tuple(got.shape)}, expected {tuple(expected.shape)}. Put "
                f"stride - 1 zeros between neighbouring inputs, then pad k - 1 zeros on every side.")
            break
        if torch.allclose(got, expected, atol=1e-8):
            continue
        unflipped = F.conv_transpose2d(y, w.flip(-2, -1), stride=stride)
        if torch.allclose(got, unflipped, atol=1e-8):
            problems.append(f"{where}: the shape is right but the kernel is not flipped: "
                            "F.conv2d correlates, so pass w.flip(-2, -1).")
        else:
            problems.append(f"{where}: the shape is right, the values are not (max error "
                            f"{(got - expected).abs().max().item():.2g}). Check where the zeros go.")
        break
    return verdict(problems, "Your function is F.conv_transpose2d for every case tried.")
