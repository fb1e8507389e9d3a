"""Lecture 15 (invariance beyond translation): the "your turn" check.

The exercise: design a 3x3 edge kernel whose feature map rotates with the image under
90-degree rotations. The oracle is ``F.conv2d`` on a random image and its ``torch.rot90``.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from . import not_attempted, verdict


def rotation_gap(kernel, seed: int = 0) -> float:
    """max |conv(rot90 x) - rot90 conv(x)| / max |conv(x)| for a random 16x16 image x; kernel (k, k)."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(1, 1, 16, 16, generator=generator, dtype=torch.float64)
    w = torch.as_tensor(np.asarray(kernel, dtype=np.float64))[None, None]
    fx = F.conv2d(x, w)
    gap = (F.conv2d(torch.rot90(x, 1, (2, 3)), w) - torch.rot90(fx, 1, (2, 3))).abs().max()
    return float(gap / fx.abs().max().clamp_min(1e-12))


def check_rotation_kernel(kernel) -> bool:
    """Check a 3x3 ``kernel`` (array-like): an edge detector (entries sum to 0, not all zero) whose
    map of a 90-degree-rotated image is the rotated map. Prints what is wrong; returns bool."""
    if not_attempted(kernel):
        return False
    try:
        w = np.asarray(kernel, dtype=np.float64)
    except (TypeError, ValueError) as err:
        return verdict([f"could not read your kernel as numbers: {err}"], "")
    if w.shape != (3, 3):
        return verdict([f"the kernel has shape {w.shape}; make it 3x3"], "")
    problems = []
    if np.abs(w).max() < 1e-9:
        problems.append("the kernel is all zeros: it responds to nothing")
    elif abs(w.sum()) > 1e-6 * np.abs(w).sum():
        problems.append(f"the entries sum to {w.sum():g}, so a flat region gives a non-zero response; "
                        "an edge detector's entries sum to 0")
    gap = rotation_gap(w)
    if gap > 1e-9:
        problems.append(f"rotating the image by 90 degrees does not just rotate the map (relative gap "
                        f"{gap:.2f}): np.rot90(kernel) must equal the kernel, e.g. the same value "
                        "in all four corners and in all four edge centres")
    return verdict(problems, "Its map rotates with the image, and it ignores flat regions.")
