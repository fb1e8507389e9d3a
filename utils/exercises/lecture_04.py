"""Your-turn check for lecture 04: predicting output lengths."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from . import not_attempted, verdict

#: (input length W, kernel K, padding P, stride S, dilation D) of the exercise.
CONFIGS = ((10, 3, 1, 2, 1), (10, 3, 0, 1, 2), (7, 4, 0, 2, 1), (100, 5, 2, 3, 1))


def check_output_lengths(answer: object) -> bool:
    """answer: a list with the number of outputs of each configuration in ``CONFIGS``, in order.
    The oracle is the shape of ``F.conv1d``'s output. Prints which entries are wrong."""
    if not_attempted(answer):
        return False
    values = list(answer) if isinstance(answer, list | tuple) else [answer]
    problems = []
    if len(values) != len(CONFIGS):
        return verdict([f"give {len(CONFIGS)} numbers, one per configuration; you gave {len(values)}"], "")
    for (w, k, p, s, d), value in zip(CONFIGS, values, strict=True):
        out = F.conv1d(torch.zeros(1, 1, w), torch.zeros(1, 1, k), padding=p, stride=s, dilation=d)
        if value != out.shape[-1]:
            hint = "the span of a dilated kernel is D(K-1)+1" if d > 1 else \
                "round down: an incomplete last step is dropped" if (w + 2 * p - k) % s else \
                "count P zeros on each side, then where the kernel fits"
            problems.append(f"W={w}, K={k}, P={p}, S={s}, D={d}: {value} is not right ({hint})")
    return verdict(problems, "all four lengths agree with F.conv1d.")
