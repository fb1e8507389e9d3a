"""Your-turn check for lecture 05: design a kernel that finds one pattern."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..viz_2d import IMAGE_6X6
from . import not_attempted, verdict

#: Where the 6x6 image holds the anti-diagonal "/" (rows 0-2, columns 3-5): output cell (0, 3).
TARGET = (0, 3)


def check_antidiagonal_kernel(answer: object) -> bool:
    """answer: a 3x3 kernel, weights in [-1, 1], whose feature map on the 6x6 image of lecture 05
    (``F.conv2d``, no padding) is highest at the anti-diagonal "/" and strictly lower everywhere
    else. Prints where your kernel scores highest when it is elsewhere."""
    if not_attempted(answer):
        return False
    kernel = np.asarray(answer, dtype=np.float64)
    if kernel.shape != (3, 3):
        return verdict([f"the kernel must be 3x3, yours has shape {kernel.shape}"], "")
    problems = []
    if np.abs(kernel).max() > 1:
        problems.append("keep every weight between -1 and 1 (otherwise any kernel can be scaled up)")
    scores = F.conv2d(torch.tensor(IMAGE_6X6)[None, None], torch.tensor(kernel)[None, None])[0, 0].numpy()
    best = np.argwhere(scores == scores.max())
    if [tuple(cell) for cell in best] != [TARGET]:
        cells = ", ".join(f"({r}, {c})" for r, c in best)
        problems.append(f"your kernel scores highest ({scores.max():g}) at {cells}; the '/' pattern "
                        f"is in the top-right 3x3 corner, output cell {TARGET}, and it must win alone")
    return verdict(problems, f"the '/' is found at {TARGET} with score {scores[TARGET]:g}, "
                             f"every other place scores less.")
