"""Lecture 10's "your turn": a numerically stable binary cross-entropy on logits."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from . import not_attempted, verdict

ORDINARY = torch.tensor([-3.0, -0.5, 0.0, 0.7, 2.5, -1.2])
ORDINARY_Y = torch.tensor([0.0, 1.0, 1.0, 0.0, 1.0, 0.0])
EXTREME = torch.tensor([1000.0, -1000.0, 200.0, -200.0, 50.0, -50.0])
EXTREME_Y = torch.tensor([0.0, 1.0, 0.0, 1.0, 1.0, 0.0])


def _run(fn: Callable, z: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor | None, str | None]:
    """fn(z, y) as a float64 tensor, or None and a message saying why it could not be used."""
    try:
        out = fn(z.clone(), y.clone())
    except Exception as err:  # a wrong answer must not stop Run All
        return None, f"bce_with_logits raised {type(err).__name__}: {err}"
    if out is None:
        return None, None
    out = torch.as_tensor(out, dtype=torch.float64)
    if out.shape != z.shape:
        return None, (f"for {len(z)} logits expected one loss per example, shape {tuple(z.shape)}, got "
                      f"{tuple(out.shape)} (no .mean() or .sum() at the end)")
    return out, None


def check_bce_with_logits(fn: Callable | None) -> bool:
    """Check ``fn(z, y) -> losses`` for z (N,) logits and y (N,) labels in {0, 1}, losses (N,).

    Compares with ``F.binary_cross_entropy_with_logits(..., reduction="none")`` on ordinary logits
    and on logits of +-1000, where 1 - sigmoid(z) rounds to 0 in floating point.
    """
    if not_attempted(fn):
        return False
    problems: list[str] = []
    for z, y, label in ((ORDINARY, ORDINARY_Y, "ordinary logits"), (EXTREME, EXTREME_Y, "logits of +-1000")):
        out, message = _run(fn, z, y)
        if message:
            problems.append(message)
            break
        if out is None:  # the function still returns the placeholder None
            not_attempted(None)
            return False
        expected = F.binary_cross_entropy_with_logits(z.double(), y.double(), reduction="none")
        if not torch.isfinite(out).all():
            problems.append(f"on {label} some losses are inf or nan: the naive form log(sigmoid(z)) "
                            "overflows. Rewrite it with max(z, 0) and log1p(exp(-|z|)).")
        elif (out < -1e-6).any():
            problems.append(f"on {label} some losses are negative: a cross-entropy is >= 0; check the signs.")
        elif not torch.allclose(out, expected, rtol=1e-4, atol=1e-4):
            worst = int((out - expected).abs().argmax())
            problems.append(f"on {label} the loss for z = {z[worst].item():g}, y = {y[worst].item():g} is "
                            f"{out[worst].item():.4g}; compare your formula with the derivation for z >= 0 "
                            "and z < 0 separately.")
    return verdict(problems, "Your loss is finite for any logit and equals PyTorch's.")
