"""Your-turn check for lecture 01: the parameters of a fully-connected layer on an image."""

from __future__ import annotations

from torch import nn

from . import not_attempted, verdict


def check_dense_parameters(answer: object, height: int = 64, width: int = 64, channels: int = 3,
                           units: int = 500) -> bool:
    """answer: the number of parameters (weights and biases) of a dense layer from a flattened
    height x width x channels image to ``units`` units. The oracle is ``nn.Linear`` (on the
    meta device, so nothing is allocated). Prints the verdict; returns True when right."""
    if not_attempted(answer):
        return False
    layer = nn.Linear(height * width * channels, units, device="meta")
    weights, total = layer.weight.numel(), sum(p.numel() for p in layer.parameters())
    problems = []
    try:
        value = int(answer)
    except (TypeError, ValueError):
        return verdict([f"{answer!r} is not a whole number"], "")
    if value != total:
        if value == weights:
            problems.append("that counts the weights only: each unit also has a bias")
        elif value == height * width * units + units or value == height * width * units:
            problems.append(f"an RGB image has {channels} numbers per pixel: the layer has "
                            "height x width x channels inputs")
        elif value == height * width * channels + units:
            problems.append("every input is connected to every unit: the weights multiply, they do not add")
        else:
            problems.append("not the count nn.Linear has: inputs x units weights, plus one bias per unit")
    return verdict(problems, f"{total:,} parameters, about {total / 1e6:.1f} million for one small layer.")
