"""Lecture 16 (filters are learned): the "your turn" check.

The exercise: recover a hidden 3x3 kernel from one (image, filtered image) pair by gradient
descent. ``mystery_pair()`` gives the pair; the check compares with the hidden kernel.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from . import not_attempted, verdict

_HIDDEN = np.array([[0.0, -1.0, -2.0], [1.0, 0.0, -1.0], [2.0, 1.0, 0.0]])  # a diagonal edge detector


def mystery_pair(size: int = 48) -> tuple[torch.Tensor, torch.Tensor]:
    """(image (1, 1, size, size), target (1, 1, size - 2, size - 2)): target = F.conv2d(image, hidden)."""
    from ..filters import training_image

    image = torch.as_tensor(training_image(size))[None, None]
    return image, F.conv2d(image, torch.as_tensor(_HIDDEN, dtype=image.dtype)[None, None])


def check_recovered_kernel(kernel) -> bool:
    """Check a 3x3 ``kernel`` (array or tensor) against the hidden one within 0.05 per entry."""
    if not_attempted(kernel):
        return False
    if hasattr(kernel, "detach"):
        kernel = kernel.detach().cpu().numpy()
    w = np.asarray(kernel, dtype=np.float64).squeeze()
    if w.shape != (3, 3):
        return verdict([f"the kernel has shape {w.shape}; it should be 3x3"], "")
    error = float(np.abs(w - _HIDDEN).max())
    problems = []
    if error > 0.05:
        if np.abs(w[::-1, ::-1] - _HIDDEN).max() < 0.05:
            problems.append("this is the hidden kernel rotated by 180 degrees: F.conv2d correlates, "
                            "so fit the kernel that F.conv2d uses, not a flipped one")
        elif np.abs(w).max() < 1e-3:
            problems.append("the kernel is still (almost) zero: run more steps or a larger learning rate")
        else:
            problems.append(f"the largest entry error is {error:.2f}; run more steps, check the loss "
                            "goes down, and compare F.conv2d(image, w) with the target")
    return verdict(problems, f"You recovered the hidden kernel (max error {error:.3f}).")
