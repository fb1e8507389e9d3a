"""Activation functions, their derivatives, and measurements of how gradients flow through them.

Used by lecture 10 (activations and the output layer). The formulas are written out in NumPy so
that the lecture (and its tests) can compare them with PyTorch's autograd; the measurements
(gradient norms per layer, units that never fire) run on any ``torch.nn`` model.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

LEAKY_SLOPE = 0.01
NAMES = ("sigmoid", "tanh", "relu", "leaky_relu")
TORCH_ACTIVATIONS = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU, "leaky_relu": nn.LeakyReLU}
INITS = ("PyTorch default", "Glorot (Xavier)", "He (Kaiming)")


def _check_name(name: str) -> None:
    if name not in NAMES:
        raise ValueError(f"activation must be one of {NAMES}, got {name!r}")


def activation(name: str, z: np.ndarray) -> np.ndarray:
    """f(z) elementwise for ``name`` in ``NAMES``; z any shape, output the same shape."""
    _check_name(name)
    z = np.asarray(z, dtype=np.float64)
    if name == "sigmoid":
        return 0.5 * (1.0 + np.tanh(0.5 * z))  # = 1 / (1 + exp(-z)), without overflow
    if name == "tanh":
        return np.tanh(z)
    if name == "relu":
        return np.maximum(z, 0.0)
    return np.where(z > 0, z, LEAKY_SLOPE * z)


def derivative(name: str, z: np.ndarray) -> np.ndarray:
    """f'(z) elementwise for ``name`` in ``NAMES``; z any shape, output the same shape.

    At z = 0 ReLU and leaky ReLU take the left derivative (0 and ``LEAKY_SLOPE``), as torch does.
    """
    _check_name(name)
    z = np.asarray(z, dtype=np.float64)
    if name == "sigmoid":
        s = activation("sigmoid", z)
        return s * (1.0 - s)
    if name == "tanh":
        return 1.0 - np.tanh(z) ** 2
    if name == "relu":
        return (z > 0).astype(np.float64)
    return np.where(z > 0, 1.0, LEAKY_SLOPE)


def torch_activation(name: str) -> nn.Module:
    """A fresh ``nn.Module`` computing ``activation(name, .)`` (leaky slope ``LEAKY_SLOPE``)."""
    _check_name(name)
    if name == "leaky_relu":
        return nn.LeakyReLU(LEAKY_SLOPE)
    return TORCH_ACTIVATIONS[name]()


def chain_weights(depth: int, width: int = 64, init: str = INITS[0], seed: int = 0) -> list[np.ndarray]:
    """Weights of ``depth`` fully connected layers ``width -> width``: a list of (width, width) arrays.

    init: "PyTorch default" U(+-1/sqrt(fan_in)) as ``nn.Linear`` draws it, "Glorot (Xavier)"
    U(+-sqrt(6 / (fan_in + fan_out))), "He (Kaiming)" N(0, 2 / fan_in).
    """
    if init not in INITS:
        raise ValueError(f"init must be one of {INITS}, got {init!r}")
    rng = np.random.default_rng(seed)
    if init == INITS[0]:
        bound = 1.0 / np.sqrt(width)
        return [rng.uniform(-bound, bound, (width, width)) for _ in range(depth)]
    if init == INITS[1]:
        bound = np.sqrt(6.0 / (2 * width))
        return [rng.uniform(-bound, bound, (width, width)) for _ in range(depth)]
    return [rng.normal(0.0, np.sqrt(2.0 / width), (width, width)) for _ in range(depth)]


def chain_grad_norms(name: str, weights: list[np.ndarray], x: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Frobenius norm of dL/dW for every layer of a chain of fully connected layers (no biases).

    Forward: a_0 = x (B, width); z_l = a_{l-1} W_l^T, a_l = f(z_l) for each W_l (width, width).
    Loss: L = sum(a_L * r) / B for a fixed direction r (B, width). Backward by the chain rule with
    ``derivative``: dz_l = delta_l * f'(z_l), dL/dW_l = dz_l^T a_{l-1}, delta_{l-1} = dz_l W_l.
    Returns an array (len(weights),): the norm for layer 1 (next to the input) first.
    """
    activations, pre = [np.asarray(x, dtype=np.float64)], []
    for w in weights:
        pre.append(activations[-1] @ w.T)
        activations.append(activation(name, pre[-1]))
    delta = np.asarray(r, dtype=np.float64) / len(x)
    norms = np.zeros(len(weights))
    for layer in range(len(weights) - 1, -1, -1):
        dz = delta * derivative(name, pre[layer])
        norms[layer] = np.linalg.norm(dz.T @ activations[layer])
        delta = dz @ weights[layer]
    return norms


def weight_grad_norms(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
    """Norm of the cross-entropy gradient of every Conv2d/Linear weight of ``model``.

    x (N, ...) inputs, y (N,) class indices; ``model(x)`` gives (N, classes) logits. The model's
    gradients are reset before and after. Returns {layer name: ||dL/dW||}, in forward order.
    """
    model.zero_grad(set_to_none=True)
    F.cross_entropy(model(x), y).backward()
    norms = {name: module.weight.grad.norm().item() for name, module in model.named_modules()
             if isinstance(module, (nn.Conv2d, nn.Linear))}
    model.zero_grad(set_to_none=True)
    return norms


@torch.no_grad()
def never_positive_share(model: nn.Module, x: torch.Tensor) -> dict[str, float]:
    """For every ReLU / LeakyReLU module of ``model``: the share of its units whose input is <= 0
    for every example of ``x`` (N, ...). A unit is one entry of the module's input without the
    batch dimension (a feature of a linear layer, one position of one channel of a conv layer).

    For ReLU such a unit is dead on ``x``: its output and its gradient are 0 for all N examples.
    Returns {module name: share in [0, 1]}.
    """
    inputs: dict[str, torch.Tensor] = {}
    hooks = []
    for name, module in model.named_modules():
        if isinstance(module, (nn.ReLU, nn.LeakyReLU)):
            hooks.append(module.register_forward_hook(
                lambda _m, args, _out, name=name: inputs.__setitem__(name, args[0])))
    try:
        model(x)
    finally:
        for hook in hooks:
            hook.remove()
    return {name: (z.flatten(1) <= 0).all(dim=0).float().mean().item() for name, z in inputs.items()}
