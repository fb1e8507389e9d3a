"""Your-turn check for lecture 07: count a convolution's parameters before torch does."""

from __future__ import annotations

from torch import nn

from . import not_attempted, verdict


def check_conv_parameters(answer: object, c_in: int = 16, c_out: int = 32, k: int = 5) -> bool:
    """answer: the number of parameters of ``nn.Conv2d(c_in, c_out, k)``; the oracle is torch's
    own count (``numel``). Prints what was left out."""
    if not_attempted(answer):
        return False
    layer = nn.Conv2d(c_in, c_out, k, device="meta")
    weights, total = layer.weight.numel(), sum(p.numel() for p in layer.parameters())
    try:
        value = int(answer)
    except (TypeError, ValueError):
        return verdict([f"{answer!r} is not a whole number"], "")
    problems = []
    if value != total:
        if value == weights:
            problems.append("the weights are right, the biases are missing: one per filter")
        elif value in (c_out * k * k + c_out, c_out * k * k):
            problems.append(f"each filter spans all {c_in} input channels: {c_in} kernels of {k}x{k}")
        elif value in (c_in * k * k + 1, c_in * k * k):
            problems.append(f"that is one filter; the layer has {c_out}")
        else:
            problems.append("not torch's count: weights (C_out, C_in, K, K) plus one bias per filter")
    return verdict(problems, f"nn.Conv2d({c_in}, {c_out}, {k}) has {total:,} parameters, on any image size.")
