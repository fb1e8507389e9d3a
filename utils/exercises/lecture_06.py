"""Your-turn check for lecture 06: one output of a multi-channel convolution by hand."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..viz_multichannel import RGB_BIAS, RGB_FILTER, RGB_IMAGE
from . import not_attempted, verdict


def check_rgb_output(answer: object, row: int = 0, col: int = 1) -> bool:
    """answer: the output at (row, col) of the worked RGB example (padding 1, stride 1, bias 1),
    before the ReLU, and ``relu``: after it, as a pair ``(before, after)``. Oracle: ``F.conv2d``."""
    if not_attempted(answer):
        return False
    try:
        before, after = (float(v) for v in answer)
    except (TypeError, ValueError):
        return verdict(["give a pair (before ReLU, after ReLU) of numbers"], "")
    x, w = torch.tensor(RGB_IMAGE)[None], torch.tensor(RGB_FILTER)[None]
    out = F.conv2d(x, w, torch.tensor([RGB_BIAS], dtype=torch.float64), padding=1)[0, 0, row, col].item()
    no_pad = F.conv2d(x, w, torch.tensor([RGB_BIAS], dtype=torch.float64))[0, 0]
    problems = []
    if before != out:
        if before == out - RGB_BIAS:
            problems.append("the bias is missing: one bias per filter is added after the three sums")
        elif no_pad.shape[-1] > col and before == no_pad[row, col].item():
            problems.append("that is the placement without padding: with padding 1 the window of "
                            f"output ({row}, {col}) starts on the zero border")
        else:
            problems.append("the value before the ReLU is not right: add the three channel sums "
                            "(each: 9 products) and the bias")
    if after != max(out, 0.0):
        problems.append("after the ReLU: max(0, value before)")
    return verdict(problems, f"output ({row}, {col}) is {out:g} before the ReLU and {max(out, 0):g} after.")
