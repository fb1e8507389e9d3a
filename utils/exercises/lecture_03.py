"""Your-turn check for lecture 03: turning PyTorch's correlation into a true convolution."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from . import not_attempted, verdict


def check_convolution_kernel(answer: object, learned: tuple[float, ...] = (0.2, 0.5, -1.0, 3.0)) -> bool:
    """answer: the kernel v (K,) such that ``F.conv1d(x, v)`` is the convolution ``learned * x``
    (numpy's ``np.convolve(x, learned, "valid")``) for every x. Prints the verdict."""
    if not_attempted(answer):
        return False
    v = np.asarray(answer, dtype=np.float64).ravel()
    w = np.asarray(learned, dtype=np.float64)
    problems = []
    if v.size != w.size:
        problems.append(f"{v.size} weights: the kernel keeps its {w.size} weights, "
                        "only their order may change")
    else:
        x = np.random.default_rng(0).normal(size=12)
        mine = F.conv1d(torch.tensor(x).view(1, 1, -1), torch.tensor(v).view(1, 1, -1)).view(-1).numpy()
        if not np.allclose(mine, np.convolve(x, w, mode="valid")):
            if np.allclose(v, w):
                problems.append("that is the learned kernel itself: F.conv1d with it is a "
                                "cross-correlation; convolution reads the kernel the other way round")
            else:
                problems.append("F.conv1d with your kernel is not the convolution: which operation "
                                "turns a correlation into a convolution?")
    return verdict(problems, "F.conv1d with the flipped kernel computes the true convolution.")
