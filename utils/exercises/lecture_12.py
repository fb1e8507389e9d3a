"""Your-turn check for lecture 12: LeNet-5's sizes for another input, before torch computes them."""

from __future__ import annotations

import torch
from torch import nn

from . import not_attempted, verdict


def _lenet_front(channels: int) -> nn.Sequential:
    """LeNet-5's convolutional part without padding, on the meta device: (N, C, H, W) -> (N, 16, h, w)."""
    return nn.Sequential(nn.Conv2d(channels, 6, 5), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2)).to("meta")


def check_lenet_sizes(answer: object, channels: int = 3, size: int = 36) -> bool:
    """answer: ``{"conv1_params": int, "fc1_inputs": int}`` for LeNet-5 without padding on
    (channels, size, size) images. The oracle is torch: ``numel`` of a real ``nn.Conv2d`` and the
    shape after S4 of a forward pass on the meta device. Prints what is off and why."""
    if not_attempted(answer):
        return False
    if not isinstance(answer, dict) or set(answer) != {"conv1_params", "fc1_inputs"}:
        return verdict(['answer must be a dict with the keys "conv1_params" and "fc1_inputs"'], "")
    front = _lenet_front(channels)
    conv1_params = sum(p.numel() for p in front[0].parameters())
    fc1_inputs = front(torch.empty(1, channels, size, size, device="meta"))[0].numel()
    problems = []
    try:
        params, inputs = int(answer["conv1_params"]), int(answer["fc1_inputs"])
    except (TypeError, ValueError):
        return verdict(["both values must be whole numbers"], "")
    if params != conv1_params:
        if params == (5 * 5 + 1) * 6:
            problems.append(f"conv1_params: each filter spans all {channels} input channels, not one")
        elif params == 5 * 5 * channels * 6:
            problems.append("conv1_params: the weights are right; add one bias per filter")
        else:
            problems.append("conv1_params: count (k*k*C_in + 1) weights and bias for each of the 6 filters")
    if inputs != fc1_inputs:
        if inputs == 16 * 5 * 5:
            problems.append(f"fc1_inputs: 400 is for 28x28 with padding 2; trace {size} through "
                            "conv (-4), pool (/2), conv (-4), pool (/2)")
        elif inputs == fc1_inputs * channels:
            problems.append("fc1_inputs: after C3 there are 16 channels, whatever the input had")
        else:
            problems.append(f"fc1_inputs: 16 maps of the size {size} shrinks to (each 5x5 conv takes 4, "
                            "each pool halves)")
    return verdict(problems, f"conv1 has {conv1_params} parameters and fc1 reads {fc1_inputs} numbers.")
