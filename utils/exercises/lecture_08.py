"""Your-turn check for lecture 08: pooling a small map by hand."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from . import not_attempted, verdict

#: The 4x6 feature map of the exercise.
FEATURE_MAP = [[0, 2, 7, 1, 3, 3],
               [5, 1, 0, 0, 3, 3],
               [4, 4, 1, 8, 0, 6],
               [2, 2, 1, 0, 2, 0]]


def check_max_pool(answer: object) -> bool:
    """answer: the 2x2 max pooling with stride 2 of ``FEATURE_MAP`` as a nested list (rows of
    the output). Oracle: ``F.max_pool2d``. Prints which cells are wrong."""
    if not_attempted(answer):
        return False
    x = torch.tensor(FEATURE_MAP, dtype=torch.float64)[None, None]
    expected = F.max_pool2d(x, 2)[0, 0]
    try:
        mine = torch.tensor(answer, dtype=torch.float64)
    except (TypeError, ValueError):
        return verdict(["write the output as a nested list of numbers, one list per row"], "")
    problems = []
    if mine.shape != expected.shape:
        problems.append(f"shape {tuple(mine.shape)}: a 4x6 map pooled 2x2 with stride 2 has "
                        "half as many rows and half as many columns")
    elif not torch.equal(mine, expected):
        if torch.allclose(mine, F.avg_pool2d(x, 2)[0, 0]):
            problems.append("that is average pooling: max pooling keeps the largest value of each window")
        else:
            for (r, c) in (mine != expected).nonzero().tolist():
                problems.append(f"cell ({r}, {c}) reads the window rows {2 * r}-{2 * r + 1}, columns "
                                f"{2 * c}-{2 * c + 1}: its maximum is not {mine[r, c].item():g}")
    return verdict(problems, "2x2 max pooling with stride 2, no parameters involved.")
