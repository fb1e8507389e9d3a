"""Your-turn check for lecture 00 (start here): a moving-average kernel."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from . import not_attempted, verdict


def check_box_kernel(answer: object, width: int = 5) -> bool:
    """answer: a 1D array-like of ``width`` weights that averages ``width`` neighbours.

    Checked with ``F.conv1d``: a constant signal must come out unchanged and every neighbour
    must get the same weight. Prints the verdict; returns True when right.
    """
    if not_attempted(answer):
        return False
    kernel = np.asarray(answer, dtype=np.float64).ravel()
    problems = []
    if kernel.size != width:
        problems.append(f"the kernel has {kernel.size} weights; a moving average over {width} "
                        f"neighbours needs {width}")
    else:
        w = torch.tensor(kernel).view(1, 1, -1)
        flat = F.conv1d(torch.full((1, 1, 20), 3.0, dtype=torch.float64), w)
        if not torch.allclose(flat, torch.full_like(flat, 3.0)):
            problems.append(f"a constant signal 3, 3, 3, ... comes out as {flat[0, 0, 0].item():g}: "
                            "an average must keep a constant; do the weights add up to 1?")
        if not np.allclose(kernel, kernel[0]):
            problems.append("the weights differ: a plain average gives every neighbour the same weight")
    return verdict(problems, f"a box kernel of width {width}: each output is the mean of {width} inputs.")
